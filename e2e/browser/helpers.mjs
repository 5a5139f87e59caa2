// Shared by the browser tests (demo.test.mjs) and the screenshot script
// (screenshots.mjs): start `rolegate demo`, launch Debian's Chromium through
// playwright-core, and drive the demo app (crates/demo/assets/) and the
// provider's sign-in page.
//
// TLS: `rolegate demo` serves HTTPS with a certificate from the local CA it
// creates in <data dir>/tls/ca.pem. Chromium takes no CA file on the command
// line (trusting it would mean importing it into an NSS database, i.e.
// changing the user's trust store for a test), so the browser context sets
// ignoreHTTPSErrors — for this throw-away profile only. Node's readiness probe
// below does verify the chain against ca.pem.

import { spawn } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const E2E = path.resolve(HERE, "..");
export const ROOT = path.resolve(E2E, "..");
export const OUT_DIR = path.join(E2E, "out"); // git-ignored

export const ROLEGATE = process.env.ROLEGATE_E2E_BIN || path.join(ROOT, "target", "debug", "rolegate");
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const STARTUP_TIMEOUT_MS = Number(process.env.E2E_STARTUP_TIMEOUT || 60) * 1000;
export const STEP_TIMEOUT_MS = 20_000; // bound on every browser wait

export const TENANT_ID = "7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b";
export const API = "8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c";
export const SPA = "2732dc92-37da-4c7f-a87a-1900d556a951";
export const SINGLE = "4f6a8c2e-1b3d-4e5f-9a7b-8c9d0e1f2a3b";
export const DAEMON = "7fbf04bb-64db-4661-a8cd-d2d07d250ad8";
export const USERS = {
  alice: { upn: "alice@contoso.test", password: "alice-Passw0rd" },
  bob: { upn: "bob@contoso.test", password: "bob-Passw0rd" },
  carol: { upn: "carol@contoso.test", password: "carol-Passw0rd" },
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** GET over HTTPS, verifying the server against the local CA. */
function getJson(url, ca) {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, timeout: 3000 }, (res) => {
      let data = "";
      res.setEncoding("utf8");
      res.on("data", (d) => { data += d; });
      res.on("end", () => {
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
        try { resolve(JSON.parse(data)); } catch (e) { reject(e); }
      });
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

/**
 * Starts `rolegate demo` on a free loopback port with a fresh data folder and
 * waits until /demo/config.json answers over TLS. Returns {base, config, stop}.
 * Its output goes to e2e/out/<logName>.
 */
export async function startDemo({ accessTokenLifetime = 20, logName = "browser-demo.log" } = {}) {
  if (!fs.existsSync(ROLEGATE)) throw new Error(`no rolegate binary at ${ROLEGATE} (cargo build -p rolegate, or set ROLEGATE_E2E_BIN)`);
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const logPath = path.join(OUT_DIR, logName);
  let lastError = null;
  // A free port can be taken before the demo binds it: then it exits at once
  // and another port is tried (3 attempts).
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "rolegate-browser-"));
    const log = fs.openSync(logPath, "w");
    const child = spawn(ROLEGATE, ["demo", "--data-dir", dataDir, "--port", String(port),
      "--access-token-lifetime", String(accessTokenLifetime)], { stdio: ["ignore", log, log] });
    fs.closeSync(log);
    let exited = null;
    child.once("exit", (code, signal) => { exited = { code, signal }; });
    const killOnExit = () => { try { child.kill("SIGKILL"); } catch { /* gone */ } };
    process.once("exit", killOnExit);

    const stop = async () => {
      process.removeListener("exit", killOnExit);
      if (exited === null) {
        child.kill("SIGINT"); // the demo stops cleanly on Ctrl-C
        for (let i = 0; i < 50 && exited === null; i++) await sleep(100);
        if (exited === null) child.kill("SIGKILL");
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    };

    const base = `https://localhost:${port}`;
    const caPath = path.join(dataDir, "tls", "ca.pem");
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    while (Date.now() < deadline && exited === null) {
      if (fs.existsSync(caPath)) {
        try {
          const config = await getJson(`${base}/demo/config.json`, fs.readFileSync(caPath));
          return { base, port, config, caPath, dataDir, logPath, stop };
        } catch (e) {
          lastError = e;
        }
      }
      await sleep(250);
    }
    await stop();
    if (exited === null) {
      throw new Error(`rolegate demo did not serve ${base}/demo/config.json within ${STARTUP_TIMEOUT_MS / 1000}s (${lastError}); log: ${logPath}`);
    }
    lastError = new Error(`rolegate demo exited during start-up (${JSON.stringify(exited)}): ${fs.readFileSync(logPath, "utf8")}`);
  }
  throw lastError;
}

/** Debian's Chromium, headless, driven by playwright-core (never a downloaded browser). */
export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    timeout: STARTUP_TIMEOUT_MS,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--disable-quic"],
  });
}

/**
 * A fresh context (own cookies and sessionStorage) and page. Collects page
 * errors and CSP violations in `page.problems`.
 */
export async function newPage(browser) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1400, height: 900 }, locale: "en-US" });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  page.problems = [];
  page.on("pageerror", (e) => page.problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to (load|execute|apply)/i.test(m.text())) page.problems.push(`CSP: ${m.text()}`);
  });
  return { context, page };
}

/** Opens the app and waits until it has loaded its configuration. */
export async function openApp(page, base) {
  await page.goto(`${base}/demo/`);
  await page.waitForSelector("body.ready");
}

/**
 * Signs in through the app: picks the variant and user, presses Sign in, types
 * the password on the provider's page, and waits until the app shows the user.
 */
export async function signIn(page, base, user, variant = "separate") {
  if (!page.url().startsWith(`${base}/demo/`)) await openApp(page, base);
  await page.selectOption("#variant", variant);
  await page.selectOption("#user", user.upn);
  await page.click("#sign-in");
  await page.waitForSelector("#password");
  const prefilled = await page.inputValue("#username");
  if (prefilled !== user.upn) throw new Error(`login_hint not prefilled: ${prefilled}`);
  await page.fill("#password", user.password);
  await page.click("#submit");
  await page.waitForFunction(() => {
    const error = document.querySelector("#auth-error");
    return document.querySelector("#signed-in-as.on") || (error && !error.hidden);
  });
  const error = await page.$eval("#auth-error", (e) => (e.hidden ? "" : e.textContent));
  if (error) throw new Error(`sign-in failed: ${error}`);
}

/**
 * Presses a call button (data-call, data-token) and waits for its answer.
 * Returns what the result area shows.
 */
export async function callApi(page, call, token) {
  const before = await page.$eval("#result", (e) => Number(e.dataset.seq || 0));
  await page.click(`button[data-call="${call}"][data-token="${token}"]`);
  await page.waitForFunction((n) => Number(document.querySelector("#result").dataset.seq || 0) > n, before);
  return page.evaluate(() => {
    const text = (sel) => document.querySelector(sel)?.textContent.trim() ?? null;
    const explanation = document.querySelector("#result-explanation");
    const orders = document.querySelector("#orders");
    let body = null;
    try { body = JSON.parse(text("#result-body")); } catch { body = text("#result-body"); }
    return {
      request: text("#result-request"),
      status: text("#result-status"),
      wwwAuthenticate: text("#result-www-authenticate"),
      body,
      explanation: explanation.hidden ? null : explanation.textContent.trim(),
      view: orders.hidden ? null : text("#orders-view"),
      orderRows: orders.hidden ? 0 : document.querySelectorAll("#orders-table tbody tr").length,
    };
  });
}

/** The claims shown in a token panel: {name: value text} (present claims only). */
export function panelClaims(page, panel) {
  return page.$$eval(`${panel} tr[data-claim]`, (rows) =>
    Object.fromEntries(rows.map((r) => [r.dataset.claim, r.querySelector("td.value").textContent.trim()])));
}

/** Names of the highlighted (class "diff") rows of a panel, present or absent. */
export function diffRows(page, panel) {
  return page.$$eval(`${panel} tr.diff`, (rows) => rows.map((r) => r.dataset.claim || `-${r.dataset.claimAbsent}`));
}

// ------------------------------------------------------------ the admin portal

/** The admin portal of the demo tenant. */
export function portalUrl(base) {
  return `${base}/${TENANT_ID}/portal/`;
}

/** Opens the portal and signs in as `user` on the provider's page. */
export async function portalSignIn(page, base, user) {
  await page.goto(portalUrl(base));
  await page.click("#sign-in");
  await page.waitForSelector("#password");
  await page.fill("#username", user.upn);
  await page.fill("#password", user.password);
  await page.click("#submit");
  await page.waitForURL((url) => url.pathname.endsWith("/portal/") && !url.search);
  await page.waitForSelector("#nav:not([hidden]), #problem");
}

/** Navigates to a portal view and waits for it to render. */
export async function view(page, hash, selector) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForSelector(selector);
}

