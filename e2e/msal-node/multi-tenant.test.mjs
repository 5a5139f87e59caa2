// Multi-tenant: unmodified msal-node at the `organizations` authority with
// FleetCo's multi-tenant CLI (examples/multi-tenant/), signing in a user of
// each tenant. Tokens come from the user's home tenant (iss/tid, MSAL's
// account), and the multi-tenant Fleet API, checked by `rolegate token
// check` with the `{tenantid}` issuer template and a tenant allow-list,
// accepts one tenant and refuses the other naming it.

import test from "node:test";
import assert from "node:assert/strict";
import { CryptoProvider, PublicClientApplication } from "@azure/msal-node";
import { KNOWN_AUTHORITY, ORIGIN, claimsOf, msalSystem, signIn, tokenCheck } from "./helpers.mjs";

const FLEETCO = "aaaaaaaa-1111-4111-8111-00000000000a";
const PARTNER = "bbbbbbbb-2222-4222-8222-00000000000b";
const FLEET_API = "f1ee7000-1111-4111-8111-0000000000a1";
const FLEET_CLI = "f1ee7000-1111-4111-8111-0000000000c1";
const SCOPE = `api://${FLEET_API}/Fleet.Read`;
const ORGANIZATIONS = `${ORIGIN}/organizations`;
const REDIRECT_URI = "http://localhost:3998/";
const ANN = { username: "ann@fleetco.test", password: "ann-Passw0rd" };
const BO = { username: "bo@partner.test", password: "bo-Passw0rd" };

const app = new PublicClientApplication({
  auth: { clientId: FLEET_CLI, authority: ORGANIZATIONS, knownAuthorities: [KNOWN_AUTHORITY] },
  system: msalSystem,
});
const crypto = new CryptoProvider();

async function signInAt(user) {
  const { verifier, challenge } = await crypto.generatePkceCodes();
  const authUrl = await app.getAuthCodeUrl({
    scopes: [SCOPE], redirectUri: REDIRECT_URI, codeChallenge: challenge, codeChallengeMethod: "S256",
  });
  assert.ok(authUrl.startsWith(`${ORGANIZATIONS}/oauth2/v2.0/authorize?`), authUrl);
  const redirect = await signIn(authUrl, user);
  const params = redirect.searchParams;
  assert.equal(params.get("error"), null, `the provider answered with an error: ${redirect}`);
  return app.acquireTokenByCode(
    { code: params.get("code"), scopes: [SCOPE], redirectUri: REDIRECT_URI, codeVerifier: verifier },
    { code: params.get("code"), client_info: params.get("client_info") },
  );
}

function check(token, allowed) {
  return tokenCheck(token, {
    authority: ORGANIZATIONS,
    audience: FLEET_API,
    extra: allowed.flatMap((t) => ["--tenant-allow", t]),
  });
}

let bo;

test("organizations: each user gets tokens from their home tenant", { timeout: 60_000 }, async () => {
  bo = await signInAt(BO);
  const c = claimsOf(bo.accessToken);
  assert.equal(c.iss, `${ORIGIN}/${PARTNER}/v2.0`);
  assert.equal(c.tid, PARTNER);
  assert.equal(c.aud, FLEET_API);
  assert.equal(c.scp, "Fleet.Read");
  assert.deepEqual(c.roles, ["Fleet.Admin"], "Partner's own role assignment");
  assert.equal(bo.account.tenantId, PARTNER, "msal-node's account is in the user's tenant");
  assert.ok(bo.account.homeAccountId.endsWith(`.${PARTNER}`), bo.account.homeAccountId);
  assert.equal(claimsOf(bo.idToken).tid, PARTNER);

  const ann = await signInAt(ANN);
  assert.equal(claimsOf(ann.accessToken).tid, FLEETCO);
  assert.equal(ann.account.tenantId, FLEETCO);

  // The Fleet API allows Partner only.
  const allowed = check(bo.accessToken, [PARTNER]);
  assert.equal(allowed.status, 0, JSON.stringify(allowed.result.errors));
  const refused = check(ann.accessToken, [PARTNER]);
  assert.notEqual(refused.status, 0, "a token from a tenant not on the list is refused");
  const errors = JSON.stringify(refused.result.errors);
  assert.ok(errors.includes("tenant_not_allowed") && errors.includes(FLEETCO), errors);
});

test("organizations: the refresh continues in the user's tenant", { timeout: 60_000 }, async () => {
  assert.ok(bo, "the sign-in test ran first");
  const silent = await app.acquireTokenSilent({ account: bo.account, scopes: [SCOPE], forceRefresh: true });
  assert.equal(silent.fromCache, false);
  assert.equal(claimsOf(silent.accessToken).tid, PARTNER);
});
