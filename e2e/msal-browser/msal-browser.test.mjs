// The UNMODIFIED @azure/msal-browser (npm, lib/msal-browser.min.js) in a real
// headless Chromium against `rolegate demo`:
//
//   http://localhost:5173/  (this folder's index.html + app.js, served by a
//   small node server started here; a registered SPA redirect URI of the
//   "Orders SPA" app)
//     -> loginRedirect: discovery, /authorize with PKCE (response_mode=fragment)
//     -> the provider's sign-in page: alice@contoso.test / alice-Passw0rd
//     -> back on the page: handleRedirectPromise redeems the code with a CORS
//        POST to the token endpoint
//     -> acquireTokenSilent (cache), acquireTokenSilent({forceRefresh:true})
//        (refresh-token grant over CORS from http://localhost:5173)
//     -> GET https://localhost:<port>/api/orders with the access token: 200, view admin
//
// Then Microsoft's single-registration app-roles pattern, against a second
// `rolegate demo` (10-second access tokens; the demo tenant whose "Orders
// (single registration)" app also lists http://localhost:5173/):
//     -> loginRedirect as that app with api://<its own client id>/access_as_user
//     -> a token for itself (aud = azp = its client id), accepted by the Orders API
//     -> the token expires; acquireTokenSilent renews it with the refresh token
//        (the test records and checks the `scope` msal-browser sends)
//
// Then multi-tenant, against `rolegate idp` serving examples/multi-tenant/'s
// FleetCo and Partner, with a multi-tenant "Fleet SPA" (this page) added to
// FleetCo and installed and admin-consented in Partner:
//     -> loginRedirect at https://localhost:<port>/organizations as bo@partner.test
//        (home-realm discovery by his domain on the sign-in page, no consent page)
//     -> the redirect result, msal-browser's account and the access token are
//        Partner's (tenantId, iss/tid), roles Fleet.Admin, scp Fleet.Read;
//        `rolegate token check --authority …/organizations --tenant-allow`
//        accepts Partner and refuses a FleetCo-only allow-list (tenant_not_allowed)
//     -> acquireTokenSilent from the cache, then forceRefresh at organizations:
//        still Partner
//
// Chromium comes from Debian (/usr/bin/chromium; run.sh installs it with
// apt-get); no browser is ever downloaded. Run: bash e2e/msal-browser/run.sh
// (or `node --test e2e/msal-browser/` after `cargo build -p rolegate` and
// `npm ci` in e2e/).
//
// Environment: ROLEGATE_E2E_BIN (default target/debug/rolegate),
// CHROMIUM (default /usr/bin/chromium), E2E_STARTUP_TIMEOUT (seconds, default 60).
//
// TLS: the provider's certificate is issued by the local CA it creates in its
// data folder. Chromium does not read a CA file from the command line: trusting
// it would mean importing it into an NSS database (~/.pki/nssdb, certutil from
// libnss3-tools), i.e. changing the machine's or user's trust store for a test.
// So the browser context sets ignoreHTTPSErrors — for this throw-away browser
// profile only. It changes nothing about what is tested: msal-browser still
// insists on an https authority (it never sees the certificate; the browser
// does), CORS is enforced exactly as with a trusted certificate, and the
// readiness probe and `rolegate token check` here verify the real chain
// against <data dir>/tls/ca.pem.
//
// When msal-browser fails, the test prints (and writes to
// e2e/out/msal-browser-diagnostics.txt) every request the browser made to the
// provider and the static server with status, CORS headers and token-endpoint
// bodies, the browser console, msal-browser's verbose log and the provider's
// stderr.

import test, { after, before } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { OIDC_ONLY, SINGLE, SINGLE_SCOPE_URI, singleRegistrationTenant } from "../single-registration.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const E2E = path.resolve(HERE, "..");
const ROOT = path.resolve(E2E, "..");
const OUT_DIR = path.join(E2E, "out");
const DIAGNOSTICS = path.join(OUT_DIR, "msal-browser-diagnostics.txt"); // written when a step fails
const TRACE = path.join(OUT_DIR, "msal-browser-trace.txt"); // every run: network, console, provider stderr

const ROLEGATE = process.env.ROLEGATE_E2E_BIN || path.join(ROOT, "target", "debug", "rolegate");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const STARTUP_TIMEOUT_MS = Number(process.env.E2E_STARTUP_TIMEOUT || 60) * 1000;
const STEP_TIMEOUT_MS = 20_000; // bound on every browser wait
const HTTP_TIMEOUT_MS = 5_000;

const TENANT_ID = "7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b";
const API = "8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c";
const API_SCOPE = `api://${API}/access_as_user`;
const SPA = "2732dc92-37da-4c7f-a87a-1900d556a951"; // "Orders SPA"
const ALICE = { username: "alice@contoso.test", password: "alice-Passw0rd", oid: "8d3c2b1a-0f9e-4d8c-b7a6-5e4f3a2b1c0d" };

// The SPA redirect URI registered for "Orders SPA" in the demo tenant: the port is fixed.
const APP_PORT = 5173;
const APP_ORIGIN = `http://localhost:${APP_PORT}`;
const REDIRECT_URI = `${APP_ORIGIN}/`;

const MSAL_BUNDLE = path.join(E2E, "node_modules", "@azure", "msal-browser", "lib", "msal-browser.min.js");
const MSAL_VERSION = JSON.parse(fs.readFileSync(path.join(E2E, "node_modules", "@azure", "msal-browser", "package.json"), "utf8")).version;

// ------------------------------------------------------------------ state
const dataDirs = []; // one per `rolegate demo` started; removed at the end
let provider; // the current one: { child, port, origin, authority, caPath, stderr: string[] }
let appConfig; // what the test page's /config.json answers
let appServers = [];
let browser;
let context;
let page;
const network = []; // what the browser sent and got
const consoleLines = [];

// ------------------------------------------------------------------ helpers
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function claimsOf(jwt) {
  const parts = String(jwt).split(".");
  if (parts.length !== 3) throw new Error(`not a compact JWS (${parts.length} segments): ${String(jwt).slice(0, 40)}…`);
  return JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** GET over TLS verified against the provider's local CA; resolves to the status (0 on any error). */
function probe(url, ca) {
  return new Promise((resolve) => {
    const req = https.get(url, { ca, timeout: HTTP_TIMEOUT_MS }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve(0));
  });
}

/**
 * Starts `rolegate demo` with a fresh data folder; `tenant` (TOML text), when
 * given, is written there first and replaces the built-in demo tenant.
 */
async function startProvider({ tenant, accessTokenLifetime } = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "rolegate-msal-browser."));
  dataDirs.push(dataDir);
  if (tenant) fs.writeFileSync(path.join(dataDir, "tenant.toml"), tenant);
  const extra = accessTokenLifetime ? ["--access-token-lifetime", String(accessTokenLifetime)] : [];
  return launch({
    name: "rolegate demo",
    argv: (port) => ["demo", "--data-dir", dataDir, "--port", String(port), ...extra],
    findCa: () => path.join(dataDir, "tls", "ca.pem"),
    readyPath: "/demo/config.json",
    authorityPath: `/${TENANT_ID}`,
  });
}

/**
 * Starts `rolegate idp` serving the tenant files `configs` (the first is the
 * default tenant) with a fresh data folder `dataDir`; ready once the
 * discovery document of `authorityPath` answers over TLS verified with the
 * local CA (`rolegate idp ca-path`).
 */
async function startIdp({ configs, dataDir, authorityPath }) {
  return launch({
    name: "rolegate idp",
    argv: (port) => ["idp", ...configs.flatMap((c) => ["--config", c]), "--data-dir", dataDir, "--listen", `127.0.0.1:${port}`],
    findCa: () => {
      const run = spawnSync(ROLEGATE, ["idp", "ca-path", "--data-dir", dataDir], { encoding: "utf8", timeout: 10_000 });
      return run.status === 0 ? run.stdout.trim() : null; // no CA until the provider has created it
    },
    readyPath: `${authorityPath}/v2.0/.well-known/openid-configuration`,
    authorityPath,
  });
}

/**
 * Runs `rolegate <argv(port)>` on a free port and waits (bounded) until
 * `readyPath` answers 200 over TLS verified with the CA that `findCa()` names.
 * A port taken between freePort() and the bind makes the child exit at once:
 * then another port is tried (3 attempts).
 */
async function launch({ name, argv, findCa, readyPath, authorityPath }) {
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const stderr = [];
    const child = spawn(ROLEGATE, argv(port), {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = once(child, "exit").then(([code, signal]) => ({ code, signal }));
    child.stdout.on("data", (d) => stderr.push(`[stdout] ${d}`));
    child.stderr.on("data", (d) => stderr.push(String(d)));
    const origin = `https://localhost:${port}`;
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    let gone = null;
    let caPath = null;
    exited.then((e) => { gone = e; });
    while (Date.now() < deadline && !gone) {
      caPath ??= findCa();
      if (caPath && fs.existsSync(caPath)) {
        const ca = fs.readFileSync(caPath);
        if ((await probe(`${origin}${readyPath}`, ca)) === 200) {
          return { child, exited, port, origin, authority: `${origin}${authorityPath}`, caPath, stderr };
        }
      }
      await sleep(250);
    }
    if (!gone) {
      child.kill("SIGKILL");
      throw new Error(`${name} did not answer ${origin}${readyPath} within ${STARTUP_TIMEOUT_MS / 1000}s:\n${stderr.join("")}`);
    }
    // Most likely the port was taken between freePort() and the bind: try another.
    console.error(`[msal-browser] ${name} exited during start-up (attempt ${attempt}, ${JSON.stringify(gone)}):\n${stderr.join("")}`);
  }
  throw new Error(`${name} could not start (3 attempts)`);
}

async function stopChild(child, exited) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGINT"); // rolegate demo stops cleanly on Ctrl-C
  const done = await Promise.race([exited, sleep(5_000).then(() => null)]);
  if (!done) {
    child.kill("SIGKILL");
    await Promise.race([exited, sleep(2_000)]);
  }
}

/** The static server of the test page: index.html, app.js, the msal-browser bundle and /config.json. */
function appHandler() {
  const files = {
    "/": { file: path.join(HERE, "index.html"), type: "text/html; charset=utf-8" },
    "/index.html": { file: path.join(HERE, "index.html"), type: "text/html; charset=utf-8" },
    "/app.js": { file: path.join(HERE, "app.js"), type: "text/javascript; charset=utf-8" },
    "/msal-browser.min.js": { file: MSAL_BUNDLE, type: "text/javascript; charset=utf-8" },
  };
  return (req, res) => {
    const { pathname } = new URL(req.url, APP_ORIGIN);
    const headers = { "cache-control": "no-store" };
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, headers).end();
      return;
    }
    if (pathname === "/config.json") {
      res.writeHead(200, { ...headers, "content-type": "application/json" }).end(JSON.stringify(appConfig));
      return;
    }
    const entry = files[pathname];
    if (!entry) {
      res.writeHead(404, { ...headers, "content-type": "text/plain" }).end("not found");
      return;
    }
    res.writeHead(200, { ...headers, "content-type": entry.type }).end(fs.readFileSync(entry.file));
  };
}

/** Listens on 127.0.0.1:5173 and [::1]:5173 (Chromium resolves localhost to both). */
async function startAppServer(config) {
  appConfig = config;
  const handler = appHandler();
  const listen = (host) => new Promise((resolve, reject) => {
    const server = http.createServer(handler);
    server.once("error", reject);
    server.listen(APP_PORT, host, () => resolve(server));
  });
  try {
    appServers.push(await listen("127.0.0.1"));
  } catch (e) {
    throw new Error(`cannot serve the test page on 127.0.0.1:${APP_PORT} (${e.code || e.message}); ` +
      `the port is fixed: ${REDIRECT_URI} is the SPA redirect URI registered for "Orders SPA" (and, in the second demo, for the single registration)`);
  }
  try {
    appServers.push(await listen("::1"));
  } catch (e) {
    if (e.code === "EADDRINUSE") throw new Error(`[::1]:${APP_PORT} is in use by another program`);
    // No IPv6 loopback on this machine: Chromium then only gets 127.0.0.1 for localhost.
  }
}

function redact(text) {
  return String(text ?? "").replace(/(password=)[^&]*/g, "$1<redacted>");
}

function recordNetwork(ctx) {
  ctx.on("request", (request) => {
    const entry = {
      method: request.method(),
      url: request.url(),
      resourceType: request.resourceType(),
      requestHeaders: null,
      postData: redact(request.postData()),
      status: null,
      responseHeaders: null,
      body: null,
      failure: null,
    };
    network.push(entry);
    request.allHeaders().then((h) => { entry.requestHeaders = h; }, () => {});
    request.response().then(async (response) => {
      if (!response) return;
      entry.status = response.status();
      entry.responseHeaders = await response.allHeaders().catch(() => response.headers());
      const url = new URL(entry.url);
      if (url.pathname.endsWith("/oauth2/v2.0/token") || url.pathname.includes("openid-configuration") || url.pathname.startsWith("/api/")) {
        entry.body = await response.text().catch((e) => `<body unavailable: ${e.message}>`);
      }
    }, () => {});
  });
  ctx.on("requestfailed", (request) => {
    const entry = network.findLast((e) => e.url === request.url() && e.method === request.method());
    if (entry) entry.failure = request.failure()?.errorText ?? "failed";
  });
}

function diagnostics() {
  const lines = [];
  lines.push(`msal-browser ${MSAL_VERSION}, provider ${provider?.origin ?? "(not started)"}`);
  lines.push("\n==== network (browser) ====");
  for (const e of network) {
    lines.push(`${e.method} ${e.url} [${e.resourceType}] -> ${e.status ?? "no response"}${e.failure ? ` FAILED: ${e.failure}` : ""}`);
    if (e.requestHeaders?.origin) lines.push(`    request origin: ${e.requestHeaders.origin}`);
    if (e.postData) lines.push(`    request body: ${e.postData.slice(0, 2000)}`);
    if (e.responseHeaders) {
      const interesting = Object.entries(e.responseHeaders)
        .filter(([k]) => k.startsWith("access-control-") || ["location", "content-type", "vary", "www-authenticate"].includes(k));
      for (const [k, v] of interesting) lines.push(`    < ${k}: ${String(v).slice(0, 500)}`);
    }
    if (e.body) lines.push(`    response body: ${e.body.slice(0, 3000)}`);
  }
  lines.push("\n==== browser console ====", ...consoleLines);
  lines.push("\n==== provider stderr ====", (provider?.stderr ?? []).join(""));
  return lines.join("\n");
}

async function pageDiagnostics() {
  if (!page || page.isClosed()) return "(no page)";
  try {
    return await page.evaluate(() => [
      `url: ${location.href}`,
      `state: ${document.body?.dataset.state}`,
      `error: ${document.getElementById("error")?.textContent ?? "(not the test page)"}`,
      "---- msal-browser log (last 80 lines) ----",
      ...(window.__msalLog ?? []).slice(-80),
      "---- page text ----",
      (document.body?.innerText ?? "").slice(0, 3000),
    ].join("\n"));
  } catch (e) {
    return `(page not readable: ${e.message})`;
  }
}

/** Runs a step; when it fails, prints and saves everything that explains why, then rethrows. */
async function step(name, body) {
  try {
    return await body();
  } catch (e) {
    const report = `#### msal-browser e2e: step "${name}" failed: ${e.message}\n\n==== page ====\n${await pageDiagnostics()}\n${diagnostics()}\n`;
    fs.mkdirSync(OUT_DIR, { recursive: true });
    fs.writeFileSync(DIAGNOSTICS, report);
    console.error(report);
    console.error(`[msal-browser] diagnostics written to ${path.relative(ROOT, DIAGNOSTICS)}`);
    throw e;
  }
}

const text = (selector) => page.locator(selector).textContent({ timeout: STEP_TIMEOUT_MS });

/** Clicks a button of the test page and waits (bounded) until its operation reports. */
async function operate(buttonId, op) {
  const seq = Number(await page.locator("#result").getAttribute("data-seq", { timeout: STEP_TIMEOUT_MS }));
  await page.click(`#${buttonId}`, { timeout: STEP_TIMEOUT_MS });
  await page.waitForFunction(
    ([op, seq]) => {
      const r = document.getElementById("result");
      return r && r.dataset.op === op && Number(r.dataset.seq) > seq;
    },
    [op, seq],
    { timeout: STEP_TIMEOUT_MS },
  );
  const outcome = await page.locator("#result").getAttribute("data-outcome");
  assert.equal(outcome, "ok", `${op} failed on the page:\n${await text("#error")}`);
}

async function waitForReadyPage() {
  await page.waitForURL((url) => url.origin === APP_ORIGIN, { timeout: STEP_TIMEOUT_MS });
  await page.waitForFunction(() => ["ready", "error"].includes(document.body?.dataset.state), null, { timeout: STEP_TIMEOUT_MS });
  const state = await page.evaluate(() => document.body.dataset.state);
  assert.equal(state, "ready", `the test page did not start:\n${await text("#error")}`);
}

function tokenEndpointCalls(grantType) {
  return network.filter((e) => e.method === "POST" && e.url.startsWith(`${provider.authority}/oauth2/v2.0/token`) &&
    new URLSearchParams(e.postData ?? "").get("grant_type") === grantType);
}

/** `rolegate token check` against the provider's discovery and JWKS, TLS verified with the local CA. */
function tokenCheck(token, { audience = API, requireRole = "Orders.Admin", clockSkew, extra = [] } = {}) {
  const args = ["token", "check", token, "--authority", provider.authority, "--audience", audience,
    "--ca-file", provider.caPath, "--json", ...extra];
  if (requireRole) args.push("--require-role", requireRole);
  if (clockSkew !== undefined) args.push("--clock-skew", String(clockSkew));
  const run = spawnSync(ROLEGATE, args, { encoding: "utf8", timeout: 60_000 });
  if (run.error) throw run.error;
  return { status: run.status, result: JSON.parse(run.stdout || "{}"), stderr: run.stderr };
}

/** Alice's delegated token from `client` for `audience` (v2: aud is the API's client id); `rolegate token check` accepts it. */
function assertAliceAccessToken(token, { client = SPA, audience = API } = {}) {
  const c = claimsOf(token);
  assert.equal(c.aud, audience, "aud is the API's client id (v2 access token)");
  assert.equal(c.iss, `${provider.authority}/v2.0`);
  assert.equal(c.ver, "2.0");
  assert.equal(c.tid, TENANT_ID);
  assert.equal(c.scp, "access_as_user");
  assert.deepEqual(c.roles, ["Orders.Admin"]);
  assert.equal(c.azp, client, "azp is the SPA that asked");
  assert.equal(c.oid, ALICE.oid);
  assert.equal(c.preferred_username, ALICE.username);
  assert.equal(c.nonce, undefined, "an access token carries no nonce");
  const check = tokenCheck(token, { audience });
  assert.equal(check.status, 0, `rolegate token check refused the access token: ${JSON.stringify(check.result.errors ?? check.stderr)}`);
  return c;
}

async function accessTokenOnPage() {
  const token = (await text("#access-token")).trim();
  assert.ok(token, "the page shows no access token");
  return token;
}

// ------------------------------------------------------------------ set-up / tear-down
before(async () => {
  assert.ok(fs.existsSync(ROLEGATE), `no rolegate binary at ${ROLEGATE}: cargo build -p rolegate (or set ROLEGATE_E2E_BIN)`);
  assert.ok(fs.existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install -y chromium (e2e/msal-browser/run.sh does it)`);
  assert.ok(fs.existsSync(MSAL_BUNDLE), `no msal-browser bundle at ${MSAL_BUNDLE}: npm ci in e2e/`);
  fs.rmSync(DIAGNOSTICS, { force: true }); // a stale report of an earlier run
  provider = await startProvider();
  await startAppServer({
    clientId: SPA,
    authority: provider.authority,
    knownAuthority: `localhost:${provider.port}`,
    redirectUri: REDIRECT_URI,
    scope: API_SCOPE,
    apiUrl: `${provider.origin}/api/orders`,
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: STARTUP_TIMEOUT_MS,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--disable-quic"],
  });
  await openContext();
}, { timeout: STARTUP_TIMEOUT_MS * 2 + 30_000 });

/** A fresh browser context (no cookies, no sessionStorage) and page, recorded. */
async function openContext() {
  await context?.close().catch(() => {});
  // ignoreHTTPSErrors: the local CA is not in Chromium's trust store (see the header comment).
  context = await browser.newContext({ ignoreHTTPSErrors: true });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  recordNetwork(context);
  page = await context.newPage();
  page.on("console", (m) => consoleLines.push(`[${m.type()}] ${m.text()}${m.location()?.url ? ` (${m.location().url})` : ""}`));
  page.on("pageerror", (e) => consoleLines.push(`[pageerror] ${e.message}`));
}

async function teardown() {
  // The browser's traffic of this run, failed or not (git-ignored e2e/out/),
  // with msal-browser's own errors and warnings (log levels 0 and 1).
  if (network.length) {
    const msalWarnings = page && !page.isClosed()
      ? await page.evaluate(() => (window.__msalLog ?? []).filter((l) => /^\[[01]\]/.test(l))).catch(() => [])
      : [];
    fs.mkdirSync(OUT_DIR, { recursive: true });
    fs.writeFileSync(TRACE, `${diagnostics()}\n\n==== msal-browser errors and warnings ====\n${msalWarnings.join("\n")}\n`);
  }
  await browser?.close().catch(() => {});
  browser = undefined;
  for (const s of appServers) {
    s.closeAllConnections?.();
    await new Promise((r) => s.close(() => r()));
  }
  appServers = [];
  await stopChild(provider?.child, provider?.exited);
  for (const dir of dataDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

after(teardown, { timeout: 30_000 });
// Last resort if the runner is interrupted: never leave the provider behind.
process.on("exit", () => { try { provider?.child?.kill("SIGKILL"); } catch { /* gone */ } });

// ------------------------------------------------------------------ the tests (run in order)
let firstToken;
let account;

test(`msal-browser ${MSAL_VERSION}: loginRedirect → the provider's sign-in page → handleRedirectPromise signs alice in`, { timeout: 90_000 }, async () => {
  await step("open the test page", async () => {
    await page.goto(`${APP_ORIGIN}/`, { timeout: STEP_TIMEOUT_MS });
    await waitForReadyPage();
    assert.equal((await text("#account")).trim(), "", "nobody is signed in yet");
  });

  await step("loginRedirect to the sign-in page", async () => {
    await page.click("#login", { timeout: STEP_TIMEOUT_MS });
    await page.waitForURL((url) => url.origin === provider.origin, { timeout: STEP_TIMEOUT_MS });
    await page.waitForSelector("#username", { timeout: STEP_TIMEOUT_MS });
    const authorize = new URL(page.url());
    assert.equal(authorize.pathname, `/${TENANT_ID}/oauth2/v2.0/authorize`);
    const q = authorize.searchParams;
    assert.equal(q.get("client_id"), SPA);
    assert.equal(q.get("redirect_uri"), REDIRECT_URI);
    assert.equal(q.get("response_type"), "code");
    assert.equal(q.get("response_mode"), "fragment");
    assert.equal(q.get("code_challenge_method"), "S256");
    assert.ok(q.get("code_challenge"), "PKCE code_challenge");
    assert.ok(q.get("scope").split(" ").includes(API_SCOPE), `scope: ${q.get("scope")}`);
  });

  await step("sign in as alice and come back", async () => {
    await page.fill("#username", ALICE.username);
    await page.fill("#password", ALICE.password);
    await page.click("#submit");
    await waitForReadyPage();
    assert.equal(await page.locator("#result").getAttribute("data-op"), "redirect");
    assert.equal(await page.locator("#result").getAttribute("data-outcome"), "ok", await text("#error"));
  });

  await step("the account and the token of the redirect", async () => {
    account = JSON.parse(await text("#account"));
    assert.equal(account.username, ALICE.username);
    assert.equal(account.tenantId, TENANT_ID);
    assert.equal(account.localAccountId, ALICE.oid);
    assert.equal(account.homeAccountId, `${ALICE.oid}.${TENANT_ID}`, "from client_info");
    assert.equal(account.environment, `localhost:${provider.port}`);

    const redirect = JSON.parse(await text("#redirect-result"));
    assert.equal(redirect.fromCache, false);
    assert.equal(redirect.hasIdToken, true);
    assert.equal(redirect.idTokenClaims.aud, SPA, "the ID token is for the SPA");
    assert.equal(redirect.idTokenClaims.tid, TENANT_ID);
    assert.ok(redirect.scopes.includes(API_SCOPE), `scopes: ${redirect.scopes}`);

    firstToken = await accessTokenOnPage();
    assertAliceAccessToken(firstToken);

    // The code was redeemed by the browser: a CORS POST from the SPA origin.
    const [redemption] = tokenEndpointCalls("authorization_code");
    assert.ok(redemption, "msal-browser redeemed the code at the token endpoint");
    assert.equal(redemption.requestHeaders?.origin, APP_ORIGIN);
    assert.equal(redemption.status, 200);
    assert.equal(redemption.responseHeaders?.["access-control-allow-origin"], APP_ORIGIN);
  });
});

test("acquireTokenSilent: the cached access token (aud = Orders API, scp access_as_user, roles Orders.Admin)", { timeout: 60_000 }, async () => {
  assert.ok(account, "needs the sign-in of the test above (it failed)");
  await step("acquireTokenSilent", async () => {
    await operate("acquire", "acquire");
    assert.equal((await text("#from-cache")).trim(), "true");
    const token = await accessTokenOnPage();
    assert.equal(token, firstToken, "the token of the sign-in, from the cache");
    const claims = JSON.parse(await text("#token-claims"));
    assert.equal(claims.aud, API);
    assert.equal(claims.scp, "access_as_user");
    assert.deepEqual(claims.roles, ["Orders.Admin"]);
    assert.equal(JSON.parse(await text("#account")).username, ALICE.username);
  });
});

test("GET /api/orders with the access token: 200, the admin view", { timeout: 60_000 }, async () => {
  assert.ok(firstToken, "needs the token of the tests above");
  await step("call the API", async () => {
    await operate("call-api", "call-api");
    const status = (await text("#api-status")).trim();
    const body = await text("#api-body");
    assert.equal(status, "200", `the API answered ${status}: ${body}`);
    assert.match(body, /"view":"admin"/);
    assert.equal(JSON.parse(body).view, "admin");
  });
});

test("acquireTokenSilent({forceRefresh:true}): refresh-token grant over CORS from http://localhost:5173 gives a new token", { timeout: 60_000 }, async () => {
  assert.ok(firstToken, "needs the token of the tests above");
  await step("forceRefresh", async () => {
    const before = tokenEndpointCalls("refresh_token").length;
    await operate("refresh", "refresh");
    assert.equal((await text("#from-cache")).trim(), "false", "forceRefresh goes to the token endpoint");
    const token = await accessTokenOnPage();
    assert.notEqual(token, firstToken, "a new access token");
    const claims = assertAliceAccessToken(token);
    assert.ok(claims.uti !== claimsOf(firstToken).uti, "a new token id");
    assert.equal(JSON.parse(await text("#account")).homeAccountId, account.homeAccountId);

    // Give the response listener a moment to record the headers.
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && !tokenEndpointCalls("refresh_token").slice(before).some((e) => e.responseHeaders)) await sleep(50);
    const refreshes = tokenEndpointCalls("refresh_token").slice(before);
    assert.equal(refreshes.length, 1, "one refresh-token grant");
    const [refresh] = refreshes;
    assert.equal(refresh.requestHeaders?.origin, APP_ORIGIN, "a cross-origin request from the SPA");
    assert.equal(refresh.status, 200);
    assert.equal(refresh.responseHeaders?.["access-control-allow-origin"], APP_ORIGIN);
    const params = new URLSearchParams(refresh.postData);
    assert.equal(params.get("client_id"), SPA);
    assert.ok(params.get("scope").split(" ").includes(API_SCOPE));
    const body = JSON.parse(refresh.body);
    assert.ok(body.refresh_token, "the refresh token is rotated");
  });

  await step("the API accepts the refreshed token", async () => {
    await operate("call-api", "call-api");
    assert.equal((await text("#api-status")).trim(), "200", await text("#api-body"));
    assert.equal(JSON.parse(await text("#api-body")).view, "admin");
  });
});

// ------------------------------------------------------------------ one registration for SPA and API
// Microsoft's app-roles sample (React SPA + Express API) uses ONE
// registration and has the SPA ask for api://<its own client id>/<scope>.
// A second `rolegate demo` serves the demo tenant whose single registration
// also lists this page's redirect URI, with access tokens of SINGLE_LIFETIME
// seconds, so that the first one really expires before the silent renewal.
const SINGLE_LIFETIME = 10;
let selfToken;

test("one registration for SPA and API: loginRedirect with api://<own client id>/access_as_user gives a token for itself, which the Orders API accepts", { timeout: 120_000 }, async () => {
  await step("switch to a demo whose single registration lists this page", async () => {
    const first = provider;
    provider = await startProvider({ tenant: singleRegistrationTenant({ spa: [REDIRECT_URI] }), accessTokenLifetime: SINGLE_LIFETIME });
    await stopChild(first.child, first.exited);
    appConfig = {
      clientId: SINGLE,
      authority: provider.authority,
      knownAuthority: `localhost:${provider.port}`,
      redirectUri: REDIRECT_URI,
      scope: SINGLE_SCOPE_URI,
      apiUrl: `${provider.origin}/api/orders`,
    };
    await openContext();
    await page.goto(`${APP_ORIGIN}/`, { timeout: STEP_TIMEOUT_MS });
    await waitForReadyPage();
  });

  await step("loginRedirect names the app itself by App ID URI", async () => {
    await page.click("#login", { timeout: STEP_TIMEOUT_MS });
    await page.waitForURL((url) => url.origin === provider.origin, { timeout: STEP_TIMEOUT_MS });
    await page.waitForSelector("#username", { timeout: STEP_TIMEOUT_MS });
    const q = new URL(page.url()).searchParams;
    assert.equal(q.get("client_id"), SINGLE);
    assert.ok(q.get("scope").split(" ").includes(SINGLE_SCOPE_URI), `scope: ${q.get("scope")}`);
    await page.fill("#username", ALICE.username);
    await page.fill("#password", ALICE.password);
    await page.click("#submit");
    await waitForReadyPage();
    assert.equal(await page.locator("#result").getAttribute("data-outcome"), "ok", await text("#error"));
  });

  await step("the token is for the app itself", async () => {
    const redirect = JSON.parse(await text("#redirect-result"));
    assert.equal(redirect.idTokenClaims.aud, SINGLE);
    assert.ok(redirect.scopes.includes(SINGLE_SCOPE_URI), `scopes: ${redirect.scopes}`);
    selfToken = await accessTokenOnPage();
    assertAliceAccessToken(selfToken, { client: SINGLE, audience: SINGLE });
    const [redemption] = tokenEndpointCalls("authorization_code");
    assert.equal(redemption?.status, 200, "the code redemption succeeded");
    assert.ok(new URLSearchParams(redemption.postData).get("scope").split(" ").includes(SINGLE_SCOPE_URI));
  });

  await step("GET /api/orders with it: 200, the admin view", async () => {
    await operate("call-api", "call-api");
    assert.equal((await text("#api-status")).trim(), "200", await text("#api-body"));
    assert.equal(JSON.parse(await text("#api-body")).view, "admin");
  });
});

test("one registration: after the access token expired, acquireTokenSilent renews it over CORS; msal-browser names the resource scope on refresh", { timeout: 90_000 }, async (t) => {
  assert.ok(selfToken, "needs the sign-in of the test above (it failed)");
  await step("wait until the access token has expired", async () => {
    const exp = claimsOf(selfToken).exp;
    assert.ok(exp - Date.now() / 1000 <= SINGLE_LIFETIME + 1, `the access token lives ${SINGLE_LIFETIME}s`);
    await sleep(Math.max(0, exp * 1000 - Date.now()) + 1_500);
    const expired = tokenCheck(selfToken, { audience: SINGLE, requireRole: null, clockSkew: 0 });
    assert.equal(expired.status, 1, "the first access token has expired");
    assert.ok(expired.result.errors.some((e) => /expired/.test(`${e.code} ${e.message}`)), JSON.stringify(expired.result.errors));
  });

  await step("acquireTokenSilent (no forceRefresh)", async () => {
    const before = tokenEndpointCalls("refresh_token").length;
    await operate("acquire", "acquire");
    assert.equal((await text("#from-cache")).trim(), "false", "an expired token is not served from the cache");
    const token = await accessTokenOnPage();
    assert.notEqual(token, selfToken);
    assertAliceAccessToken(token, { client: SINGLE, audience: SINGLE });

    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && !tokenEndpointCalls("refresh_token").slice(before).some((e) => e.responseHeaders)) await sleep(50);
    const refreshes = tokenEndpointCalls("refresh_token").slice(before);
    assert.equal(refreshes.length, 1, "one refresh-token grant");
    const [refresh] = refreshes;
    assert.equal(refresh.status, 200, refresh.body);
    assert.equal(refresh.requestHeaders?.origin, APP_ORIGIN);
    const params = new URLSearchParams(refresh.postData);
    assert.equal(params.get("client_id"), SINGLE);
    const scope = params.get("scope");
    t.diagnostic(`msal-browser refresh scope: "${scope}"`);
    assert.ok(scope.split(" ").includes(SINGLE_SCOPE_URI), `msal-browser names the resource scope on refresh: "${scope}"`);
    for (const s of OIDC_ONLY.split(" ")) assert.ok(scope.split(" ").includes(s), `and adds ${s}: "${scope}"`);
  });

  await step("the Orders API accepts the renewed token", async () => {
    await operate("call-api", "call-api");
    assert.equal((await text("#api-status")).trim(), "200", await text("#api-body"));
    assert.equal(JSON.parse(await text("#api-body")).view, "admin");
  });
});

// ------------------------------------------------------------------ multi-tenant: the organizations authority
// A third provider, `rolegate idp` serving two tenants (examples/multi-tenant/:
// FleetCo registers the multi-tenant Fleet API; Partner installs it, gives bo
// its Fleet.Admin role and consents for its users). FleetCo also registers a
// multi-tenant SPA with this page's redirect URI, which Partner installs and
// admin-consents to Fleet.Read, so bo sees no consent page. The page's authority
// is https://localhost:<port>/organizations: the sign-in page finds bo's tenant
// from his user name's domain, and every token is Partner's (iss/tid).
const FLEETCO = "aaaaaaaa-1111-4111-8111-00000000000a";
const PARTNER = "bbbbbbbb-2222-4222-8222-00000000000b";
const FLEET_API = "f1ee7000-1111-4111-8111-0000000000a1";
const FLEET_SPA = "f1ee7000-1111-4111-8111-0000000000b1"; // added here, not in the example
const FLEET_SCOPE = `api://${FLEET_API}/Fleet.Read`;
const BO = { username: "bo@partner.test", password: "bo-Passw0rd" };
const MULTI_TENANT_EXAMPLE = path.join(ROOT, "examples", "multi-tenant");

/** examples/multi-tenant/'s two tenant files, with the multi-tenant SPA added (FleetCo) and installed and consented (Partner). */
function multiTenantFiles(dir) {
  const read = (name) => fs.readFileSync(path.join(MULTI_TENANT_EXAMPLE, name), "utf8");
  const fleetco = `${read("fleetco.toml")}
# Added by e2e/msal-browser: a multi-tenant single-page app (the test page).
[[applications]]
display_name = "Fleet SPA"
app_id = "${FLEET_SPA}"
sign_in_audience = "AzureADMultipleOrgs"
spa_redirect_uris = ["${REDIRECT_URI}"]
  [[applications.required_resource_access]]
  resource = "${FLEET_API}"
  scopes = ["Fleet.Read"]
`;
  const partner = `${read("partner.toml")}
# Added by e2e/msal-browser: FleetCo's SPA, installed here and consented for every user.
[[service_principals]]
app_id = "${FLEET_SPA}"

[[admin_consents]]
client = "${FLEET_SPA}"
resource = "${FLEET_API}"
scopes = ["Fleet.Read"]
`;
  const files = [path.join(dir, "fleetco.toml"), path.join(dir, "partner.toml")];
  fs.writeFileSync(files[0], fleetco);
  fs.writeFileSync(files[1], partner);
  return files;
}

/** Token-endpoint POSTs of the current provider (any tenant path) with this grant type. */
function tokenCallsOfProvider(grantType) {
  return network.filter((e) => e.method === "POST" && e.url.startsWith(`${provider.origin}/`) &&
    new URL(e.url).pathname.endsWith("/oauth2/v2.0/token") &&
    new URLSearchParams(e.postData ?? "").get("grant_type") === grantType);
}

/** bo's delegated Fleet API token from Partner; `token check` at organizations allows Partner and refuses it for a FleetCo-only API. */
function assertBoFleetToken(token) {
  const c = claimsOf(token);
  assert.equal(c.iss, `${provider.origin}/${PARTNER}/v2.0`, "issued by bo's home tenant");
  assert.equal(c.tid, PARTNER);
  assert.equal(c.aud, FLEET_API);
  assert.equal(c.ver, "2.0");
  assert.equal(c.scp, "Fleet.Read");
  assert.deepEqual(c.roles, ["Fleet.Admin"], "Partner's own role assignment");
  assert.equal(c.azp, FLEET_SPA);
  assert.equal(c.preferred_username, BO.username);

  const check = (allowed) => tokenCheck(token, { audience: FLEET_API, requireRole: null, extra: ["--tenant-allow", allowed] });
  const allowed = check(PARTNER);
  assert.equal(allowed.status, 0, `token check --tenant-allow Partner refused it: ${JSON.stringify(allowed.result.errors ?? allowed.stderr)}`);
  const refused = check(FLEETCO);
  assert.equal(refused.status, 1, `token check --tenant-allow FleetCo: exit ${refused.status} ${refused.stderr}`);
  const codes = (refused.result.errors ?? []).map((e) => e.code);
  assert.ok(codes.includes("tenant_not_allowed"), `expected tenant_not_allowed: ${JSON.stringify(refused.result.errors)}`);
  return c;
}

let boToken;
let boAccount;

test("multi-tenant: loginRedirect at /organizations with FleetCo's multi-tenant SPA signs bo@partner.test in; account and tokens are Partner's", { timeout: 120_000 }, async () => {
  await step("switch to rolegate idp serving FleetCo and Partner", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rolegate-msal-browser-mt."));
    dataDirs.push(dir);
    const configs = multiTenantFiles(dir);
    const previous = provider;
    provider = await startIdp({ configs, dataDir: path.join(dir, "data"), authorityPath: "/organizations" });
    await stopChild(previous?.child, previous?.exited);
    appConfig = {
      clientId: FLEET_SPA,
      authority: provider.authority, // https://localhost:<port>/organizations
      knownAuthority: `localhost:${provider.port}`,
      redirectUri: REDIRECT_URI,
      scope: FLEET_SCOPE,
      apiUrl: null, // no Fleet API endpoint is served: `rolegate token check` plays the API
    };
    await openContext();
    await page.goto(`${APP_ORIGIN}/`, { timeout: STEP_TIMEOUT_MS });
    await waitForReadyPage();
  });

  await step("loginRedirect goes to the organizations authority", async () => {
    await page.click("#login", { timeout: STEP_TIMEOUT_MS });
    await page.waitForURL((url) => url.origin === provider.origin, { timeout: STEP_TIMEOUT_MS });
    await page.waitForSelector("#username", { timeout: STEP_TIMEOUT_MS });
    const authorize = new URL(page.url());
    assert.equal(authorize.pathname, "/organizations/oauth2/v2.0/authorize");
    const q = authorize.searchParams;
    assert.equal(q.get("client_id"), FLEET_SPA);
    assert.equal(q.get("redirect_uri"), REDIRECT_URI);
    assert.equal(q.get("code_challenge_method"), "S256");
    assert.ok(q.get("scope").split(" ").includes(FLEET_SCOPE), `scope: ${q.get("scope")}`);
  });

  await step("bo signs in (Partner, by his domain) and comes back without a consent page", async () => {
    await page.fill("#username", BO.username);
    await page.fill("#password", BO.password);
    await page.click("#submit");
    await waitForReadyPage();
    assert.equal(await page.locator("#result").getAttribute("data-op"), "redirect");
    assert.equal(await page.locator("#result").getAttribute("data-outcome"), "ok", await text("#error"));
  });

  await step("the redirect result, the account and the access token are Partner's", async () => {
    const redirect = JSON.parse(await text("#redirect-result"));
    assert.equal(redirect.tenantId, PARTNER, "the redirect result's tenantId");
    assert.equal(redirect.idTokenClaims.tid, PARTNER);
    assert.equal(redirect.idTokenClaims.iss, `${provider.origin}/${PARTNER}/v2.0`);
    assert.equal(redirect.idTokenClaims.aud, FLEET_SPA);
    assert.ok(redirect.scopes.includes(FLEET_SCOPE), `scopes: ${redirect.scopes}`);

    boAccount = JSON.parse(await text("#account"));
    assert.equal(boAccount.username, BO.username);
    assert.equal(boAccount.tenantId, PARTNER, "the account's tenantId");
    assert.equal(boAccount.homeAccountId, `${boAccount.localAccountId}.${PARTNER}`, "from client_info (utid = Partner)");
    assert.equal(boAccount.environment, `localhost:${provider.port}`);

    boToken = await accessTokenOnPage();
    assertBoFleetToken(boToken);

    const redemptions = tokenCallsOfProvider("authorization_code");
    assert.equal(redemptions.length, 1, "one code redemption");
    const [redemption] = redemptions;
    assert.equal(redemption.status, 200, redemption.body);
    assert.equal(new URL(redemption.url).pathname, "/organizations/oauth2/v2.0/token");
    assert.equal(redemption.requestHeaders?.origin, APP_ORIGIN);
    assert.equal(redemption.responseHeaders?.["access-control-allow-origin"], APP_ORIGIN);
  });
});

test("multi-tenant: acquireTokenSilent finds Partner's token in the cache; with forceRefresh it refreshes over CORS at organizations and stays in Partner", { timeout: 60_000 }, async (t) => {
  assert.ok(boToken, "needs the sign-in of the test above (it failed)");
  await step("acquireTokenSilent (cache)", async () => {
    await operate("acquire", "acquire");
    assert.equal((await text("#from-cache")).trim(), "true", "the sign-in's token, cached under Partner, is found at organizations");
    assert.equal(await accessTokenOnPage(), boToken);
    assert.equal(JSON.parse(await text("#account")).tenantId, PARTNER);
  });

  await step("forceRefresh", async () => {
    const before = tokenCallsOfProvider("refresh_token").length;
    await operate("refresh", "refresh");
    assert.equal((await text("#from-cache")).trim(), "false", "forceRefresh goes to the token endpoint");
    const token = await accessTokenOnPage();
    assert.notEqual(token, boToken, "a new access token");
    const claims = assertBoFleetToken(token);
    assert.notEqual(claims.uti, claimsOf(boToken).uti, "a new token id");
    const account = JSON.parse(await text("#account"));
    assert.equal(account.tenantId, PARTNER);
    assert.equal(account.homeAccountId, boAccount.homeAccountId);

    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && !tokenCallsOfProvider("refresh_token").slice(before).some((e) => e.responseHeaders)) await sleep(50);
    const refreshes = tokenCallsOfProvider("refresh_token").slice(before);
    assert.equal(refreshes.length, 1, "one refresh-token grant");
    const [refresh] = refreshes;
    t.diagnostic(`msal-browser refreshed at ${new URL(refresh.url).pathname}`);
    assert.equal(new URL(refresh.url).pathname, "/organizations/oauth2/v2.0/token", "the configured authority, not Partner's");
    assert.equal(refresh.status, 200, refresh.body);
    assert.equal(refresh.requestHeaders?.origin, APP_ORIGIN);
    assert.equal(refresh.responseHeaders?.["access-control-allow-origin"], APP_ORIGIN);
    const params = new URLSearchParams(refresh.postData);
    assert.equal(params.get("client_id"), FLEET_SPA);
    assert.ok(params.get("scope").split(" ").includes(FLEET_SCOPE), `scope: ${params.get("scope")}`);
  });
});
