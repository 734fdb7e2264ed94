-- Test runs and backfills: each is a job whose instances carry its id (instances.job_id).

CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL CHECK (kind IN ('test', 'backfill')),
    created_at   INTEGER NOT NULL,
    created_by   TEXT    NOT NULL,
    -- The node it was started from (or the workflow of a workflow test).
    root         TEXT    NOT NULL,
    -- JSON array of the node names it covers.
    nodes        TEXT    NOT NULL,
    -- Business dates.
    from_date    TEXT    NOT NULL,
    to_date      TEXT    NOT NULL,
    descending   INTEGER NOT NULL DEFAULT 0,
    parallelism  INTEGER NOT NULL DEFAULT 1,
    total        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_kind ON jobs (kind, id);
CREATE INDEX instances_job ON instances (job_id, state) WHERE job_id <> 0;
