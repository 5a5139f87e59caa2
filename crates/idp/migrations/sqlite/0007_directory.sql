-- The directory (users, groups, applications, role assignments, consents)
-- as the store keeps it once a tenant file has seeded it: one document per
-- tenant (the tenant file's entries as JSON, secrets hashed), replaced by
-- compare-and-swap on its version (design note 0003).
CREATE TABLE directory_documents (
    tenant_id  TEXT    NOT NULL PRIMARY KEY,
    version    INTEGER NOT NULL,
    document   TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);
