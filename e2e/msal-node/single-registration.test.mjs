// Microsoft's app-roles sample pattern with msal-node: ONE registration is
// both the client and the API, and the client asks for a token for itself by
// App ID URI (`api://<its own client id>/access_as_user`). Entra accepts that
// sign-in; it refuses (AADSTS90009) a later refresh that names no resource
// scope — what MSAL.js 2.x sent — and accepts it when the scope is written out
// or when the family was started with the GUID form (`<client id>/scope`).
//
// This file starts its own `rolegate idp` (short access tokens, so that they
// really expire) with the demo tenant's single registration plus a loopback
// public-client redirect URI (e2e/single-registration.mjs). It serves the TLS
// certificate of the shared provider of e2e/run.sh, so NODE_EXTRA_CA_CERTS
// already trusts it. Every token request msal-node makes goes through the
// global fetch (msal-node 7's HttpClient); the test wraps fetch to record the
// bodies, and msal-node itself is unmodified and unconfigured beyond
// knownAuthorities.
//
// The tests run in order and share the provider and the signed-in account.

import test, { after, before } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CryptoProvider, PublicClientApplication } from "@azure/msal-node";
import { CA_FILE, ROLEGATE, TENANT_ID, USERS, claimsOf, msalSystem, signIn, tokenCheck } from "./helpers.mjs";
import { OIDC_ONLY, SINGLE, SINGLE_SCOPE_GUID, SINGLE_SCOPE_URI, singleRegistrationTenant } from "../single-registration.mjs";

const OUT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "out");
const LIFETIME = 8; // --access-token-lifetime, seconds
const STARTUP_TIMEOUT_MS = Number(process.env.E2E_STARTUP_TIMEOUT || 60) * 1000;
const HTTP_TIMEOUT_MS = 15_000;
const REDIRECT_URI = "http://localhost:3999/"; // a registered loopback URI (http://localhost, any port)

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------ what msal-node sends
/** Every POST to a token endpoint: { grantType, scope, params }. */
const tokenRequests = [];
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init = {}) => {
  const url = String(input instanceof Request ? input.url : input);
  if (url.includes("/oauth2/v2.0/token") && typeof init.body === "string") {
    const params = new URLSearchParams(init.body);
    tokenRequests.push({ grantType: params.get("grant_type"), scope: params.get("scope"), params });
  }
  return realFetch(input, init);
};
const refreshRequests = () => tokenRequests.filter((r) => r.grantType === "refresh_token");

// ------------------------------------------------------------ the provider
let provider; // { child, authority, dataDir, stop }

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startProvider() {
  const tls = path.dirname(CA_FILE); // the shared provider's <data dir>/tls
  for (const f of ["server.pem", "server-key.pem"]) {
    assert.ok(fs.existsSync(path.join(tls, f)), `no ${f} next to ${CA_FILE}: the shared provider's TLS files moved`);
  }
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const logPath = path.join(OUT_DIR, "idp-single-registration.log");
  for (let attempt = 1; attempt <= 3; attempt++) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "rolegate-e2e-single."));
    const tenant = path.join(dataDir, "tenant.toml");
    fs.writeFileSync(tenant, singleRegistrationTenant({ publicClient: ["http://localhost"] }));
    const port = await freePort();
    const log = fs.openSync(logPath, "w");
    const child = spawn(ROLEGATE, ["idp", "--config", tenant, "--data-dir", dataDir, "--listen", `127.0.0.1:${port}`,
      "--tls-cert", path.join(tls, "server.pem"), "--tls-key", path.join(tls, "server-key.pem"),
      "--access-token-lifetime", String(LIFETIME)], { stdio: ["ignore", log, log] });
    fs.closeSync(log);
    let exited = null;
    child.once("exit", (code, signal) => { exited = { code, signal }; });
    const stop = async () => {
      if (exited === null) {
        child.kill("SIGTERM");
        for (let i = 0; i < 50 && exited === null; i++) await sleep(100);
        if (exited === null) child.kill("SIGKILL");
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    };
    const authority = `https://localhost:${port}/${TENANT_ID}`;
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    while (Date.now() < deadline && exited === null) {
      try {
        const r = await realFetch(`${authority}/v2.0/.well-known/openid-configuration`, { signal: AbortSignal.timeout(2_000) });
        if (r.ok) return { child, port, authority, dataDir, stop };
      } catch { /* not up yet */ }
      await sleep(250);
    }
    await stop();
    if (exited === null) throw new Error(`rolegate idp did not answer within ${STARTUP_TIMEOUT_MS / 1000}s; log: ${logPath}`);
    console.error(`[single-registration] rolegate idp exited during start-up (attempt ${attempt}): ${fs.readFileSync(logPath, "utf8")}`);
  }
  throw new Error("rolegate idp could not start (3 attempts)");
}

before(async () => { provider = await startProvider(); }, { timeout: STARTUP_TIMEOUT_MS * 3 + 10_000 });
after(async () => { await provider?.stop(); }, { timeout: 15_000 });
process.on("exit", () => { try { provider?.child.kill("SIGKILL"); } catch { /* gone */ } });

// ------------------------------------------------------------ helpers
const crypto = new CryptoProvider();

function newApp() {
  return new PublicClientApplication({
    auth: { clientId: SINGLE, authority: provider.authority, knownAuthorities: [`localhost:${provider.port}`] },
    system: msalSystem,
  });
}

/** Auth code + PKCE as alice for `scopes`, the way the auth-code-pkce test does it. */
async function signInAlice(app, scopes) {
  const { verifier, challenge } = await crypto.generatePkceCodes();
  const state = crypto.createNewGuid();
  const nonce = crypto.createNewGuid();
  const authUrl = await app.getAuthCodeUrl({ scopes, redirectUri: REDIRECT_URI, codeChallenge: challenge, codeChallengeMethod: "S256", state, nonce });
  assert.ok(new URL(authUrl).searchParams.get("scope").split(" ").includes(scopes[0]), authUrl);
  const redirect = await signIn(authUrl, USERS.alice);
  const q = redirect.searchParams;
  assert.equal(q.get("error"), null, `the provider refused the sign-in: ${redirect}`);
  assert.equal(q.get("state"), state);
  return app.acquireTokenByCode(
    { code: q.get("code"), scopes, redirectUri: REDIRECT_URI, codeVerifier: verifier, nonce, state },
    { code: q.get("code"), state, client_info: q.get("client_info") },
  );
}

/** A self-token: aud = azp = the single registration's client id (v2), scp, alice's role on that app. */
function assertSelfToken(token) {
  const c = claimsOf(token);
  assert.equal(c.aud, SINGLE, "v2 access token for itself: aud is the client id GUID, whatever form the scope had");
  assert.equal(c.azp, SINGLE, "azp: the same app asked");
  assert.equal(c.ver, "2.0");
  assert.equal(c.iss, `${provider.authority}/v2.0`);
  assert.equal(c.tid, TENANT_ID);
  assert.equal(c.scp, "access_as_user");
  assert.deepEqual(c.roles, ["Orders.Admin"], "alice's role on the app itself");
  assert.equal(c.oid, USERS.alice.oid);
  const check = tokenCheck(token, { authority: provider.authority, audience: SINGLE, requireRole: "Orders.Admin" });
  assert.equal(check.status, 0, `rolegate token check --audience ${SINGLE} refused it: ${JSON.stringify(check.result.errors)}`);
  assert.equal(check.result.authorized, true);
  return c;
}

function cachedRefreshToken(app) {
  const tokens = Object.values(JSON.parse(app.getTokenCache().serialize()).RefreshToken ?? {});
  assert.equal(tokens.length, 1, "msal-node holds one refresh token");
  return tokens[0].secret;
}

/** A refresh-token grant by hand (no MSAL): { status, body }. */
async function rawRefresh(refreshToken, scope) {
  const form = { grant_type: "refresh_token", client_id: SINGLE, refresh_token: refreshToken };
  if (scope !== undefined) form.scope = scope;
  const r = await realFetch(`${provider.authority}/oauth2/v2.0/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form),
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  return { status: r.status, body: await r.json() };
}

function assert90009(answer, what) {
  assert.equal(answer.status, 400, `${what}: ${JSON.stringify(answer.body)}`);
  assert.equal(answer.body.error, "invalid_request", what);
  assert.deepEqual(answer.body.error_codes, [90009], what);
  assert.match(answer.body.error_description,
    new RegExp(`^AADSTS90009: Application '${SINGLE}'\\(.+\\) is requesting a token for itself\\. This scenario is supported only if resource is specified using the GUID based App Identifier\\.`),
    what);
  assert.equal(answer.body.access_token, undefined);
}

// ------------------------------------------------------------ the tests
let app; // created once the provider is up (first test)
let first; // the sign-in's AuthenticationResult
let afterExpiry; // the renewal's AuthenticationResult

test("one registration for client and API: msal-node signs alice in with api://<own client id>/access_as_user and gets a token for itself", { timeout: 60_000 }, async () => {
  app = newApp();
  first = await signInAlice(app, [SINGLE_SCOPE_URI]);
  assert.equal(first.fromCache, false);
  assert.ok(first.scopes.includes(SINGLE_SCOPE_URI), `scopes: ${first.scopes}`);
  assertSelfToken(first.accessToken);
  // Requested by App ID URI, but a v2 token carries the GUID: an API that accepts only the URI refuses it, and says why.
  const byUri = tokenCheck(first.accessToken, { authority: provider.authority, audience: `api://${SINGLE}` });
  assert.equal(byUri.status, 1, "aud is the GUID, not the App ID URI the client asked for");
  const audience = byUri.result.errors.find((e) => e.code === "invalid_audience");
  assert.ok(audience, JSON.stringify(byUri.result.errors));
  assert.match(audience.hint, new RegExp(`add ${SINGLE} to the accepted audiences`));
  const [redemption] = tokenRequests.filter((r) => r.grantType === "authorization_code");
  assert.ok(redemption, "msal-node redeemed the code");
  assert.ok(redemption.scope.split(" ").includes(SINGLE_SCOPE_URI), `code redemption scope: ${redemption.scope}`);
  assert.equal(claimsOf(first.idToken).aud, SINGLE, "the ID token is for the same app");
});

test("after the access token expired, acquireTokenSilent renews it with the refresh token; msal-node names the resource scope", { timeout: 60_000 }, async (t) => {
  assert.ok(first?.account, "needs the sign-in of the test above (it failed)");
  const exp = claimsOf(first.accessToken).exp;
  assert.ok(exp - Math.floor(Date.now() / 1000) <= LIFETIME, `the access token lives ${LIFETIME}s`);
  await sleep(Math.max(0, exp * 1000 - Date.now()) + 1_500);
  const expired = tokenCheck(first.accessToken, { authority: provider.authority, audience: SINGLE, clockSkew: 0 });
  assert.equal(expired.status, 1, "the first access token has expired");
  assert.ok(expired.result.errors.some((e) => /expired/.test(`${e.code} ${e.message}`)), JSON.stringify(expired.result.errors));

  const before = refreshRequests().length;
  afterExpiry = await app.acquireTokenSilent({ account: first.account, scopes: [SINGLE_SCOPE_URI] });
  assert.equal(afterExpiry.fromCache, false, "an expired token is not served from the cache");
  assert.notEqual(afterExpiry.accessToken, first.accessToken);
  assertSelfToken(afterExpiry.accessToken);
  assert.ok(claimsOf(afterExpiry.accessToken).exp > exp);

  const sent = refreshRequests().slice(before);
  assert.equal(sent.length, 1, "one refresh-token grant");
  const scopes = sent[0].scope.split(" ");
  t.diagnostic(`msal-node refresh scope: "${sent[0].scope}"`);
  assert.ok(scopes.includes(SINGLE_SCOPE_URI), `msal-node names the resource scope on refresh: "${sent[0].scope}"`);
  for (const s of OIDC_ONLY.split(" ")) assert.ok(scopes.includes(s), `and adds ${s}: "${sent[0].scope}"`);
  assert.equal(sent[0].params.get("client_id"), SINGLE);
});

test("a raw refresh naming no resource scope (as MSAL.js 2.x sent it) is refused with AADSTS90009; the same refresh token then works with the scope written out", { timeout: 60_000 }, async () => {
  assert.ok(afterExpiry, "needs the renewal of the test above (it failed)");
  const rt = cachedRefreshToken(app); // the newest one, from the renewal
  assert90009(await rawRefresh(rt, OIDC_ONLY), `scope=${OIDC_ONLY}`);
  assert90009(await rawRefresh(rt), "no scope parameter");

  const fixed = await rawRefresh(rt, `${SINGLE_SCOPE_URI} ${OIDC_ONLY}`);
  assert.equal(fixed.status, 200, `the refused refreshes did not spend the refresh token: ${JSON.stringify(fixed.body)}`);
  assertSelfToken(fixed.body.access_token);
  assert.ok(fixed.body.refresh_token, "a new refresh token");
});

test("a family started with the GUID form (<client id>/access_as_user) refreshes without naming a resource scope", { timeout: 60_000 }, async () => {
  const guidApp = newApp(); // its own cache
  const signedIn = await signInAlice(guidApp, [SINGLE_SCOPE_GUID]);
  assertSelfToken(signedIn.accessToken);

  const refreshed = await rawRefresh(cachedRefreshToken(guidApp), OIDC_ONLY);
  assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
  const c = assertSelfToken(refreshed.body.access_token);
  assert.ok(c.exp >= claimsOf(signedIn.accessToken).exp, "a new token for the family's resource");
  assert.notEqual(refreshed.body.access_token, signedIn.accessToken);
});
