-- Abuse limits (failed client authentications, device-code requests)
-- counted in the store rather than in memory: one row per key holds the
-- current fixed window's count; a restart does not reset it.
CREATE TABLE throttles (
    key          TEXT    NOT NULL PRIMARY KEY,
    window_start INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    events       INTEGER NOT NULL
);
CREATE INDEX throttles_expires_at ON throttles (expires_at);
