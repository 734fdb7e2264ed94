-- People: accounts with a role per project, server-side sessions, API tokens and the login
-- throttle. Secrets are never stored: passwords as argon2id hashes, session cookies and API
-- tokens as SHA-256 digests (they are long random values, so a fast digest is enough).

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    password_hash  TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    -- A disabled account cannot log in; its sessions are deleted and its tokens stop working.
    disabled       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE project_members (
    project_id  INTEGER NOT NULL REFERENCES projects (id),
    user_id     INTEGER NOT NULL REFERENCES users (id),
    role        TEXT    NOT NULL CHECK (role IN ('admin', 'developer', 'viewer')),
    PRIMARY KEY (project_id, user_id)
) WITHOUT ROWID;

CREATE TABLE sessions (
    token_hash    TEXT    PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    -- Every state-changing request of this session carries it in X-CSRF-Token.
    csrf_token    TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    -- Idle sessions end: last_seen_at + the idle timeout.
    last_seen_at  INTEGER NOT NULL,
    -- And every session ends at this moment, however busy.
    expires_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    name          TEXT    NOT NULL,
    token_hash    TEXT    NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    expires_at    INTEGER,
    revoked_at    INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, id);

-- Failed logins per account ('user:' + SHA-256 of the name: a name may be a mistyped password)
-- and per address ('addr:IP'): after a few failures the
-- key is locked for a time that doubles with every further failure.
CREATE TABLE login_throttle (
    key              TEXT    PRIMARY KEY,
    failures         INTEGER NOT NULL,
    last_failure_at  INTEGER NOT NULL,
    locked_until     INTEGER NOT NULL
) WITHOUT ROWID;
