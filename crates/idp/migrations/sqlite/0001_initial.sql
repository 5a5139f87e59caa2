-- Runtime state of the identity provider (the directory itself lives in the
-- tenant TOML file). Codes, refresh tokens and device codes are stored only
-- as SHA-256 digests. Times are unix seconds.

CREATE TABLE codes (
    digest                BLOB    NOT NULL PRIMARY KEY,
    client_id             TEXT    NOT NULL,
    redirect_uri          TEXT    NOT NULL,
    user_id               TEXT    NOT NULL,
    scope                 TEXT    NOT NULL,
    nonce                 TEXT,
    code_challenge        TEXT,
    code_challenge_method TEXT,
    session_id            TEXT    NOT NULL,
    auth_time             INTEGER NOT NULL,
    tenant_path           TEXT    NOT NULL,
    expires_at            INTEGER NOT NULL
);
CREATE INDEX codes_expires_at ON codes (expires_at);

CREATE TABLE refresh_tokens (
    digest     BLOB    NOT NULL PRIMARY KEY,
    family_id  TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    session_id TEXT    NOT NULL,
    auth_time  INTEGER NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    spa        INTEGER NOT NULL,
    used_at    INTEGER,
    revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

CREATE TABLE sessions (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL,
    auth_time  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE consents (
    client_id       TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    resource_app_id TEXT NOT NULL,
    scope           TEXT NOT NULL,
    PRIMARY KEY (client_id, user_id, resource_app_id, scope)
);

-- user_code is kept as shown to the user; user_code_key is its normalised
-- form (uppercase, no dashes or spaces), which lookups use.
CREATE TABLE device_grants (
    digest        BLOB    NOT NULL PRIMARY KEY,
    user_code     TEXT    NOT NULL,
    user_code_key TEXT    NOT NULL UNIQUE,
    client_id     TEXT    NOT NULL,
    scope         TEXT    NOT NULL,
    expires_at    INTEGER NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('pending', 'approved', 'declined')),
    user_id       TEXT,
    auth_time     INTEGER
);
CREATE INDEX device_grants_expires_at ON device_grants (expires_at);

CREATE TABLE login_failures (
    user_id TEXT    NOT NULL,
    at      INTEGER NOT NULL
);
CREATE INDEX login_failures_user_at ON login_failures (user_id, at);
CREATE INDEX login_failures_at ON login_failures (at);

CREATE TABLE signing_keys (
    kid          TEXT    NOT NULL PRIMARY KEY,
    pkcs8        BLOB    NOT NULL,
    certificate  BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    active_from  INTEGER NOT NULL,
    retired_at   INTEGER,
    unpublish_at INTEGER
);
