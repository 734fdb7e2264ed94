-- Statistics that do not count millions of rows (issue 16): the number of instances per
-- (run date, run type, state) and per (node, run type, state), kept by triggers in the very
-- statement that inserts, changes or deletes an instance, so they equal a fresh COUNT(*) in every
-- transaction. `nightshift check-counts` compares them with COUNT(*).
CREATE TABLE instance_counts_by_day (
    run_date  TEXT    NOT NULL,
    run_type  TEXT    NOT NULL,
    state     TEXT    NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (run_date, run_type, state)
) WITHOUT ROWID;
CREATE TABLE instance_counts_by_node (
    node_id   INTEGER NOT NULL,
    run_type  TEXT    NOT NULL,
    state     TEXT    NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (node_id, run_type, state)
) WITHOUT ROWID;
-- Changes not yet added to the counts. PostgreSQL's triggers append here (concurrent writers
-- never wait for each other on a counter row) and a scheduler folds them in; SQLite has one
-- writer, so its triggers add to the counts directly and these stay empty. Reads add both.
CREATE TABLE instance_count_changes_by_day (
    run_date  TEXT    NOT NULL,
    run_type  TEXT    NOT NULL,
    state     TEXT    NOT NULL,
    n         INTEGER NOT NULL
);
CREATE TABLE instance_count_changes_by_node (
    node_id   INTEGER NOT NULL,
    run_type  TEXT    NOT NULL,
    state     TEXT    NOT NULL,
    n         INTEGER NOT NULL
);

INSERT INTO instance_counts_by_day (run_date, run_type, state, n)
    SELECT run_date, run_type, state, COUNT(*) FROM instances GROUP BY run_date, run_type, state;
INSERT INTO instance_counts_by_node (node_id, run_type, state, n)
    SELECT node_id, run_type, state, COUNT(*) FROM instances GROUP BY node_id, run_type, state;

CREATE TRIGGER instances_counted AFTER INSERT ON instances BEGIN
    INSERT INTO instance_counts_by_day (run_date, run_type, state, n)
        VALUES (new.run_date, new.run_type, new.state, 1)
        ON CONFLICT (run_date, run_type, state) DO UPDATE SET n = n + 1;
    INSERT INTO instance_counts_by_node (node_id, run_type, state, n)
        VALUES (new.node_id, new.run_type, new.state, 1)
        ON CONFLICT (node_id, run_type, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER instances_recounted AFTER UPDATE OF state, run_date, run_type, node_id ON instances
WHEN old.state IS NOT new.state OR old.run_date IS NOT new.run_date
    OR old.run_type IS NOT new.run_type OR old.node_id IS NOT new.node_id
BEGIN
    UPDATE instance_counts_by_day SET n = n - 1
        WHERE run_date = old.run_date AND run_type = old.run_type AND state = old.state;
    UPDATE instance_counts_by_node SET n = n - 1
        WHERE node_id = old.node_id AND run_type = old.run_type AND state = old.state;
    INSERT INTO instance_counts_by_day (run_date, run_type, state, n)
        VALUES (new.run_date, new.run_type, new.state, 1)
        ON CONFLICT (run_date, run_type, state) DO UPDATE SET n = n + 1;
    INSERT INTO instance_counts_by_node (node_id, run_type, state, n)
        VALUES (new.node_id, new.run_type, new.state, 1)
        ON CONFLICT (node_id, run_type, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER instances_uncounted AFTER DELETE ON instances BEGIN
    UPDATE instance_counts_by_day SET n = n - 1
        WHERE run_date = old.run_date AND run_type = old.run_type AND state = old.state;
    UPDATE instance_counts_by_node SET n = n - 1
        WHERE node_id = old.node_id AND run_type = old.run_type AND state = old.state;
END;

-- Node names searched by substring through an index: FTS5's trigram tokenizer over the nodes'
-- names (deleted nodes included: their instances are still listed). A name search finds the
-- matching nodes here, then their instances by node id.
CREATE VIRTUAL TABLE node_names USING fts5(name, content = 'nodes', content_rowid = 'id',
    tokenize = 'trigram');
INSERT INTO node_names (node_names) VALUES ('rebuild');
CREATE TRIGGER nodes_named AFTER INSERT ON nodes BEGIN
    INSERT INTO node_names (rowid, name) VALUES (new.id, new.name);
END;
CREATE TRIGGER nodes_unnamed AFTER DELETE ON nodes BEGIN
    INSERT INTO node_names (node_names, rowid, name) VALUES ('delete', old.id, old.name);
END;
CREATE TRIGGER nodes_renamed AFTER UPDATE OF name ON nodes BEGIN
    INSERT INTO node_names (node_names, rowid, name) VALUES ('delete', old.id, old.name);
    INSERT INTO node_names (rowid, name) VALUES (new.id, new.name);
END;

-- Indexes for the filters people combine: an owner's instances of one run type (every list page
-- names its run type) by state, a run type newest first, a workflow's business date, a business
-- date's state. The node-name index goes: a name search reaches instances by node id (the
-- unique key's index).
DROP INDEX instances_node;
DROP INDEX instances_bizdate;
DROP INDEX instances_owner;
DROP INDEX instances_run_type;
CREATE INDEX instances_owner ON instances (owner, run_type, state, id);
CREATE INDEX instances_run_type ON instances (run_type, id);
CREATE INDEX instances_bizdate ON instances (bizdate, state, id);
CREATE INDEX instances_workflow_bizdate ON instances (workflow, bizdate, id);
