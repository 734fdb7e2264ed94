-- Every change people make is audited, definitions included: what an entry is about when it is
-- not a list of instances (`node:<name>`, `resource_group:<name>`, `backfill:<id>`, …), and the
-- fields a change of definitions changed (JSON: [{"field", "before", "after"}]).
ALTER TABLE audit ADD COLUMN subject TEXT;
ALTER TABLE audit ADD COLUMN changes TEXT;
CREATE INDEX audit_subject ON audit (subject, id) WHERE subject IS NOT NULL;

-- How many slots of a group backfill instances may hold at most; NULL: the default (every slot
-- but one, or 1 in a one-slot group). A backfill instance starts only while the slots in use,
-- counting it, stay within this number.
ALTER TABLE resource_groups ADD COLUMN backfill_slots INTEGER CHECK (backfill_slots >= 0);
