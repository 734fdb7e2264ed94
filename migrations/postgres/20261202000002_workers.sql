-- See migrations/sqlite/20261202000004_workers.sql.
CREATE TABLE workers (
    name          TEXT   PRIMARY KEY,
    roles         TEXT   NOT NULL,
    groups        TEXT,
    host          TEXT   NOT NULL,
    pid           BIGINT NOT NULL,
    lease_secs    BIGINT NOT NULL,
    started_at    BIGINT NOT NULL,
    heartbeat_at  BIGINT NOT NULL
);

CREATE TABLE attempt_logs (
    instance_id  BIGINT NOT NULL,
    attempt      BIGINT NOT NULL,
    at_byte      BIGINT NOT NULL,
    data         BYTEA  NOT NULL,
    PRIMARY KEY (instance_id, attempt, at_byte)
);
