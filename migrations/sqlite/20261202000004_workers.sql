-- The processes that serve this database (API, scheduler, worker), each under its name with its
-- heartbeat: a worker holds its running attempts under a lease its heartbeats renew.
CREATE TABLE workers (
    name          TEXT    PRIMARY KEY,
    -- Comma-separated: api, scheduler, worker.
    roles         TEXT    NOT NULL,
    -- JSON array of the resource groups it serves; NULL: all.
    groups        TEXT,
    host          TEXT    NOT NULL,
    pid           INTEGER NOT NULL,
    lease_secs    INTEGER NOT NULL,
    started_at    INTEGER NOT NULL,
    heartbeat_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- Attempt logs shipped by the workers of a shared database, so every API process can read them,
-- live and after the worker is gone: the log's bytes in order, each piece at its offset.
CREATE TABLE attempt_logs (
    instance_id  INTEGER NOT NULL,
    attempt      INTEGER NOT NULL,
    at_byte      INTEGER NOT NULL,
    data         BLOB    NOT NULL,
    PRIMARY KEY (instance_id, attempt, at_byte)
) WITHOUT ROWID;
