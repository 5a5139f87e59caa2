// Screenshots of the demo app's main screens for the docs, taken in Debian's
// headless Chromium against a fresh `rolegate demo` (1-hour access tokens, so
// the panes read naturally):
//
//   docs/img/demo-signed-in-admin.png      both token panes and the admin's orders
//   docs/img/demo-single-registration.png  one registration: the ID token carries aud = API and roles
//   docs/img/demo-id-token-refused.png     that ID token sent to the API: 401 id_token_not_accepted
//   docs/img/demo-daemon.png               the daemon tab: app-only token, GET /orders
//   docs/img/portal-app-registrations.png  the admin portal: app registrations
//   docs/img/portal-app.png                an app registration: overview, redirect URIs, roles, quickstart
//   docs/img/portal-quickstart.png         its quickstart: MSAL, gateway and rolegate-axum snippets
//   docs/img/portal-enterprise-app.png     an enterprise application: users and groups assigned to roles
//
// Run: node e2e/browser/screenshots.mjs [output dir] (after `cargo build -p
// rolegate` and `npm ci` in e2e/), or SCREENSHOTS=1 bash e2e/browser/run.sh.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { API, ROOT, USERS, callApi, launchBrowser, newPage, portalSignIn, signIn, startDemo, view } from "./helpers.mjs";

const outDir = path.resolve(process.argv[2] || path.join(ROOT, "docs", "img"));
fs.mkdirSync(outDir, { recursive: true });

const demo = await startDemo({ accessTokenLifetime: 3599, logName: "browser-screenshots-demo.log" });
const browser = await launchBrowser();
const watchdog = setTimeout(() => { console.error("screenshots: timed out"); process.exit(1); }, 180_000);
try {
  const { page } = await newPage(browser);
  const shot = async (name, options) => {
    await page.waitForTimeout(700); // let the result highlight fade
    const file = path.join(outDir, name);
    await (options.element ? page.locator(options.element).screenshot({ path: file }) : page.screenshot({ path: file, ...options }));
    console.log(`wrote ${path.relative(ROOT, file)}`);
  };

  // 1. Two registrations, alice (Orders.Admin): tokens side by side and the orders table.
  await signIn(page, demo.base, USERS.alice, "separate");
  const orders = await callApi(page, "GET /orders", "access");
  assert.equal(orders.view, "admin");
  await shot("demo-signed-in-admin.png", { fullPage: true });

  // 2. One registration: the ID token looks like an access token for the API.
  await signIn(page, demo.base, USERS.alice, "single");
  const grid = await page.locator("#pane-user .token-grid").boundingBox();
  await shot("demo-single-registration.png", { fullPage: true, clip: { x: 0, y: 0, width: 1400, height: Math.ceil(grid.y + grid.height + 16) } });

  // 3. ...and the API refuses it all the same.
  const refused = await callApi(page, "GET /orders", "id");
  assert.equal(refused.status, "401");
  assert.equal(refused.body.code, "id_token_not_accepted");
  await shot("demo-id-token-refused.png", { element: "#pane-user .work-grid" });

  // 4. The daemon: app-only token and the application view of the orders.
  await page.click("#tab-daemon");
  await page.click("#daemon-get-token");
  await page.waitForSelector('#daemon-token-panel tr[data-claim="roles"]');
  const daemonOrders = await callApi(page, "GET /orders", "daemon");
  assert.equal(daemonOrders.view, "application");
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot("demo-daemon.png", { fullPage: true });

  assert.deepEqual(page.problems, [], "page errors or CSP violations");

  // 5. The admin portal (alice is a Global Administrator in the demo tenant).
  const { page: portal } = await newPage(browser);
  const portalShot = async (name, options) => {
    await portal.waitForTimeout(700);
    const file = path.join(outDir, name);
    await portal.screenshot({ path: file, ...options });
    console.log(`wrote ${path.relative(ROOT, file)}`);
  };
  await portalSignIn(portal, demo.base, USERS.alice);
  await view(portal, "#/apps", `tr[data-app="${API}"]`);
  await portalShot("portal-app-registrations.png", { fullPage: true });
  await portal.click(`tr[data-app="${API}"] a`);
  await portal.waitForSelector("#app-quickstart");
  await portal.setViewportSize({ width: 1400, height: 1500 });
  await portalShot("portal-app.png", {});
  await portal.locator("#app-quickstart").screenshot({ path: path.join(outDir, "portal-quickstart.png") });
  console.log(`wrote ${path.relative(ROOT, path.join(outDir, "portal-quickstart.png"))}`);
  await portal.click("#app-overview a[href^='#/enterprise/']");
  await portal.waitForSelector("#sp-assignments tr[data-assignment]");
  await portal.setViewportSize({ width: 1400, height: 900 });
  await portalShot("portal-enterprise-app.png", { fullPage: true });
  assert.deepEqual(portal.problems, [], "page errors or CSP violations in the portal");
} finally {
  clearTimeout(watchdog);
  await browser.close().catch(() => {});
  await demo.stop();
}
