// Shared pieces of the msal-node end-to-end tests: the environment set by
// e2e/run.sh, the tenant's ids, a JWT payload decoder, `rolegate token check`,
// and what a browser does on the sign-in and device-code pages (plain HTTP
// with a cookie jar; no browser is needed).
//
// The TLS trust comes from NODE_EXTRA_CA_CERTS (the local CA of `rolegate
// idp`), which both msal-node's https client and node's fetch honour.

import { spawnSync } from "node:child_process";

function need(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run these tests through e2e/run.sh (it starts rolegate idp and exports ROLEGATE_E2E_*)`);
  }
  return value;
}

export const PORT = need("ROLEGATE_E2E_PORT");
export const AUTHORITY = need("ROLEGATE_E2E_AUTHORITY"); // https://localhost:<port>/<tenant id>
export const CA_FILE = need("ROLEGATE_E2E_CA");
export const ROLEGATE = need("ROLEGATE_E2E_BIN");
export const ORIGIN = `https://localhost:${PORT}`;
export const KNOWN_AUTHORITY = `localhost:${PORT}`;

export const TENANT_ID = "7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b";
export const ISSUER = `${ORIGIN}/${TENANT_ID}/v2.0`;
export const API = "8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c";
export const API_URI = `api://${API}`;
export const API_SCOPE = `${API_URI}/access_as_user`;
export const API_DEFAULT = `${API_URI}/.default`;
export const DAEMON = "7fbf04bb-64db-4661-a8cd-d2d07d250ad8";
export const DAEMON_SECRET = "daemon-secret-8Qx3vT7pLm2Zr9Wc";
export const CLI = "c2e9bc59-4581-415a-9b7f-78e66989c5c8";
export const USERS = {
  alice: { username: "alice@contoso.test", password: "alice-Passw0rd", oid: "8d3c2b1a-0f9e-4d8c-b7a6-5e4f3a2b1c0d" },
  bob: { username: "bob@contoso.test", password: "bob-Passw0rd", oid: "1a2b3c4d-5e6f-4a8b-9c0d-e1f2a3b4c5d6" },
};

/** Bound on every HTTP request the helpers make. */
const HTTP_TIMEOUT_MS = 15_000;

/** The msal-node `auth` block every test uses: unmodified msal-node, only knownAuthorities added. */
export function msalAuth(clientId, extra = {}) {
  return { clientId, authority: AUTHORITY, knownAuthorities: [KNOWN_AUTHORITY], ...extra };
}

/**
 * msal-node `system` block: errors on stderr, no PII. (Warnings are left out:
 * msal-node warns "No client info in response" on every client-credentials
 * token, which never has a user; the tests assert on client_info where it matters.)
 */
export const msalSystem = {
  loggerOptions: {
    piiLoggingEnabled: false,
    logLevel: 0, // LogLevel.Error
    loggerCallback: (_level, message) => console.error(`[msal] ${message}`),
  },
};

/** The payload of a compact JWS, decoded without verification (the CLI verifies). */
export function claimsOf(jwt) {
  const parts = String(jwt).split(".");
  if (parts.length !== 3) throw new Error(`not a compact JWS (${parts.length} segments)`);
  return JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
}

/**
 * `rolegate token check <token> --authority … --audience <API> --ca-file … --json`
 * (against the shared provider unless `authority` names another one).
 * Returns { status, result } where result is the parsed JSON report.
 */
export function tokenCheck(token, { requireRole, audience = API, authority = AUTHORITY, clockSkew, extra = [] } = {}) {
  const args = ["token", "check", token, "--authority", authority, "--audience", audience, "--ca-file", CA_FILE, "--json", ...extra];
  if (requireRole) args.push("--require-role", requireRole);
  if (clockSkew !== undefined) args.push("--clock-skew", String(clockSkew));
  const run = spawnSync(ROLEGATE, args, { encoding: "utf8", timeout: 60_000 });
  if (run.error) throw run.error;
  let result;
  try {
    result = JSON.parse(run.stdout);
  } catch {
    throw new Error(`rolegate token check printed no JSON (exit ${run.status}): stdout=${run.stdout} stderr=${run.stderr}`);
  }
  return { status: run.status, result, stderr: run.stderr };
}

/** Entities a server-rendered page escapes in attribute values. */
export function htmlUnescape(s) {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#x27;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

/** The value of `<input … name="NAME" … value="…">` in a page, unescaped. */
export function hiddenInput(html, name) {
  for (const tag of html.match(/<input\b[^>]*>/gi) ?? []) {
    const n = /\bname="([^"]*)"/i.exec(tag);
    if (n && n[1] === name) {
      const v = /\bvalue="([^"]*)"/i.exec(tag);
      return v ? htmlUnescape(v[1]) : "";
    }
  }
  throw new Error(`no <input name="${name}"> in the page:\n${html.slice(0, 2000)}`);
}

/** What a browser keeps between requests to one origin: its cookies (name → value). */
export class Browser {
  constructor() {
    this.cookies = new Map();
  }

  async request(url, { method = "GET", form } = {}) {
    const headers = { accept: "text/html,application/xhtml+xml" };
    if (this.cookies.size) {
      headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    }
    let body;
    if (form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(form).toString();
    }
    const response = await fetch(url, {
      method,
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq > 0) this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, url };
  }
}

function describe(response) {
  return `${response.status} from ${response.url}\n${response.text.slice(0, 2000)}`;
}

/**
 * Signs `user` in on the page the authorization URL leads to (of whichever
 * provider the URL names) and returns the URL the provider redirects to (the
 * app's redirect URI with code/state…).
 */
export async function signIn(authUrl, user) {
  const browser = new Browser();
  const page = await browser.request(authUrl);
  if (page.status !== 200) throw new Error(`GET authorization URL: expected 200, got ${describe(page)}`);
  if (!browser.cookies.has("__Host-rolegate_csrf")) throw new Error("the sign-in page set no __Host-rolegate_csrf cookie");
  // The form posts to /{tenant}/rolegate/login of the provider that served the page.
  const { origin, pathname } = new URL(authUrl);
  const posted = await browser.request(`${origin}/${pathname.split("/")[1]}/rolegate/login`, {
    method: "POST",
    form: {
      csrf: hiddenInput(page.text, "csrf"),
      request: hiddenInput(page.text, "request"),
      username: user.username,
      password: user.password,
    },
  });
  const location = posted.headers.get("location");
  if (![302, 303].includes(posted.status) || !location) {
    throw new Error(`POST /rolegate/login: expected a 302/303 redirect, got ${describe(posted)}`);
  }
  return new URL(location, posted.url);
}

/**
 * Approves a device code on the verification page as `user`, in its two
 * steps (code and account, then the confirmation that names the app, the
 * user and the scopes); returns the final page's HTML.
 */
export async function approveDeviceCode(verificationUri, userCode, user) {
  const browser = new Browser();
  const page = await browser.request(verificationUri);
  if (page.status !== 200) throw new Error(`GET ${verificationUri}: expected 200, got ${describe(page)}`);
  const confirm = await browser.request(verificationUri, {
    method: "POST",
    form: {
      csrf: hiddenInput(page.text, "csrf"),
      user_code: userCode,
      username: user.username,
      password: user.password,
      decision: "approve",
    },
  });
  if (confirm.status !== 200 || !confirm.text.includes(user.username)) {
    throw new Error(`POST ${verificationUri}: expected the confirmation page, got ${describe(confirm)}`);
  }
  const done = await browser.request(verificationUri, {
    method: "POST",
    form: {
      csrf: hiddenInput(confirm.text, "csrf"),
      user_code: hiddenInput(confirm.text, "user_code"),
      decision: "confirm",
    },
  });
  if (done.status !== 200) throw new Error(`POST ${verificationUri}: expected 200, got ${describe(done)}`);
  return done.text;
}
