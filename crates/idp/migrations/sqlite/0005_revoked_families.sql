-- A family revoked before its first refresh token is stored (an
-- authorization code replayed while its first redemption is still being
-- answered) must stay revoked: the revocation is remembered for a day, and
-- a refresh token stored into a family remembered here is stored revoked.
CREATE TABLE revoked_families (
    family_id  TEXT    NOT NULL PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX revoked_families_expires_at ON revoked_families (expires_at);
