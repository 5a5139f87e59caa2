-- Several tenants: service principals created at run time and the tenant a
-- device code was requested for.

-- Another tenant's multi-tenant application gets a service principal in a
-- tenant on its first consent there (tenant files may list it up front).
CREATE TABLE service_principals (
    tenant_id  TEXT NOT NULL,
    app_id     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, app_id)
);

-- The authority path segment the device code was requested at (a tenant id
-- or domain, `organizations` or `common`): who may approve it.
ALTER TABLE device_grants ADD COLUMN tenant_path TEXT NOT NULL DEFAULT '';
