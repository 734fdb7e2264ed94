-- Nightshift schema, SQLite flavour. Timestamps are INTEGER milliseconds since the Unix epoch
-- (UTC); dates are TEXT 'YYYY-MM-DD' (they sort as dates).

CREATE TABLE projects (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);
INSERT INTO projects (id, name, created_at) VALUES (1, 'default', 0);

CREATE TABLE resource_groups (
    id     INTEGER PRIMARY KEY,
    name   TEXT    NOT NULL UNIQUE,
    slots  INTEGER NOT NULL CHECK (slots > 0)
);
INSERT INTO resource_groups (id, name, slots) VALUES (1, 'default', 8);

CREATE TABLE workflows (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects (id),
    name        TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

-- Definitions: no state, no run information.
CREATE TABLE nodes (
    id                INTEGER PRIMARY KEY,
    name              TEXT    NOT NULL,
    workflow_id       INTEGER NOT NULL REFERENCES workflows (id),
    owner             TEXT    NOT NULL,
    command           TEXT    NOT NULL,
    schedule          TEXT    NOT NULL,
    resource_group    TEXT    NOT NULL,
    timeout_secs      INTEGER NOT NULL,
    retries           INTEGER NOT NULL,
    retry_delay_secs  INTEGER NOT NULL,
    paused            INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    -- A deleted node keeps its row so its past instances still have a definition to point at.
    deleted_at        INTEGER
);
CREATE UNIQUE INDEX nodes_live_name ON nodes (name) WHERE deleted_at IS NULL;
CREATE INDEX nodes_owner ON nodes (owner);
CREATE INDEX nodes_workflow ON nodes (workflow_id);

CREATE TABLE node_upstreams (
    node_id      INTEGER NOT NULL REFERENCES nodes (id),
    upstream_id  INTEGER NOT NULL REFERENCES nodes (id),
    PRIMARY KEY (node_id, upstream_id)
) WITHOUT ROWID;
CREATE INDEX node_upstreams_upstream ON node_upstreams (upstream_id, node_id);

-- One run of one node for one planned time. Node name, workflow and owner are copied in at
-- creation: the instance belongs to the snapshot it came from, and list filters need no join.
CREATE TABLE instances (
    id              INTEGER PRIMARY KEY,
    node_id         INTEGER NOT NULL REFERENCES nodes (id),
    node_name       TEXT    NOT NULL,
    workflow        TEXT    NOT NULL,
    owner           TEXT    NOT NULL,
    run_type        TEXT    NOT NULL CHECK (run_type IN ('cycle', 'test', 'backfill')),
    -- The test or backfill job that made it; 0 for cycle instances.
    job_id          INTEGER NOT NULL DEFAULT 0,
    bizdate         TEXT    NOT NULL,
    run_date        TEXT    NOT NULL,
    planned_at      INTEGER NOT NULL,
    -- The earliest moment it may leave "waiting for time": the planned time, or later after a
    -- failed attempt that waits for its retry delay.
    ready_at        INTEGER NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('not_run', 'waiting_time',
                        'waiting_resources', 'running', 'success', 'failed', 'stopped')),
    paused          INTEGER NOT NULL DEFAULT 0,
    -- Dispatch order among instances waiting for the same resource group: lower goes first.
    priority        INTEGER NOT NULL DEFAULT 0,
    attempt         INTEGER NOT NULL DEFAULT 0,
    -- Automatic retries used since the last scheduled or manual start.
    auto_retries    INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    started_at      INTEGER,
    ended_at        INTEGER,
    exit_code       INTEGER,
    host            TEXT,
    reason          TEXT,
    UNIQUE (node_id, run_type, job_id, planned_at)
);
CREATE INDEX instances_state ON instances (state, id);
CREATE INDEX instances_owner ON instances (owner, state, id);
CREATE INDEX instances_node ON instances (node_name, id);
CREATE INDEX instances_workflow ON instances (workflow, id);
CREATE INDEX instances_bizdate ON instances (bizdate, id);
CREATE INDEX instances_run_date ON instances (run_date, id);
CREATE INDEX instances_run_type ON instances (run_type, state, id);
CREATE INDEX instances_node_history ON instances (node_id, planned_at);
-- The dispatcher's two questions: who is due, and who waits for a slot.
CREATE INDEX instances_due ON instances (ready_at) WHERE state = 'waiting_time' AND paused = 0;
CREATE INDEX instances_queued ON instances (priority, ready_at, id)
    WHERE state = 'waiting_resources' AND paused = 0;

-- Instance-level dependency edges, fixed by the snapshot.
CREATE TABLE instance_deps (
    instance_id  INTEGER NOT NULL REFERENCES instances (id),
    upstream_id  INTEGER NOT NULL REFERENCES instances (id),
    PRIMARY KEY (instance_id, upstream_id)
) WITHOUT ROWID;
CREATE INDEX instance_deps_upstream ON instance_deps (upstream_id, instance_id);

-- Every start of an instance, with where its log is.
CREATE TABLE attempts (
    instance_id  INTEGER NOT NULL REFERENCES instances (id),
    attempt      INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    ended_at     INTEGER,
    exit_code    INTEGER,
    host         TEXT    NOT NULL,
    pid          INTEGER,
    -- The process's start time in clock ticks since boot (/proc/PID/stat field 22), so that
    -- recovery never signals a recycled pid.
    pid_start    INTEGER,
    log_path     TEXT    NOT NULL,
    outcome      TEXT,
    reason       TEXT,
    PRIMARY KEY (instance_id, attempt)
) WITHOUT ROWID;
CREATE INDEX attempts_open ON attempts (ended_at) WHERE ended_at IS NULL;

-- Which run dates the nightly snapshot has made.
CREATE TABLE snapshots (
    run_date    TEXT    PRIMARY KEY,
    created_at  INTEGER NOT NULL,
    instances   INTEGER NOT NULL
);
