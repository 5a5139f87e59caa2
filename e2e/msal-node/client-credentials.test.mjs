// Client credentials: the Orders daemon (a confidential client with the
// application permission Orders.Read) gets an app-only access token for the
// Orders API with unmodified msal-node, and the token library accepts it.

import test from "node:test";
import assert from "node:assert/strict";
import { ConfidentialClientApplication } from "@azure/msal-node";
import { API, API_DEFAULT, DAEMON, DAEMON_SECRET, ISSUER, TENANT_ID, claimsOf, msalAuth, msalSystem, tokenCheck } from "./helpers.mjs";

test("client credentials: app-only token with roles [Orders.Read], validated by rolegate", { timeout: 60_000 }, async () => {
  const app = new ConfidentialClientApplication({
    auth: msalAuth(DAEMON, { clientSecret: DAEMON_SECRET }),
    system: msalSystem,
  });

  const result = await app.acquireTokenByClientCredential({ scopes: [API_DEFAULT] });
  assert.ok(result?.accessToken, "msal-node returned no access token");
  assert.equal(result.tokenType, "Bearer");
  assert.equal(result.fromCache, false);

  const c = claimsOf(result.accessToken);
  assert.equal(c.aud, API, "v2 access token: aud is the API's client id");
  assert.equal(c.iss, ISSUER);
  assert.equal(c.ver, "2.0");
  assert.equal(c.tid, TENANT_ID);
  assert.deepEqual(c.roles, ["Orders.Read"]);
  assert.equal(c.scp, undefined, "an app-only token carries no scp");
  assert.equal(c.azp, DAEMON);
  assert.equal(c.idtyp, "app", "emit_idtyp = true on the API");

  const check = tokenCheck(result.accessToken, { requireRole: "Orders.Read" });
  assert.equal(check.status, 0, `rolegate token check refused it: ${JSON.stringify(check.result.errors)}`);
  assert.equal(check.result.valid, true);
  assert.equal(check.result.authorized, true);

  // A role the daemon does not hold: valid, but not authorized.
  const admin = tokenCheck(result.accessToken, { requireRole: "Orders.Admin" });
  assert.equal(admin.status, 1);
  assert.equal(admin.result.valid, true);
  assert.equal(admin.result.authorized, false);

  // msal-node's cache answers the second call.
  const again = await app.acquireTokenByClientCredential({ scopes: [API_DEFAULT] });
  assert.equal(again.fromCache, true);
  assert.equal(again.accessToken, result.accessToken);
});

test("client credentials: a wrong secret is refused with invalid_client / AADSTS7000215", { timeout: 60_000 }, async () => {
  const app = new ConfidentialClientApplication({
    auth: msalAuth(DAEMON, { clientSecret: "not-the-secret" }),
    system: { loggerOptions: { ...msalSystem.loggerOptions, loggerCallback: () => {} } },
  });
  await assert.rejects(app.acquireTokenByClientCredential({ scopes: [API_DEFAULT] }), (e) => {
    assert.equal(e.errorCode, "invalid_client", `errorCode: ${e.errorCode} ${e.errorMessage}`);
    assert.match(e.errorMessage, /AADSTS7000215/);
    return true;
  });
});
