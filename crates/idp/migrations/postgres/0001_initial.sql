-- Runtime state of the identity provider in PostgreSQL: the schema the
-- SQLite migrations 0001-0004 built, in one step and in PostgreSQL's types
-- (BYTEA for digests and key material, BIGINT for unix seconds, BOOLEAN for
-- flags). The directory itself lives in the tenant TOML files. Codes,
-- refresh tokens, device codes, session cookies and consent handles are
-- stored only as SHA-256 digests; signing keys only sealed (AES-256-GCM under
-- a key-encryption key that never enters the database).

-- Authorization codes. A code is marked redeemed (not deleted) until it
-- expires, so a replay is recognised and revokes the refresh-token family
-- issued from it (RFC 6749 §4.1.2).
CREATE TABLE codes (
    digest                BYTEA  NOT NULL PRIMARY KEY CHECK (octet_length(digest) = 32),
    client_id             TEXT   NOT NULL,
    redirect_uri          TEXT   NOT NULL,
    user_id               TEXT   NOT NULL,
    scope                 TEXT   NOT NULL,
    nonce                 TEXT,
    code_challenge        TEXT,
    code_challenge_method TEXT,
    session_id            TEXT   NOT NULL,
    auth_time             BIGINT NOT NULL,
    tenant_path           TEXT   NOT NULL,
    expires_at            BIGINT NOT NULL,
    redeemed_family       TEXT,
    CHECK ((code_challenge IS NULL) = (code_challenge_method IS NULL))
);
CREATE INDEX codes_expires_at ON codes (expires_at);

-- A refresh-token family: every token descended from one sign-in. Revoking
-- is one flag here, so tokens a concurrent rotation adds are revoked with
-- the rest; rotations lock this row (SELECT ... FOR UPDATE), which orders
-- every rotation and revocation of one family. expires_at is the latest
-- expiry of its tokens: the family is purged (with its tokens) after it.
CREATE TABLE refresh_families (
    family_id  TEXT    NOT NULL PRIMARY KEY,
    revoked    BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX refresh_families_expires_at ON refresh_families (expires_at);

-- resource: the identifier as the client wrote it when the family started;
-- scope: the resource scopes granted; client_auth: how the client
-- authenticated (every refresh must authenticate the same way).
CREATE TABLE refresh_tokens (
    digest      BYTEA   NOT NULL PRIMARY KEY CHECK (octet_length(digest) = 32),
    family_id   TEXT    NOT NULL REFERENCES refresh_families (family_id) ON DELETE CASCADE,
    client_id   TEXT    NOT NULL,
    user_id     TEXT    NOT NULL,
    session_id  TEXT    NOT NULL,
    auth_time   BIGINT  NOT NULL,
    issued_at   BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    spa         BOOLEAN NOT NULL,
    resource    TEXT    NOT NULL,
    scope       TEXT    NOT NULL,
    client_auth TEXT    NOT NULL,
    used_at     BIGINT
);
CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

-- SSO sessions: the cookie is a secret of its own, kept as its SHA-256; id
-- is an opaque identifier (sid, session_state) that grants nothing.
CREATE TABLE sessions (
    id            TEXT   NOT NULL PRIMARY KEY,
    secret_digest BYTEA  NOT NULL UNIQUE CHECK (octet_length(secret_digest) = 32),
    user_id       TEXT   NOT NULL,
    auth_time     BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- The apps a session signed in to: a logout that names no app may return
-- only to a URI registered on one of them.
CREATE TABLE session_clients (
    session_id TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    PRIMARY KEY (session_id, client_id)
);

-- Consent given by users at run time, one row per scope.
CREATE TABLE consents (
    client_id       TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    resource_app_id TEXT NOT NULL,
    scope           TEXT NOT NULL,
    PRIMARY KEY (client_id, user_id, resource_app_id, scope)
);

-- Consent shown to a user, awaiting the answer: the posted form only says
-- accept or cancel and names this record (by the digest of its handle).
CREATE TABLE pending_consents (
    digest          BYTEA  NOT NULL PRIMARY KEY CHECK (octet_length(digest) = 32),
    session_id      TEXT   NOT NULL,
    client_id       TEXT   NOT NULL,
    resource_app_id TEXT   NOT NULL,
    scope           TEXT   NOT NULL,
    request         TEXT   NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX pending_consents_expires_at ON pending_consents (expires_at);

-- Keys the provider derives values from (the CSRF token key), created once
-- from the OS random source; the first replica to store one wins.
CREATE TABLE server_secrets (
    name  TEXT  NOT NULL PRIMARY KEY,
    value BYTEA NOT NULL
);

-- Device-code grants. user_code is kept as shown to the user; user_code_key
-- is its normalised form (uppercase, no dashes or spaces), which lookups
-- use. tenant_path: the authority path segment the code was requested at
-- (a tenant id or domain, organizations or common): whose users may approve.
CREATE TABLE device_grants (
    digest        BYTEA  NOT NULL PRIMARY KEY CHECK (octet_length(digest) = 32),
    user_code     TEXT   NOT NULL,
    user_code_key TEXT   NOT NULL UNIQUE,
    client_id     TEXT   NOT NULL,
    scope         TEXT   NOT NULL,
    expires_at    BIGINT NOT NULL,
    state         TEXT   NOT NULL CHECK (state IN ('pending', 'approved', 'declined')),
    user_id       TEXT,
    auth_time     BIGINT,
    tenant_path   TEXT   NOT NULL,
    CHECK ((state = 'approved') = (user_id IS NOT NULL AND auth_time IS NOT NULL))
);
CREATE INDEX device_grants_expires_at ON device_grants (expires_at);

-- Failed passwords, one row each, counted over a window per user.
CREATE TABLE login_failures (
    user_id TEXT   NOT NULL,
    at      BIGINT NOT NULL
);
CREATE INDEX login_failures_user_at ON login_failures (user_id, at);
CREATE INDEX login_failures_at ON login_failures (at);

-- Signing keys. pkcs8_sealed is the RSA private key (PKCS#8 DER) sealed with
-- AES-256-GCM under the key-encryption key, with the kid as associated data:
-- a 12-byte nonce, the ciphertext, a 16-byte tag. The certificate is public
-- (it is published as x5c). seq orders keys created in the same second.
CREATE TABLE signing_keys (
    kid          TEXT   NOT NULL PRIMARY KEY,
    pkcs8_sealed BYTEA  NOT NULL CHECK (octet_length(pkcs8_sealed) > 28),
    certificate  BYTEA  NOT NULL,
    created_at   BIGINT NOT NULL,
    active_from  BIGINT NOT NULL,
    retired_at   BIGINT,
    unpublish_at BIGINT,
    seq          BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE
);

-- Client assertions (RFC 7523 private_key_jwt): each jti a client uses is
-- bound to the first assertion that carried it (its SHA-256), until that
-- assertion's expiry plus the clock skew. The primary key makes the binding
-- insert-if-absent: of two concurrent requests, one binds the jti and the
-- other sees its digest.
CREATE TABLE assertion_jtis (
    client_id  TEXT   NOT NULL,
    jti        TEXT   NOT NULL,
    digest     BYTEA  NOT NULL CHECK (octet_length(digest) = 32),
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX assertion_jtis_client_expires ON assertion_jtis (client_id, expires_at);
CREATE INDEX assertion_jtis_expires_at ON assertion_jtis (expires_at);

-- Another tenant's multi-tenant application gets a service principal in a
-- tenant on its first consent there (tenant files may list it up front).
-- Ids are stored lowercase.
CREATE TABLE service_principals (
    tenant_id  TEXT   NOT NULL,
    app_id     TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, app_id)
);
