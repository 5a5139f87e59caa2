-- Trustworthy core: what the security review asked the store to remember.
-- Times are unix seconds; secrets are kept only as SHA-256 digests.

-- A refresh-token family remembers the resource it was started for (the
-- identifier as the client wrote it, and the resource scopes granted), so a
-- refresh that names no resource scope continues it (and reproduces Entra's
-- AADSTS90009 for a self-request by App ID URI), and how the client
-- authenticated, so a refresh must authenticate the same way.
ALTER TABLE refresh_tokens ADD COLUMN resource    TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN scope       TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN client_auth TEXT NOT NULL DEFAULT 'public';

-- Codes are marked redeemed (not deleted) until they expire, so a replay is
-- recognised and revokes the refresh-token family issued from the code
-- (RFC 6749 §4.1.2).
ALTER TABLE codes ADD COLUMN redeemed_family TEXT;

-- The session cookie is a secret of its own: the store keeps its SHA-256,
-- and `id` is an opaque identifier (`sid`, `session_state`) that grants
-- nothing. Sessions from before (whose id was the cookie) are dropped.
DELETE FROM sessions;
ALTER TABLE sessions ADD COLUMN secret_digest BLOB;
CREATE UNIQUE INDEX sessions_secret_digest ON sessions (secret_digest);

-- The apps a session signed in to: a logout that names no app may return
-- only to a URI registered on one of them.
CREATE TABLE session_clients (
    session_id TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    PRIMARY KEY (session_id, client_id)
);

-- Consent shown to a user, awaiting the answer: the posted form only says
-- accept or cancel and names this record.
CREATE TABLE pending_consents (
    digest          BLOB    NOT NULL PRIMARY KEY,
    session_id      TEXT    NOT NULL,
    client_id       TEXT    NOT NULL,
    resource_app_id TEXT    NOT NULL,
    scope           TEXT    NOT NULL,
    request         TEXT    NOT NULL,
    expires_at      INTEGER NOT NULL
);
CREATE INDEX pending_consents_expires_at ON pending_consents (expires_at);

-- Keys the provider derives values from (the CSRF token key), created once
-- from the OS random source.
CREATE TABLE server_secrets (
    name  TEXT NOT NULL PRIMARY KEY,
    value BLOB NOT NULL
);
