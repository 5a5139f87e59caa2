// Authorization code + PKCE with the public Orders CLI app (loopback
// redirect, any port), signing alice in on the provider's sign-in page over
// plain HTTP, then a refresh-token grant through acquireTokenSilent.
//
// The two tests run in order (node:test runs the tests of a file one after
// the other); the second uses the account the first signed in.

import test from "node:test";
import assert from "node:assert/strict";
import { CryptoProvider, PublicClientApplication } from "@azure/msal-node";
import {
  API, API_SCOPE, CLI, ISSUER, KNOWN_AUTHORITY, TENANT_ID, USERS,
  claimsOf, msalAuth, msalSystem, signIn, tokenCheck,
} from "./helpers.mjs";

const REDIRECT_URI = "http://localhost:3999/";
const SCOPES = [API_SCOPE];

const app = new PublicClientApplication({ auth: msalAuth(CLI), system: msalSystem });
const crypto = new CryptoProvider();
let first; // the AuthenticationResult of the code redemption

function assertAliceAccessToken(token) {
  const c = claimsOf(token);
  assert.equal(c.aud, API, "v2 access token: aud is the API's client id");
  assert.equal(c.iss, ISSUER);
  assert.equal(c.ver, "2.0");
  assert.equal(c.tid, TENANT_ID);
  assert.equal(c.scp, "access_as_user");
  assert.deepEqual(c.roles, ["Orders.Admin"]);
  assert.equal(c.azp, CLI, "azp is the client that asked");
  assert.equal(c.oid, USERS.alice.oid);
  assert.notEqual(c.idtyp, "app");
  assert.equal(c.nonce, undefined, "access tokens carry no nonce claim");
  const check = tokenCheck(token, { requireRole: "Orders.Admin" });
  assert.equal(check.status, 0, `rolegate token check refused the access token: ${JSON.stringify(check.result.errors)}`);
  assert.equal(check.result.valid, true);
  assert.equal(check.result.authorized, true);
  return c;
}

test("auth code + PKCE (public CLI app, loopback redirect): alice gets an access token for the API and an ID token for the CLI", { timeout: 60_000 }, async () => {
  const { verifier, challenge } = await crypto.generatePkceCodes();
  const state = crypto.createNewGuid();
  const nonce = crypto.createNewGuid();

  const authUrl = await app.getAuthCodeUrl({
    scopes: SCOPES,
    redirectUri: REDIRECT_URI,
    codeChallenge: challenge,
    codeChallengeMethod: "S256",
    state,
    nonce,
  });
  assert.ok(authUrl.startsWith(`https://${KNOWN_AUTHORITY}/${TENANT_ID}/oauth2/v2.0/authorize?`), authUrl);

  // What the browser does: the sign-in page, then the redirect to the loopback URI.
  const redirect = await signIn(authUrl, USERS.alice);
  assert.equal(`${redirect.origin}${redirect.pathname}`, REDIRECT_URI);
  const params = redirect.searchParams; // msal-node asks for response_mode=query
  assert.equal(params.get("error"), null, `the provider answered with an error: ${redirect}`);
  const code = params.get("code");
  assert.ok(code, `no code in ${redirect}`);
  assert.equal(params.get("state"), state);
  assert.ok(params.get("session_state"), "session_state in the redirect");
  const clientInfo = JSON.parse(Buffer.from(params.get("client_info") ?? "", "base64url").toString("utf8"));
  assert.deepEqual(clientInfo, { uid: USERS.alice.oid, utid: TENANT_ID });

  first = await app.acquireTokenByCode(
    { code, scopes: SCOPES, redirectUri: REDIRECT_URI, codeVerifier: verifier, nonce, state },
    { code, state: params.get("state"), client_info: params.get("client_info") },
  );
  assert.ok(first?.accessToken, "msal-node returned no access token");
  assert.equal(first.fromCache, false);
  assert.ok(first.scopes.includes(API_SCOPE), `scopes: ${first.scopes}`);

  // The account msal-node built (from client_info and the ID token).
  assert.equal(first.account.homeAccountId, `${USERS.alice.oid}.${TENANT_ID}`);
  assert.equal(first.account.localAccountId, USERS.alice.oid);
  assert.equal(first.account.tenantId, TENANT_ID);
  assert.equal(first.account.environment, KNOWN_AUTHORITY);
  assert.equal(first.account.username, USERS.alice.username);

  assertAliceAccessToken(first.accessToken);

  // The ID token is for the CLI app, not the API.
  assert.ok(first.idToken, "an ID token comes with the code redemption (openid is always requested)");
  const id = claimsOf(first.idToken);
  assert.equal(id.aud, CLI);
  assert.equal(id.iss, ISSUER);
  assert.equal(id.tid, TENANT_ID);
  assert.equal(id.ver, "2.0");
  assert.equal(id.nonce, nonce);
  assert.equal(id.oid, USERS.alice.oid);
  assert.equal(id.preferred_username, USERS.alice.username);
  assert.equal(id.sid, params.get("session_state"), "sid is the sign-in session (MSAL uses it for SSO/logout)");
  assert.equal(id.scp, undefined, "ID tokens carry no scp");
  assert.equal(id.azp, undefined, "ID tokens carry no azp");

  // The API must refuse it, whatever audience it expects.
  for (const audience of [API, CLI]) {
    const check = tokenCheck(first.idToken, { audience });
    assert.equal(check.status, 1, `rolegate token check --audience ${audience} accepted the ID token`);
    assert.equal(check.result.valid, false);
    const codes = check.result.errors.map((e) => e.code);
    assert.ok(
      check.result.token_kind === "id_token" || codes.includes("id_token_not_accepted") || codes.includes("invalid_audience"),
      `refused, but not for being an ID token: ${JSON.stringify(check.result)}`,
    );
  }
  const sameAudience = tokenCheck(first.idToken, { audience: CLI });
  assert.ok(sameAudience.result.errors.some((e) => e.code === "id_token_not_accepted"),
    `with its own aud it is refused as an ID token: ${JSON.stringify(sameAudience.result.errors)}`);
});

test("acquireTokenSilent: from the cache, then forceRefresh (refresh-token grant) gives a new valid access token", { timeout: 60_000 }, async () => {
  assert.ok(first?.account, "needs the account signed in by the auth-code test above (it failed)");
  const [account] = await app.getAllAccounts();
  assert.equal(account?.homeAccountId, first.account.homeAccountId);

  const cached = await app.acquireTokenSilent({ account, scopes: SCOPES });
  assert.equal(cached.fromCache, true);
  assert.equal(cached.accessToken, first.accessToken);

  const refreshTokens = () => Object.values(JSON.parse(app.getTokenCache().serialize()).RefreshToken ?? {});
  assert.equal(refreshTokens().length, 1, "msal-node cached the refresh token of the code redemption");

  const refreshed = await app.acquireTokenSilent({ account, scopes: SCOPES, forceRefresh: true });
  assert.equal(refreshed.fromCache, false, "forceRefresh goes to the token endpoint");
  assert.notEqual(refreshed.accessToken, first.accessToken);
  assert.equal(refreshed.account.homeAccountId, first.account.homeAccountId);
  assertAliceAccessToken(refreshed.accessToken);
  assert.equal(refreshTokens().length, 1, "still one refresh token in the cache");
});
