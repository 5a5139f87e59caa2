// The admin portal (/{tenant}/portal/, crates/idp/src/web/portal/) in Debian's
// headless Chromium against a fresh `rolegate demo`: an administrator signs
// in through the provider, creates an app registration with an app role,
// adds a role to the Orders API and assigns it to a user; that user then
// signs in to the demo app and the role is in the access token. Also:
// users, groups, secrets, certificates, consents through the portal, and a
// user without a directory role refused at sign-in. Every portal action goes
// through the Graph subset (the portal is a Graph client).

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import https from "node:https";
import path from "node:path";
import { API, OUT_DIR, TENANT_ID, USERS, launchBrowser, newPage, panelClaims, portalSignIn, signIn, startDemo, view } from "./helpers.mjs";

let demo;
let browser;

before(async () => {
  demo = await startDemo({ accessTokenLifetime: 900, logName: "browser-portal.log" });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close().catch(() => {});
  await demo?.stop();
});

/** Clicks `button` and waits until the toast says `message`. */
async function act(page, button, message) {
  // A toast still showing from an earlier step must not answer for this one.
  await page.evaluate(() => { const t = document.querySelector("#toast"); t.className = ""; t.textContent = ""; });
  await page.click(button);
  await page.waitForFunction((m) => {
    const toast = document.querySelector("#toast.show");
    return toast && (toast.textContent === m || toast.classList.contains("error"));
  }, message);
  const toast = await page.$eval("#toast", (t) => ({ text: t.textContent, error: t.classList.contains("error") }));
  assert.equal(toast.error, false, `portal error: ${toast.text}`);
}

/** A JWT's payload (read, not verified: the API tests verify). */
function claimsOf(jwt) {
  return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8"));
}

/** POSTs a form over HTTPS, verifying the server against `ca`. */
function postForm(url, params, ca) {
  return new Promise((resolve, reject) => {
    const body = new URLSearchParams(params).toString();
    const req = https.request(url, { method: "POST", ca, timeout: 5000, headers: { "content-type": "application/x-www-form-urlencoded" } }, (res) => {
      let data = "";
      res.setEncoding("utf8");
      res.on("data", (d) => { data += d; });
      res.on("end", () => { try { resolve({ status: res.statusCode, body: JSON.parse(data) }); } catch (e) { reject(e); } });
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(body);
  });
}

async function failureShot(page, name) {
  await page.screenshot({ path: path.join(OUT_DIR, `browser-failure-${name}.png`), fullPage: true }).catch(() => {});
}

test("an administrator creates an app with a role, assigns a role, and the user's next token carries it", async () => {
  const { page } = await newPage(browser);
  try {
    await portalSignIn(page, demo.base, USERS.alice);
    assert.match(await page.textContent("#who"), /alice@contoso\.test/);
    await page.waitForSelector("main[data-view=home] .tiles");
    assert.match(await page.textContent("main"), /Global Administrator/);

    // A new app registration with an app role.
    await view(page, "#/apps", "#new-app");
    await page.click("#new-app");
    await page.fill("#new-app-name", "Reports API");
    await page.click("#new-app-submit");
    await page.waitForSelector("#app-title");
    assert.equal(await page.textContent("#app-title"), "Reports API");
    const appId = await page.$eval("#app-overview dd code", (c) => c.textContent);
    await page.click("#api-uri-set");
    await page.waitForSelector(`#app-overview dd code >> text=api://${appId}`);
    await page.fill("#role-name", "Report readers");
    await page.fill("#role-value", "Reports.Read");
    await act(page, "#role-add", "App role created");
    await page.waitForSelector('tr[data-role="Reports.Read"]');
    // Its quickstart names it.
    assert.match(await page.textContent("#snippet-gateway"), new RegExp(`audiences = \\["${appId}"\\]`));
    assert.match(await page.textContent("#snippet-gateway"), /roles_any = \["Reports\.Read"\]/);
    assert.match(await page.textContent("#snippet-axum"), /Requirement::any_role\(\["Reports\.Read"\]\)/);
    assert.match(await page.textContent("#snippet-msal-python"), new RegExp(appId));

    // Assign it to bob in the enterprise application.
    await page.click("#app-overview a[href^='#/enterprise/']");
    await page.waitForSelector("#assign-add");
    await page.selectOption("#assign-principal", { label: "Bob Jones (bob@contoso.test)" });
    await page.selectOption("#assign-role", { label: "Report readers (Reports.Read)" });
    await act(page, "#assign-add", "Assigned");
    await page.waitForSelector('tr[data-assignment="Bob Jones"]');

    // The demo's Orders API gets a new role, assigned to carol.
    await view(page, "#/apps", `tr[data-app="${API}"] a`);
    await page.click(`tr[data-app="${API}"] a`);
    await page.waitForSelector("#role-add");
    await page.fill("#role-name", "Order auditors");
    await page.fill("#role-value", "Orders.Audit");
    await act(page, "#role-add", "App role created");
    await page.click("#app-overview a[href^='#/enterprise/']");
    await page.waitForSelector("#assign-add");
    await page.selectOption("#assign-principal", { label: "Carol White (carol@contoso.test)" });
    await page.selectOption("#assign-role", { label: "Order auditors (Orders.Audit)" });
    await act(page, "#assign-add", "Assigned");
    await page.waitForSelector('tr[data-assignment="Carol White"]');
    assert.deepEqual(page.problems, [], "page errors or CSP violations in the portal");

    // Carol signs in to the demo: the role is in her access token.
    const { page: app } = await newPage(browser);
    await signIn(app, demo.base, USERS.carol, "separate");
    const claims = await panelClaims(app, "#access-token-panel");
    assert.match(claims.roles, /Orders\.Audit/, `roles claim: ${claims.roles}`);
    assert.deepEqual(app.problems, [], "page errors or CSP violations in the demo");
  } catch (e) {
    await failureShot(page, "portal-roles");
    throw e;
  }
});

test("users, groups, secrets, certificates and consents through the portal", async () => {
  const { page } = await newPage(browser);
  try {
    await portalSignIn(page, demo.base, USERS.alice);

    // A user and a group with that user in it.
    await view(page, "#/users", "#new-user-add");
    await page.fill("#new-user-name", "Dana Lee");
    await page.fill("#new-user-upn", "dana@contoso.test");
    await page.fill("#new-user-password", "dana-Passw0rd");
    await act(page, "#new-user-add", "User created");
    await page.waitForSelector('tr[data-user="dana@contoso.test"]');
    await page.click('tr[data-user="dana@contoso.test"] a');
    await page.waitForSelector("#user-password-button");
    await page.fill("#user-password", "dana-N3w-Passw0rd");
    await act(page, "#user-password-button", "Password reset");

    await view(page, "#/groups", "#new-group-add");
    await page.fill("#new-group-name", "Auditors");
    await act(page, "#new-group-add", "Group created");
    await page.click('tr[data-group="Auditors"] a');
    await page.waitForSelector("#member-add");
    await page.selectOption("#member-user", { label: "Dana Lee (dana@contoso.test)" });
    await act(page, "#member-add", "Member added");
    await page.waitForSelector('tr[data-member="dana@contoso.test"]');

    // A client secret is shown once, and it works.
    await view(page, "#/apps", "#new-app");
    await page.click("#new-app");
    await page.fill("#new-app-name", "Nightly job");
    await page.click("#new-app-submit");
    await page.waitForSelector("#secret-add");
    const appId = await page.$eval("#app-overview dd code", (c) => c.textContent);
    await page.fill("#secret-name", "ci");
    await page.click("#secret-add");
    await page.waitForSelector("#secret-value");
    const secret = await page.textContent("#secret-value");
    assert.ok(secret.length >= 32, secret);
    // (From Node, as a daemon would: a browser may not send a secret.)
    const token = await postForm(`${demo.base}/${TENANT_ID}/oauth2/v2.0/token`, {
      grant_type: "client_credentials", client_id: appId, client_secret: secret, scope: "https://graph.microsoft.com/.default",
    }, fs.readFileSync(demo.caPath));
    assert.equal(token.status, 200, JSON.stringify(token.body));
    assert.equal(token.body.token_type, "Bearer");
    assert.equal(claimsOf(token.body.access_token).roles, undefined, "no Graph permission yet");
    await page.reload();
    await page.waitForSelector('#app-secrets tr[data-secret]');
    assert.equal(await page.$("#secret-value"), null, "the secret is shown only once");

    // An application permission on Graph, requested and admin-consented:
    // the app's next Graph token carries it.
    await page.selectOption("#permission-api", { label: "Microsoft Graph" });
    await page.selectOption("#permission-type", "Role");
    await page.selectOption("#permission-value", { label: "User.Read.All" });
    await act(page, "#permission-add", "Permission added");
    await page.waitForSelector('#app-permissions tr[data-permission="User.Read.All"]');
    await act(page, "#grant-admin-consent", "Admin consent granted for the tenant");
    await page.waitForSelector('#app-permissions tr[data-permission="User.Read.All"] .ok');
    const consented = await postForm(`${demo.base}/${TENANT_ID}/oauth2/v2.0/token`, {
      grant_type: "client_credentials", client_id: appId, client_secret: secret, scope: "https://graph.microsoft.com/.default",
    }, fs.readFileSync(demo.caPath));
    assert.deepEqual(claimsOf(consented.body.access_token).roles, ["User.Read.All"]);

    // A certificate upload: a bad one is refused with Graph's message.
    await page.fill("#certificate-pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----");
    await page.click("#certificate-add");
    await page.waitForSelector("#toast.show.error");
    assert.match(await page.textContent("#toast"), /keyCredentials/);

    // Consent: the new app may call the Orders API for every user.
    await view(page, "#/consents", "#grant-add");
    await page.selectOption("#grant-client", { label: "Nightly job" });
    await page.selectOption("#grant-resource", { label: "Orders API" });
    await page.fill("#grant-scopes", "access_as_user");
    await act(page, "#grant-add", "Consent granted");
    await page.waitForSelector('tr[data-grant="Nightly job -> Orders API"]');

    // Its enterprise application deleted (the consent goes with it) and
    // created again from the registration's page.
    page.on("dialog", (dialog) => dialog.accept());
    await view(page, "#/enterprise", `tr[data-sp="${appId}"] a`);
    await page.click(`tr[data-sp="${appId}"] a`);
    await act(page, "#sp-delete-button", "Enterprise application deleted");
    await page.waitForSelector(`tr[data-sp="${API}"]`); // the list, rendered after the deletion
    assert.equal(await page.$(`tr[data-sp="${appId}"]`), null);
    const refused = await postForm(`${demo.base}/${TENANT_ID}/oauth2/v2.0/token`, {
      grant_type: "client_credentials", client_id: appId, client_secret: secret, scope: "https://graph.microsoft.com/.default",
    }, fs.readFileSync(demo.caPath));
    assert.deepEqual([refused.status, refused.body.error_codes], [400, [700016]]);
    await view(page, "#/consents", "#grant-add");
    assert.equal(await page.$('tr[data-grant="Nightly job -> Orders API"]'), null);
    await view(page, "#/apps", `tr[data-app="${appId}"] a`);
    await page.click(`tr[data-app="${appId}"] a`);
    await act(page, "#sp-create", "Enterprise application created");
    await page.waitForSelector("#app-overview a[href^='#/enterprise/']");
    assert.deepEqual(page.problems, [], "page errors or CSP violations in the portal");
  } catch (e) {
    await failureShot(page, "portal-directory");
    throw e;
  }
});

test("a user without a directory role is refused at sign-in (AADSTS50105)", async () => {
  const { page } = await newPage(browser);
  try {
    await portalSignIn(page, demo.base, USERS.bob);
    await page.waitForSelector("#problem");
    const problem = await page.textContent("#problem");
    assert.match(problem, /AADSTS50105/);
    assert.match(problem, /directory role/);
    assert.equal(await page.$eval("#nav", (n) => n.hidden), true);
    // Graph refuses the portal's client for him all the same: no token was issued.
    assert.equal(await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith("rolegate.portal.") && !k.endsWith(".pending")).length), 0);
  } catch (e) {
    await failureShot(page, "portal-refused");
    throw e;
  }
});

test("every page of the portal renders without a page error, for every object of the demo tenant", async () => {
  const { page } = await newPage(browser);
  try {
    await portalSignIn(page, demo.base, USERS.alice);
    const links = async (hash, selector) => {
      await view(page, hash, selector);
      return page.$$eval(selector, (as) => as.map((a) => a.getAttribute("href")));
    };
    const pages = [
      "#/", "#/consents", "#/enterprise?all",
      ...await links("#/apps", "main table a[href^='#/apps/']"),
      ...await links("#/enterprise?all", "main table a[href^='#/enterprise/']"),
      ...await links("#/users", "main table a[href^='#/users/']"),
      ...await links("#/groups", "main table a[href^='#/groups/']"),
    ];
    assert.ok(pages.length > 15, pages.join(" "));
    for (const hash of pages) {
      await page.evaluate((h) => { location.hash = h; }, hash);
      await page.waitForFunction((h) => document.querySelector("main").dataset.rendered === h, hash);
      assert.equal(await page.$("#problem"), null, `${hash}: ${await page.textContent("main")}`);
    }
    assert.deepEqual(page.problems, [], "page errors or CSP violations in the portal");
  } catch (e) {
    await failureShot(page, "portal-pages");
    throw e;
  }
});
