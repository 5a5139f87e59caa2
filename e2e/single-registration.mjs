// The single-registration tenant of the msal-node and msal-browser
// self-request tests: `rolegate demo`'s own tenant file
// (crates/demo/tenant.toml), whose "Orders (single registration)" app
// is both the client and the API — Microsoft's app-roles sample pattern —
// with the test clients' redirect URIs added to that app and nothing else
// changed. Imported by tests that start their own provider with it.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DEMO_TENANT = path.join(ROOT, "crates", "demo", "tenant.toml");

/** The app that is its own API (client id = resource), in the demo tenant. */
export const SINGLE = "4f6a8c2e-1b3d-4e5f-9a7b-8c9d0e1f2a3b";
/** How Microsoft's sample names the API: by App ID URI (the self-request that Entra accepts at sign-in). */
export const SINGLE_SCOPE_URI = `api://${SINGLE}/access_as_user`;
/** The same scope named by the client id GUID (a family that refreshes without naming its resource). */
export const SINGLE_SCOPE_GUID = `${SINGLE}/access_as_user`;
/** What MSAL.js 2.x sent on refresh: no resource scope at all. */
export const OIDC_ONLY = "openid profile offline_access";

const SINGLE_REDIRECTS = 'spa_redirect_uris = ["https://localhost:8443/demo/"]';

/**
 * The demo tenant's text with the single registration's redirect URIs
 * extended: `spa` are added to its SPA redirect URIs, `publicClient` become
 * its public-client (loopback) redirect URIs.
 */
export function singleRegistrationTenant({ spa = [], publicClient = [] } = {}) {
  const text = fs.readFileSync(DEMO_TENANT, "utf8");
  if (text.split(SINGLE_REDIRECTS).length !== 2 || !text.includes(`app_id = "${SINGLE}"`)) {
    throw new Error(`${DEMO_TENANT} changed: expected exactly one line '${SINGLE_REDIRECTS}' (the app ${SINGLE}); update e2e/single-registration.mjs`);
  }
  const uris = ["https://localhost:8443/demo/", ...spa].map((u) => JSON.stringify(u)).join(", ");
  let replacement = `spa_redirect_uris = [${uris}]`;
  if (publicClient.length) {
    replacement += `\npublic_client_redirect_uris = [${publicClient.map((u) => JSON.stringify(u)).join(", ")}]`;
  }
  return text.replace(SINGLE_REDIRECTS, replacement);
}
