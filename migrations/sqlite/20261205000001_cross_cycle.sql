-- Cross-cycle dependencies: what of the previous cycle a node's instances also wait for.
-- 'none', 'self', 'children', or the names of nodes as a JSON array.
ALTER TABLE nodes ADD COLUMN depends_on_previous TEXT NOT NULL DEFAULT 'none';
