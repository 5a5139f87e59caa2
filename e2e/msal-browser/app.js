// The test page's script. It uses only the public API of the unmodified
// @azure/msal-browser bundle (global `msal`); the configuration comes from
// /config.json, served next to this file by the test's static server:
//   { clientId, authority, knownAuthority, redirectUri, scope, apiUrl }
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const msalLog = []; // MSAL's own log lines; the test prints them when something fails
  window.__msalLog = msalLog;

  let app;
  let config;
  let accessToken = "";

  function setState(state) {
    document.body.dataset.state = state;
    $("state").textContent = state;
  }

  function finish(op, outcome) {
    const r = $("result");
    r.dataset.op = op;
    r.dataset.outcome = outcome;
    r.dataset.seq = String(Number(r.dataset.seq) + 1);
    r.textContent = `${op}: ${outcome}`;
  }

  function showError(op, e) {
    const parts = [`${op} failed`];
    if (e && e.errorCode) parts.push(`errorCode: ${e.errorCode}`);
    if (e && e.subError) parts.push(`subError: ${e.subError}`);
    if (e && e.errorMessage) parts.push(`errorMessage: ${e.errorMessage}`);
    parts.push(`message: ${e && e.message ? e.message : String(e)}`);
    if (e && e.stack) parts.push(e.stack);
    $("error").textContent = parts.join("\n");
  }

  function claimsOf(jwt) {
    const payload = String(jwt).split(".")[1] || "";
    const b64 = payload.replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      Array.from(atob(b64 + "===".slice((b64.length + 3) % 4)))
        .map((c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0"))
        .join(""),
    );
    return JSON.parse(json);
  }

  function showAccount(account) {
    $("account").textContent = account
      ? JSON.stringify({
          homeAccountId: account.homeAccountId,
          localAccountId: account.localAccountId,
          environment: account.environment,
          tenantId: account.tenantId,
          username: account.username,
          name: account.name,
        }, null, 2)
      : "";
  }

  function showToken(result) {
    accessToken = result.accessToken || "";
    $("access-token").textContent = accessToken;
    $("from-cache").textContent = String(result.fromCache);
    $("expires-on").textContent = result.expiresOn ? new Date(result.expiresOn).toISOString() : "";
    $("scopes").textContent = (result.scopes || []).join(" ");
    $("token-claims").textContent = accessToken ? JSON.stringify(claimsOf(accessToken), null, 2) : "";
    showAccount(result.account);
  }

  function currentAccount() {
    return app.getActiveAccount() || app.getAllAccounts()[0] || null;
  }

  async function run(op, body) {
    $("error").textContent = "";
    try {
      await body();
      finish(op, "ok");
    } catch (e) {
      showError(op, e);
      finish(op, "error");
    }
  }

  async function silent(forceRefresh) {
    const account = currentAccount();
    if (!account) throw new Error("no signed-in account: log in first");
    const result = await app.acquireTokenSilent({ scopes: [config.scope], account, forceRefresh });
    showToken(result);
  }

  async function callApi() {
    if (!accessToken) throw new Error("no access token yet: acquire one first");
    $("api-status").textContent = "";
    $("api-body").textContent = "";
    const response = await fetch(config.apiUrl, { headers: { Authorization: `Bearer ${accessToken}` } });
    $("api-status").textContent = String(response.status);
    $("api-body").textContent = await response.text();
  }

  async function main() {
    $("msal-version").textContent = msal.version || "";
    config = await (await fetch("/config.json", { cache: "no-store" })).json();

    app = new msal.PublicClientApplication({
      auth: {
        clientId: config.clientId,
        authority: config.authority,
        knownAuthorities: [config.knownAuthority],
        redirectUri: config.redirectUri,
      },
      cache: { cacheLocation: "sessionStorage" },
      system: {
        loggerOptions: {
          logLevel: msal.LogLevel.Verbose,
          piiLoggingEnabled: false,
          loggerCallback: (level, message) => msalLog.push(`[${level}] ${message}`),
        },
      },
    });
    await app.initialize();

    $("login").addEventListener("click", () =>
      run("login", async () => {
        // Navigates away: the outcome is reported by handleRedirectPromise on the way back.
        await app.loginRedirect({ scopes: [config.scope] });
      }));
    $("acquire").addEventListener("click", () => run("acquire", () => silent(false)));
    $("refresh").addEventListener("click", () => run("refresh", () => silent(true)));
    $("call-api").addEventListener("click", () => run("call-api", callApi));

    await run("redirect", async () => {
      const result = await app.handleRedirectPromise();
      if (result) {
        app.setActiveAccount(result.account);
        $("redirect-result").textContent = JSON.stringify({
          fromCache: result.fromCache,
          scopes: result.scopes,
          tenantId: result.tenantId,
          uniqueId: result.uniqueId,
          hasAccessToken: Boolean(result.accessToken),
          hasIdToken: Boolean(result.idToken),
          idTokenClaims: result.idTokenClaims,
        }, null, 2);
        showToken(result);
      } else {
        showAccount(currentAccount());
      }
    });

    for (const id of ["login", "acquire", "refresh", "call-api"]) $(id).disabled = false;
    setState("ready");
  }

  main().catch((e) => {
    showError("start-up", e);
    setState("error");
  });
})();
