-- Alerts: the rules people write, the ends of attempts waiting to be matched against them, what
-- fired (once per event: `key`) and its deliveries (the outbox: retried until delivered).

CREATE TABLE alert_rules (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT    NOT NULL,
    -- Which instances it watches; NULL: any.
    workflow       TEXT,
    node           TEXT,
    owner          TEXT,
    event          TEXT    NOT NULL CHECK (event IN ('failed', 'retries_exhausted',
                       'not_finished_by', 'running_longer_than', 'recovered')),
    -- not_finished_by: 'HH:MM' (project time zone); running_longer_than: minutes.
    at             TEXT,
    minutes        INTEGER,
    -- JSON: [{"webhook": "https://…"}, {"email": "a@b"}].
    channels       TEXT    NOT NULL,
    cooldown_mins  INTEGER NOT NULL DEFAULT 0,
    created_by     TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    -- not_finished_by: the deadlines up to this moment have been looked at.
    checked_until  INTEGER NOT NULL
);

-- Every end of an attempt that changed its instance (success, failure, failure to be retried),
-- written in the transaction that records it; the alert watcher matches them against the rules
-- and deletes them in the transaction that fires the alerts.
CREATE TABLE attempt_ends (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id  INTEGER NOT NULL,
    attempt      INTEGER NOT NULL,
    failed       BOOLEAN NOT NULL,
    -- The instance's state after the attempt (waiting_time: a retry is planned).
    state        TEXT    NOT NULL,
    at           INTEGER NOT NULL
);

CREATE TABLE alerts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    -- What fired, once: 'rule:<id>:<instance>:<attempt>:<event>' or
    -- 'baseline:<name>:<run date>:<event>'.
    key          TEXT    NOT NULL UNIQUE,
    rule_id      INTEGER,
    -- The rule's (or baseline's) name when it fired.
    rule         TEXT    NOT NULL,
    baseline     TEXT,
    event        TEXT    NOT NULL,
    instance_id  INTEGER,
    node         TEXT,
    run_date     TEXT,
    attempt      INTEGER,
    fired_at     INTEGER NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'folded')),
    -- The JSON a webhook receives.
    payload      TEXT    NOT NULL
);
CREATE INDEX alerts_rule ON alerts (rule_id, id);
CREATE INDEX alerts_instance ON alerts (instance_id, id);
CREATE INDEX alerts_status ON alerts (status, id);
-- A rule's latest alert that was sent (its cooldown).
CREATE INDEX alerts_rule_sent ON alerts (rule_id, fired_at) WHERE status <> 'folded';

CREATE TABLE alert_deliveries (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id       INTEGER NOT NULL REFERENCES alerts (id),
    channel        TEXT    NOT NULL CHECK (channel IN ('webhook', 'email')),
    target         TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    tries          INTEGER NOT NULL DEFAULT 0,
    -- When it is tried (again).
    next_at        INTEGER NOT NULL,
    -- The process sending it now, and until when it may (then another one may).
    claimed_by     TEXT,
    claimed_until  INTEGER,
    last_error     TEXT,
    delivered_at   INTEGER
);
CREATE INDEX alert_deliveries_alert ON alert_deliveries (alert_id);
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_at) WHERE status = 'pending';

-- Baselines: nodes whose instances of a run date are promised by a time of that date.
CREATE TABLE baselines (
    name         TEXT    PRIMARY KEY,
    -- JSON array of node names.
    nodes        TEXT    NOT NULL,
    -- 'HH:MM' of the run date, project time zone.
    commit_by    TEXT    NOT NULL,
    margin_mins  INTEGER NOT NULL,
    channels     TEXT    NOT NULL,
    created_by   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
