-- Client assertions (RFC 7523 private_key_jwt): each `jti` a client uses is
-- bound to the first assertion that carried it (its SHA-256), until that
-- assertion's expiry plus the clock skew. The identical assertion may come
-- again before then (MSAL caches its signed assertion and re-sends it on
-- every token request for up to 10 minutes); a different assertion with the
-- same `jti` is refused. The primary key makes the binding insert-if-absent:
-- of two concurrent requests, one binds the jti and the other sees its digest.
CREATE TABLE assertion_jtis (
    client_id  TEXT    NOT NULL,
    jti        TEXT    NOT NULL,
    digest     BLOB    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti)
);
-- Counting a client's live jtis (its bound) and purging expired ones.
CREATE INDEX assertion_jtis_client_expires ON assertion_jtis (client_id, expires_at);
CREATE INDEX assertion_jtis_expires_at ON assertion_jtis (expires_at);
