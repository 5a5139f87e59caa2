-- Abuse limits (failed client authentications, device-code requests)
-- counted in the store, so that replicas count together: one row per key
-- holds the current fixed window's count.
CREATE TABLE throttles (
    key          TEXT    NOT NULL PRIMARY KEY,
    window_start BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    events       INTEGER NOT NULL
);
CREATE INDEX throttles_expires_at ON throttles (expires_at);
