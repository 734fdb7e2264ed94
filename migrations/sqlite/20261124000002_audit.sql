-- The audit trail: every operation (who, when, which instances, dry run or not, result).

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    dry_run     INTEGER NOT NULL,
    -- ok: everything named changed (or would); partial: some were refused; refused: nothing.
    outcome     TEXT    NOT NULL CHECK (outcome IN ('ok', 'partial', 'refused')),
    message     TEXT,
    -- How many instances the request named, and how many changed (0 for a dry run).
    requested   INTEGER NOT NULL,
    changed     INTEGER NOT NULL
);
CREATE INDEX audit_actor ON audit (actor, id);
CREATE INDEX audit_action ON audit (action, id);

-- Per instance: 'ok' or the reason it was refused.
CREATE TABLE audit_instances (
    audit_id     INTEGER NOT NULL REFERENCES audit (id),
    instance_id  INTEGER NOT NULL,
    result       TEXT    NOT NULL,
    PRIMARY KEY (audit_id, instance_id)
) WITHOUT ROWID;
CREATE INDEX audit_instances_instance ON audit_instances (instance_id, audit_id);
