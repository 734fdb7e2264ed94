-- Statistics that do not count millions of rows (issue 16): the number of instances per
-- (run date, run type, state) and per (node, run type, state). Statement triggers append each
-- statement's net change to the `_changes_` tables (appending never waits for another writer's
-- row lock, so concurrent claims and finishes cannot deadlock on a counter); a scheduler folds
-- them into the counts every few seconds, in one transaction. Reads add counts and changes, so
-- they equal a fresh COUNT(*) in every snapshot. `nightshift check-counts` compares them.
CREATE TABLE instance_counts_by_day (
    run_date  TEXT   NOT NULL,
    run_type  TEXT   NOT NULL,
    state     TEXT   NOT NULL,
    n         BIGINT NOT NULL,
    PRIMARY KEY (run_date, run_type, state)
);
CREATE TABLE instance_counts_by_node (
    node_id   BIGINT NOT NULL,
    run_type  TEXT   NOT NULL,
    state     TEXT   NOT NULL,
    n         BIGINT NOT NULL,
    PRIMARY KEY (node_id, run_type, state)
);
CREATE TABLE instance_count_changes_by_day (
    run_date  TEXT   NOT NULL,
    run_type  TEXT   NOT NULL,
    state     TEXT   NOT NULL,
    n         BIGINT NOT NULL
);
CREATE TABLE instance_count_changes_by_node (
    node_id   BIGINT NOT NULL,
    run_type  TEXT   NOT NULL,
    state     TEXT   NOT NULL,
    n         BIGINT NOT NULL
);
CREATE INDEX instance_count_changes_by_node_node ON instance_count_changes_by_node (node_id);

-- Writers of an older process (a rolling upgrade) wait from the first count to the triggers, so
-- no change falls between them.
LOCK TABLE instances IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO instance_counts_by_day (run_date, run_type, state, n)
    SELECT run_date, run_type, state, COUNT(*) FROM instances GROUP BY run_date, run_type, state;
INSERT INTO instance_counts_by_node (node_id, run_type, state, n)
    SELECT node_id, run_type, state, COUNT(*) FROM instances GROUP BY node_id, run_type, state;

-- One function for the three statement triggers: `gone` and `came` are the statement's old and
-- new rows (transition tables); an unchanged row cancels out.
CREATE FUNCTION instances_count_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO instance_count_changes_by_day (run_date, run_type, state, n)
            SELECT run_date, run_type, state, COUNT(*) FROM came GROUP BY 1, 2, 3;
        INSERT INTO instance_count_changes_by_node (node_id, run_type, state, n)
            SELECT node_id, run_type, state, COUNT(*) FROM came GROUP BY 1, 2, 3;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO instance_count_changes_by_day (run_date, run_type, state, n)
            SELECT run_date, run_type, state, -COUNT(*) FROM gone GROUP BY 1, 2, 3;
        INSERT INTO instance_count_changes_by_node (node_id, run_type, state, n)
            SELECT node_id, run_type, state, -COUNT(*) FROM gone GROUP BY 1, 2, 3;
    ELSE
        INSERT INTO instance_count_changes_by_day (run_date, run_type, state, n)
            SELECT run_date, run_type, state, SUM(n) FROM (
                SELECT run_date, run_type, state, -1 AS n FROM gone
                UNION ALL SELECT run_date, run_type, state, 1 FROM came) c
            GROUP BY 1, 2, 3 HAVING SUM(n) <> 0;
        INSERT INTO instance_count_changes_by_node (node_id, run_type, state, n)
            SELECT node_id, run_type, state, SUM(n) FROM (
                SELECT node_id, run_type, state, -1 AS n FROM gone
                UNION ALL SELECT node_id, run_type, state, 1 FROM came) c
            GROUP BY 1, 2, 3 HAVING SUM(n) <> 0;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER instances_counted AFTER INSERT ON instances
    REFERENCING NEW TABLE AS came FOR EACH STATEMENT EXECUTE FUNCTION instances_count_changes();
CREATE TRIGGER instances_recounted AFTER UPDATE ON instances
    REFERENCING OLD TABLE AS gone NEW TABLE AS came
    FOR EACH STATEMENT EXECUTE FUNCTION instances_count_changes();
CREATE TRIGGER instances_uncounted AFTER DELETE ON instances
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION instances_count_changes();

-- Node names searched by substring through an index: pg_trgm's trigram GIN index over the nodes'
-- names (deleted nodes included: their instances are still listed). A name search finds the
-- matching nodes, then their instances by node id. pg_trgm ships with PostgreSQL and is a
-- trusted extension: a role with CREATE on the database (and on `public`) may install it; where
-- an administrator installed it already, in any schema, that one is used.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
DO $$
DECLARE
    home TEXT;
BEGIN
    SELECT n.nspname INTO home FROM pg_extension e
        JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
    EXECUTE format('CREATE INDEX nodes_name_trigrams ON nodes USING gin (name %I.gin_trgm_ops)',
        home);
END $$;

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
