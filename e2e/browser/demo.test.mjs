// The demo app (crates/demo/assets/, served by `rolegate demo` under /demo/) in
// Debian's headless Chromium, driven by playwright-core: sign-in through the
// provider's page (code + PKCE), the two token panes, API calls with the
// access token and with the ID token, sign-out, silent renewal, the
// self-request trap (AADSTS90009: a refresh naming no resource scope, in the
// single-registration variant that names itself by App ID URI) and the daemon
// tab. One `rolegate demo` (access tokens live 20 s) serves every test; each
// test has its own browser context (cookies, sessionStorage).
//
// Run: bash e2e/browser/run.sh (or, after `cargo build -p rolegate` and
// `npm ci` in e2e/: node --test e2e/browser/*.test.mjs).
// Environment: ROLEGATE_E2E_BIN (default target/debug/rolegate), CHROMIUM
// (default /usr/bin/chromium), E2E_STARTUP_TIMEOUT (seconds, default 60).
// The demo's log: e2e/out/browser-demo.log.

import test, { after, before } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import {
  API, DAEMON, OUT_DIR, SINGLE, SPA, TENANT_ID, USERS,
  callApi, diffRows, launchBrowser, newPage, openApp, panelClaims, signIn, startDemo,
} from "./helpers.mjs";

const TEST_TIMEOUT_MS = 120_000;
const LIFETIME = 20; // --access-token-lifetime, seconds

let demo;
let browser;

before(async () => {
  demo = await startDemo({ accessTokenLifetime: LIFETIME });
  browser = await launchBrowser();
}, { timeout: 120_000 });

after(async () => {
  await browser?.close().catch(() => {});
  await demo?.stop();
});

/**
 * Runs `body` with a fresh page; checks the page had no errors or CSP
 * violations. On failure the page is saved as e2e/out/browser-failure-<n>.png.
 */
let failures = 0;
async function withPage(body) {
  const { context, page } = await newPage(browser);
  try {
    await body(page);
    assert.deepEqual(page.problems, [], "page errors or CSP violations");
  } catch (e) {
    const file = path.join(OUT_DIR, `browser-failure-${++failures}.png`);
    await page.screenshot({ path: file, fullPage: true, timeout: 10_000 }).then(() => console.error(`screenshot: ${file} (${page.url()})`), () => {});
    throw e;
  } finally {
    await context.close().catch(() => {});
  }
}

const session = (page) => page.evaluate(() => JSON.parse(sessionStorage.getItem("rolegate.session") || "null"));

test("admin: both token panes, then GET /orders with the access token shows the admin view", { timeout: TEST_TIMEOUT_MS }, () =>
  withPage(async (page) => {
    await signIn(page, demo.base, USERS.alice);
    assert.equal(await page.textContent("#signed-in-as"), USERS.alice.upn);
    // The code and state are gone from the address bar.
    assert.equal(page.url(), `${demo.base}/demo/`);
    const stored = await session(page);
    assert.ok(stored.accessToken && stored.idToken && stored.refreshToken, "tokens are kept in sessionStorage");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("rolegate.pending")), null, "PKCE verifier/state/nonce are dropped after use");

    const id = await panelClaims(page, "#id-token-panel");
    const access = await panelClaims(page, "#access-token-panel");
    assert.match(id.aud, new RegExp(SPA), "the ID token is for the SPA");
    assert.ok(id.nonce, "the ID token carries the nonce");
    assert.equal(id.scp, undefined);
    assert.equal(id.azp, undefined);
    assert.match(access.aud, new RegExp(API), "the access token is for the API");
    assert.match(access.scp, /access_as_user/);
    assert.match(access.azp, new RegExp(SPA));
    assert.match(access.roles, /Orders\.Admin/);
    assert.equal(access.nonce, undefined);
    for (const claim of ["aud", "nonce"]) assert.ok((await diffRows(page, "#id-token-panel")).includes(claim), `ID token ${claim} highlighted`);
    for (const claim of ["aud", "scp", "azp", "roles"]) assert.ok((await diffRows(page, "#access-token-panel")).includes(claim), `access token ${claim} highlighted`);
    const rawShown = await page.textContent("#access-token-panel pre.jwt");
    assert.equal(rawShown, stored.accessToken, "the raw access token is shown");
    assert.match(await page.textContent("#diff-note"), /APIs must refuse ID tokens/);

    const r = await callApi(page, "GET /orders", "access");
    assert.equal(r.status, "200", JSON.stringify(r));
    assert.equal(r.view, "admin");
    assert.ok(r.orderRows >= 4, "the orders table lists the seeded orders");
    assert.match(await page.textContent("#orders-totals"), /customers/);
    assert.equal(r.wwwAuthenticate, "—");
    assert.match(r.request, /GET.*\/api\/orders.*access token/);

    const me = await callApi(page, "GET /me", "access");
    assert.equal(me.status, "200");
    assert.equal(me.body.preferred_username, USERS.alice.upn);
  }));

test("reader: GET /orders shows the reader view; POST /orders is 403 missing_role", { timeout: TEST_TIMEOUT_MS }, () =>
  withPage(async (page) => {
    await signIn(page, demo.base, USERS.bob);
    const get = await callApi(page, "GET /orders", "access");
    assert.equal(get.status, "200", JSON.stringify(get));
    assert.equal(get.view, "reader");

    const post = await callApi(page, "POST /orders", "access");
    assert.equal(post.status, "403", JSON.stringify(post));
    assert.match(post.wwwAuthenticate, /insufficient_scope/);
    assert.equal(post.body.code, "missing_role");
    assert.match(post.explanation, /missing_role/);
    assert.match(post.explanation, /app role/);
  }));

test("no role: carol's GET /orders is 403", { timeout: TEST_TIMEOUT_MS }, () =>
  withPage(async (page) => {
    await signIn(page, demo.base, USERS.carol);
    assert.equal((await panelClaims(page, "#access-token-panel")).roles, undefined, "carol's access token has no roles");
    const r = await callApi(page, "GET /orders", "access");
    assert.equal(r.status, "403", JSON.stringify(r));
    assert.match(r.wwwAuthenticate, /insufficient_scope/);
    assert.equal(r.body.code, "missing_role");
    assert.ok(r.explanation);
  }));

test("the ID token is refused: invalid_audience (two registrations), id_token_not_accepted (one registration)", { timeout: TEST_TIMEOUT_MS }, () =>
  withPage(async (page) => {
    // Two registrations: the ID token's aud is the SPA, not the API.
    await signIn(page, demo.base, USERS.alice, "separate");
    const separate = await callApi(page, "GET /me", "id");
    assert.equal(separate.status, "401", JSON.stringify(separate));
    assert.match(separate.wwwAuthenticate, /error="invalid_token"/);
    assert.equal(separate.body.code, "invalid_audience");
    assert.match(separate.explanation, /ID token/);
    assert.match(separate.request, /ID token/);

    // One registration: aud is the API and roles are there, and still 401.
    await signIn(page, demo.base, USERS.alice, "single");
    assert.match(await page.textContent("#session-variant"), /single/);
    const id = await panelClaims(page, "#id-token-panel");
    assert.match(id.aud, new RegExp(SINGLE), "the ID token's aud is the (single) API registration");
    assert.match(id.roles, /Orders\.Admin/, "the ID token carries roles");
    const single = await callApi(page, "GET /me", "id");
    assert.equal(single.status, "401", JSON.stringify(single));
    assert.match(single.wwwAuthenticate, /error="invalid_token"/);
    assert.equal(single.body.code, "id_token_not_accepted");
    assert.match(single.explanation, /id_token_not_accepted/);
    assert.match(single.explanation, /ID token/);
    const orders = await callApi(page, "GET /orders", "id");
    assert.equal(orders.status, "401");
    assert.equal(orders.body.code, "id_token_not_accepted");
    // The access token of the same registration works.
    const ok = await callApi(page, "GET /orders", "access");
    assert.equal(ok.status, "200", JSON.stringify(ok));
    assert.equal(ok.view, "admin");
  }));

test("sign-out clears the tokens and ends the provider session", { timeout: TEST_TIMEOUT_MS }, () =>
  withPage(async (page) => {
    // prompt=none succeeds only with a provider session; the app's own
    // authorize parameters are not needed for that check.
    const promptNone = new URLSearchParams({
      client_id: SPA, response_type: "code", redirect_uri: demo.config.redirectUri,
      scope: `api://${API}/access_as_user openid`, response_mode: "fragment", state: "probe", nonce: "probe",
      code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", code_challenge_method: "S256", prompt: "none",
    });
    const probeUrl = `${demo.config.authority}/oauth2/v2.0/authorize?${promptNone}`;

    await signIn(page, demo.base, USERS.alice);
    // Control: with the session, prompt=none returns a code (the app refuses
    // to redeem it: the state is not one it sent).
    const probe = await page.context().newPage();
    const seen = [];
    probe.on("framenavigated", (f) => { if (f === probe.mainFrame()) seen.push(f.url()); });
    await probe.goto(probeUrl);
    await probe.waitForSelector("body.ready");
    assert.ok(seen.some((u) => u.includes("#code=")), `SSO answered with a code: ${seen.join(" ")}`);
    assert.match(await probe.textContent("#auth-error"), /state_mismatch/);
    await probe.close();

    await page.click("#sign-out");
    await page.waitForURL((u) => u.pathname === "/demo/" && u.origin === demo.base);
    await page.waitForSelector("body.ready");
    assert.equal(await page.textContent("#signed-in-as"), "Not signed in");
    assert.equal(await session(page), null);
    assert.equal(await page.locator("#id-token-panel tr[data-claim]").count(), 0, "no token is shown");
    assert.ok(await page.isDisabled('button[data-call="GET /orders"][data-token="access"]'));

    // The provider's session is gone: prompt=none now fails with login_required.
    await page.goto(probeUrl);
    await page.waitForSelector("body.ready");
    const error = await page.textContent("#auth-error");
    assert.match(error, /login_required|interaction_required/, error);
    assert.match(error, /AADSTS\d+/, "the AADSTS text is shown");
    assert.equal(new URL(page.url()).hash, "", "the error fragment is cleared");

    // And signing in shows the provider's sign-in page again.
    await page.click("#sign-in");
    await page.waitForSelector("#password");
    assert.match(page.url(), /\/oauth2\/v2\.0\/authorize/);
  }));

test("silent renewal: an expired access token is renewed with the refresh token, without navigation", { timeout: TEST_TIMEOUT_MS }, () =>
  withPage(async (page) => {
    await signIn(page, demo.base, USERS.alice);
    const url = page.url();
    const first = await session(page);
    const navigations = [];
    page.on("framenavigated", (f) => { if (f === page.mainFrame()) navigations.push(f.url()); });

    await page.waitForTimeout((LIFETIME + 5) * 1000); // the access token has now expired
    assert.match(await page.textContent("#access-token-panel [data-expiry]"), /expired/);
    const r = await callApi(page, "GET /orders", "access");
    assert.equal(r.status, "200", JSON.stringify(r));
    assert.ok(Number(await page.textContent("#renewals")) >= 1, "renewal counted");
    assert.match(await page.textContent("#renew-status"), /renewed silently at/);

    const renewed = await session(page);
    assert.notEqual(renewed.accessToken, first.accessToken, "a new access token");
    assert.notEqual(renewed.refreshToken, first.refreshToken, "the rotated refresh token replaced the old one");
    assert.equal(await page.textContent("#access-token-panel pre.jwt"), renewed.accessToken, "the pane shows the new token");
    assert.deepEqual(navigations, [], "no navigation happened");
    assert.equal(page.url(), url);
    assert.equal(await page.locator("#password").count(), 0, "no sign-in page");

    // A second renewal uses the rotated refresh token (reusing the old one would revoke the family).
    await page.waitForTimeout((LIFETIME / 2 + 1) * 1000);
    const again = await callApi(page, "GET /me", "access");
    assert.equal(again.status, "200", JSON.stringify(again));
    assert.ok(Number(await page.textContent("#renewals")) >= 2);
  }));

test("a failed renewal says why and offers sign-in (reusing a rotated refresh token revokes the family)", { timeout: TEST_TIMEOUT_MS }, () =>
  withPage(async (page) => {
    await signIn(page, demo.base, USERS.bob);
    // Pretend the access token expired (rather than wait): the next call renews.
    const expire = (refreshToken) => page.evaluate((rt) => {
      const s = JSON.parse(sessionStorage.getItem("rolegate.session"));
      s.expiresAt = 0;
      if (rt) s.refreshToken = rt;
      sessionStorage.setItem("rolegate.session", JSON.stringify(s));
    }, refreshToken);
    const first = await session(page);
    await expire();
    await page.reload();
    await page.waitForSelector("body.ready");
    const renewed = await callApi(page, "GET /orders", "access");
    assert.equal(renewed.status, "200", JSON.stringify(renewed));
    assert.equal(await page.textContent("#renewals"), "1");
    const second = await session(page);

    // Put the first (already rotated) refresh token back: the provider treats
    // the reuse as theft and refuses it.
    await expire(first.refreshToken);
    await page.reload();
    await page.waitForSelector("body.ready");
    const r = await callApi(page, "GET /orders", "access");
    assert.equal(r.status, "—", "the call is not sent with an expired token");
    const status = await page.textContent("#renew-status");
    assert.match(status, /failed/);
    assert.match(status, /invalid_grant/);
    assert.match(status, /AADSTS\d+/);
    assert.ok(await page.isVisible("#renew-sign-in"), "sign-in is offered");
    assert.equal((await session(page)).refreshToken, null, "the refused refresh token is dropped");
    // The whole family is revoked: the newest refresh token is refused too.
    const newest = await page.evaluate(async ({ url, clientId, scope, rt }) => {
      const res = await fetch(url, { method: "POST", body: new URLSearchParams({ grant_type: "refresh_token", client_id: clientId, refresh_token: rt, scope }) });
      return { status: res.status, body: await res.json() };
    }, { url: `${demo.config.authority}/oauth2/v2.0/token`, clientId: SPA, scope: `${demo.config.variants.separate.scope} openid profile offline_access`, rt: second.refreshToken });
    assert.equal(newest.status, 400, JSON.stringify(newest));
    assert.equal(newest.body.error, "invalid_grant");
    await page.click("#renew-sign-in");
    await page.waitForSelector("#password");
  }));

/**
 * Records the page's POSTs to the token endpoint: [{ params, status, body }]
 * (status and body arrive with the response).
 */
function recordTokenRequests(page) {
  const calls = [];
  page.on("request", (request) => {
    if (request.method() !== "POST" || !request.url().endsWith("/oauth2/v2.0/token")) return;
    const call = { params: new URLSearchParams(request.postData() ?? ""), status: null, body: null };
    calls.push(call);
    request.response().then(async (response) => {
      if (!response) return;
      call.body = await response.json().catch(() => null);
      call.status = response.status();
    }, () => {});
  });
  return calls;
}

/** Waits (bounded) until every recorded token request has its response. */
async function answered(page, calls) {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline && calls.some((c) => c.status === null)) await page.waitForTimeout(50);
  assert.ok(calls.every((c) => c.status !== null), "every token request was answered");
  return calls;
}

/** Presses "Refresh without the API scope" and returns what #refresh-trap-result shows. */
async function refreshWithoutScope(page) {
  await page.evaluate(() => { document.querySelector("#refresh-trap-result").textContent = ""; });
  await page.click("#refresh-without-scope");
  await page.waitForFunction(() => document.querySelector("#refresh-trap-result").textContent.trim() !== "");
  return {
    text: (await page.textContent("#refresh-trap-result")).trim(),
    failed: await page.$eval("#refresh-trap-result", (e) => e.classList.contains("failed")),
  };
}

test("one registration (App ID URI self-scope): a refresh naming no resource scope gets AADSTS90009 and the fix, spends nothing, and normal renewal still works", { timeout: TEST_TIMEOUT_MS }, () =>
  withPage(async (page) => {
    const authorizeScopes = [];
    page.on("request", (r) => {
      const u = new URL(r.url());
      if (u.pathname.endsWith("/oauth2/v2.0/authorize")) authorizeScopes.push(u.searchParams.get("scope"));
    });
    const tokenCalls = recordTokenRequests(page);
    const selfScope = `api://${SINGLE}/access_as_user`;

    await signIn(page, demo.base, USERS.alice, "single");
    assert.ok(authorizeScopes.length >= 1 && authorizeScopes.every((s) => s.split(" ").includes(selfScope)),
      `the single variant asks for itself by App ID URI: ${JSON.stringify(authorizeScopes)}`);
    const access = await panelClaims(page, "#access-token-panel");
    assert.match(access.aud, new RegExp(SINGLE), "a token for itself: aud is its client id");
    assert.match(access.azp, new RegExp(SINGLE));
    assert.match(access.roles, /Orders\.Admin/);
    const ok = await callApi(page, "GET /orders", "access");
    assert.equal(ok.status, "200", JSON.stringify(ok));
    assert.equal(ok.view, "admin");

    const signedIn = await session(page);
    const before = tokenCalls.length;
    const trap = await refreshWithoutScope(page);
    assert.equal(trap.failed, true, trap.text);
    assert.match(trap.text, /AADSTS90009/);
    assert.match(trap.text, /by App ID URI/);
    assert.match(trap.text, /send the resource scope on every refresh/, "the fix");
    assert.ok(trap.text.includes(selfScope), `names the scope to send: ${trap.text}`);
    assert.ok(trap.text.includes(`(${SINGLE}/access_as_user)`), `names the GUID form: ${trap.text}`);
    assert.match(trap.text, /The refresh token was not spent/);
    const [refused] = (await answered(page, tokenCalls)).slice(before);
    assert.equal(refused.params.get("grant_type"), "refresh_token");
    assert.equal(refused.params.get("scope"), "openid profile offline_access", "as MSAL.js 2.x sent it");
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal(refused.body.error, "invalid_request");
    assert.deepEqual(refused.body.error_codes, [90009]);
    assert.equal((await session(page)).refreshToken, signedIn.refreshToken, "the app keeps the refresh token");

    // The normal renewal (the app sends its scope) with that same refresh token.
    await page.evaluate(() => {
      const s = JSON.parse(sessionStorage.getItem("rolegate.session"));
      s.expiresAt = 0;
      sessionStorage.setItem("rolegate.session", JSON.stringify(s));
    });
    await page.reload();
    await page.waitForSelector("body.ready");
    const renewedCall = await callApi(page, "GET /orders", "access");
    assert.equal(renewedCall.status, "200", JSON.stringify(renewedCall));
    assert.equal(await page.textContent("#renewals"), "1");
    const renewal = (await answered(page, tokenCalls)).at(-1);
    assert.equal(renewal.params.get("refresh_token"), signedIn.refreshToken, "the refused refresh token was not spent");
    assert.ok(renewal.params.get("scope").split(" ").includes(selfScope), renewal.params.get("scope"));
    assert.equal(renewal.status, 200, JSON.stringify(renewal.body));
    const renewed = await session(page);
    assert.notEqual(renewed.accessToken, signedIn.accessToken);
    assert.notEqual(renewed.refreshToken, signedIn.refreshToken, "rotated");
    assert.match((await panelClaims(page, "#access-token-panel")).aud, new RegExp(SINGLE));
  }));

test("two registrations: the same refresh without a resource scope succeeds and continues the sign-in's resource", { timeout: TEST_TIMEOUT_MS }, () =>
  withPage(async (page) => {
    const tokenCalls = recordTokenRequests(page);
    await signIn(page, demo.base, USERS.alice, "separate");
    const signedIn = await session(page);
    const before = tokenCalls.length;
    const result = await refreshWithoutScope(page);
    assert.equal(result.failed, false, result.text);
    assert.match(result.text, /Refreshed without naming the API/);
    assert.ok(result.text.includes(`aud ${API}`), `the Orders API's token again: ${result.text}`);
    assert.doesNotMatch(result.text, /AADSTS/);
    const [call] = (await answered(page, tokenCalls)).slice(before);
    assert.equal(call.params.get("scope"), "openid profile offline_access");
    assert.equal(call.status, 200, JSON.stringify(call.body));
    assert.notEqual((await session(page)).refreshToken, signedIn.refreshToken, "the app keeps the rotated refresh token");
    const r = await callApi(page, "GET /orders", "access");
    assert.equal(r.status, "200", JSON.stringify(r));
  }));

test("a redirect whose state this tab did not send is not redeemed", { timeout: TEST_TIMEOUT_MS }, () =>
  withPage(async (page) => {
    await page.goto(`${demo.base}/demo/#code=forged&state=forged&session_state=x`);
    await page.waitForSelector("body.ready");
    assert.match(await page.textContent("#auth-error"), /state_mismatch/);
    assert.equal(await page.textContent("#signed-in-as"), "Not signed in");
    assert.equal(new URL(page.url()).hash, "");
  }));

test("daemon tab: app-only token with Orders.Read; GET /orders is the application view, POST is 403", { timeout: TEST_TIMEOUT_MS }, () =>
  withPage(async (page) => {
    await openApp(page, demo.base);
    await page.click("#tab-daemon");
    assert.equal(await page.getAttribute("#tab-daemon", "aria-selected"), "true");
    await page.click("#daemon-get-token");
    await page.waitForSelector('#daemon-token-panel tr[data-claim="roles"]');
    const claims = await panelClaims(page, "#daemon-token-panel");
    assert.match(claims.roles, /Orders\.Read/);
    assert.doesNotMatch(claims.roles, /Orders\.Admin/);
    assert.match(claims.aud, new RegExp(API));
    assert.match(claims.azp, new RegExp(DAEMON));
    assert.match(claims.idtyp, /app/);
    assert.equal(claims.scp, undefined);
    assert.match(claims.tid, new RegExp(TENANT_ID));

    const get = await callApi(page, "GET /orders", "daemon");
    assert.equal(get.status, "200", JSON.stringify(get));
    assert.equal(get.view, "application");
    assert.match(get.request, /daemon/);
    const post = await callApi(page, "POST /orders", "daemon");
    assert.equal(post.status, "403", JSON.stringify(post));
    assert.match(post.wwwAuthenticate, /insufficient_scope/);
    assert.equal(post.body.code, "missing_role");
  }));
