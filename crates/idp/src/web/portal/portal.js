// rolegate admin portal: a single-page Graph client.
//
// Sign-in: authorization code with PKCE (S256) as the built-in portal client,
// redirect URI = this page; the access token (Graph, scope
// Directory.AccessAsUser.All) lives in sessionStorage for this tab only.
// Everything the portal shows or changes goes through the Graph subset at
// /v1.0/ with that token: Graph checks the signed-in user's directory roles.
//
// No framework, no build step: DOM built with createElement/textContent only
// (never innerHTML with data), so directory content cannot inject markup.

const cfg = document.body.dataset;
const ORIGIN = cfg.origin;
const AUTHORITY = `${ORIGIN}/${cfg.segment}`;
const PAGE = `${AUTHORITY}/portal/`;
const CLIENT_ID = cfg.clientId;
const SCOPE = `openid profile ${cfg.scope}`;
const KEY = `rolegate.portal.${cfg.tenantId}`;
const MAX_PAGES = 100;

const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";
const DEFAULT_ACCESS = "00000000-0000-0000-0000-000000000000";
const USER_ROLE = "b79fbf4d-3ef9-4689-8143-76b194e85509";
const DIRECTORY_ROLES = {
  "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
  "f2ef992c-3afb-46b9-b7cf-a126ee74c451": "Global Reader",
  "fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
  "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
  "158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
  "e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
  "194ae4cb-b126-40b2-bd5b-6091b380977d": "Security Administrator",
  "5d6b6bb7-de71-4623-b4af-96380a352509": "Security Reader",
  "fdd7a751-b60b-444a-984c-02652fe8fa1c": "Groups Administrator",
  "729827e3-9c14-49f7-bb1b-9608f156bbb8": "Helpdesk Administrator",
};
const MICROSOFT_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";

const main = document.getElementById("main");

// ------------------------------------------------------------------ DOM

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (typeof v === "boolean") node[k] = v;
    else node.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

const code = (text) => el("code", null, text);

function table(headers, rows, empty) {
  if (!rows.length) return el("p", { class: "muted" }, empty || "None yet.");
  return el("table", null,
    el("thead", null, el("tr", null, headers.map((h) => el("th", null, h)))),
    el("tbody", null, rows));
}

function card(id, title, ...content) {
  return el("section", { class: "card", id }, el("h2", null, title), ...content);
}

function field(label, input, hint) {
  return el("label", { class: "field" }, el("span", null, label), input, hint ? el("small", null, hint) : null);
}

function select(id, options, value) {
  return el("select", { id },
    options.map(([v, text]) => el("option", { value: v, selected: v === value }, text)));
}

let toastTimer;
function toast(message, kind = "ok") {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.className = `show ${kind}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.className = ""; }, kind === "error" ? 9000 : 3500);
}

// Runs a change: the button is disabled meanwhile, errors are shown as
// Graph gave them, success re-renders the current view.
async function act(button, work, done) {
  if (button) button.disabled = true;
  try {
    const result = await work();
    if (done) toast(done);
    await render();
    return result;
  } catch (e) {
    toast(describe(e), "error");
    if (button) button.disabled = false;
    return undefined;
  }
}

function describe(e) {
  if (e instanceof GraphFailure) return `${e.code}: ${e.message}`;
  return e && e.message ? e.message : String(e);
}

function copyable(text, id) {
  const pre = el("pre", { id }, text);
  const button = el("button", {
    type: "button", class: "quiet copy",
    onclick: async () => {
      try { await navigator.clipboard.writeText(text); toast("Copied"); } catch { toast("Select the text and copy it", "error"); }
    },
  }, "Copy");
  return el("div", { class: "snippet" }, button, pre);
}

// ------------------------------------------------------------------ sign-in

class SignInError extends Error {
  constructor(code, description) { super(description || code); this.code = code; }
}

function b64url(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function random(n) { return b64url(crypto.getRandomValues(new Uint8Array(n))); }

function claimsOf(jwt) {
  const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

async function signIn(prompt) {
  const verifier = random(32);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  const state = random(16);
  const nonce = random(16);
  sessionStorage.setItem(`${KEY}.pending`, JSON.stringify({ verifier, state, nonce, back: location.hash }));
  const query = new URLSearchParams({
    client_id: CLIENT_ID,
    response_type: "code",
    response_mode: "query",
    redirect_uri: PAGE,
    scope: SCOPE,
    code_challenge: b64url(new Uint8Array(digest)),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  if (prompt) query.set("prompt", prompt);
  location.assign(`${AUTHORITY}/oauth2/v2.0/authorize?${query}`);
}

// Finishes a sign-in this tab started: the answer's state must be the one
// saved, the ID token's nonce the one sent.
async function completeSignIn() {
  const answer = new URLSearchParams(location.search);
  if (!answer.has("code") && !answer.has("error")) return;
  const pending = JSON.parse(sessionStorage.getItem(`${KEY}.pending`) || "null");
  sessionStorage.removeItem(`${KEY}.pending`);
  history.replaceState(null, "", location.pathname + (pending && pending.back ? pending.back : ""));
  if (!pending || answer.get("state") !== pending.state) {
    throw new SignInError("state_mismatch", "This sign-in answer does not belong to a sign-in this tab started. Sign in again.");
  }
  if (answer.has("error")) throw new SignInError(answer.get("error"), answer.get("error_description"));
  const response = await fetch(`${AUTHORITY}/oauth2/v2.0/token`, {
    method: "POST",
    body: new URLSearchParams({
      client_id: CLIENT_ID,
      grant_type: "authorization_code",
      code: answer.get("code"),
      redirect_uri: PAGE,
      code_verifier: pending.verifier,
      scope: SCOPE,
    }),
  });
  const body = await response.json();
  if (!response.ok) throw new SignInError(body.error, body.error_description);
  const id = claimsOf(body.id_token);
  if (id.nonce !== pending.nonce) throw new SignInError("nonce_mismatch", "The ID token answers another sign-in. Sign in again.");
  sessionStorage.setItem(KEY, JSON.stringify({
    accessToken: body.access_token,
    // Renewed (by a new sign-in, silent while the provider's session lasts)
    // a minute early, or half-way for short-lived tokens.
    expiresAt: Date.now() + Math.max(body.expires_in - 60, body.expires_in / 2) * 1000,
    name: id.name,
    username: id.preferred_username,
    oid: id.oid,
    // wids also lists the "User" template every member holds: not an admin role.
    roles: (id.wids || []).filter((w) => w !== USER_ROLE).map((w) => DIRECTORY_ROLES[w] || w),
  }));
}

function session() {
  const saved = JSON.parse(sessionStorage.getItem(KEY) || "null");
  return saved && saved.expiresAt > Date.now() ? saved : null;
}

function signOut() {
  sessionStorage.removeItem(KEY);
  const query = new URLSearchParams({ client_id: CLIENT_ID, post_logout_redirect_uri: PAGE });
  location.assign(`${AUTHORITY}/oauth2/v2.0/logout?${query}`);
}

// ------------------------------------------------------------------ Graph

class GraphFailure extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

async function graph(method, path, body) {
  const s = session();
  if (!s) {
    await signIn();
    throw new Error("Signing in again…");
  }
  const headers = { Authorization: `Bearer ${s.accessToken}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/v1.0/${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (response.status === 401) {
    sessionStorage.removeItem(KEY);
    await signIn();
    throw new Error("The session ended; signing in again…");
  }
  if (!response.ok) {
    const error = (json && json.error) || {};
    throw new GraphFailure(response.status, error.code || `HTTP ${response.status}`, error.message || response.statusText);
  }
  return json;
}

// Every page of a collection (bounded).
async function list(path) {
  const items = [];
  let next = path;
  for (let i = 0; next && i < MAX_PAGES; i++) {
    const page = await graph("GET", next);
    items.push(...page.value);
    const link = page["@odata.nextLink"];
    next = link ? link.slice(link.indexOf("/v1.0/") + "/v1.0/".length) : null;
  }
  return items;
}

const enc = encodeURIComponent;
const post = (path, body) => graph("POST", path, body);
const patch = (path, body) => graph("PATCH", path, body);
const del = (path) => graph("DELETE", path);

// ------------------------------------------------------------------ views

async function home() {
  const s = session();
  const [apps, sps, users, groups] = await Promise.all([
    list("applications?$select=id"), list("servicePrincipals?$select=id"),
    list("users?$select=id"), list("groups?$select=id"),
  ]);
  const tile = (href, count, label) => el("a", { class: "tile", href }, el("strong", null, String(count)), el("span", null, label));
  return [
    el("h1", null, "Overview"),
    el("p", null, "Signed in as ", el("strong", null, s.name || s.username), ` (${s.username}), `,
      s.roles.length ? s.roles.join(", ") : "no directory role", "."),
    el("div", { class: "tiles" },
      tile("#/apps", apps.length, "App registrations"),
      tile("#/enterprise", sps.length, "Enterprise applications"),
      tile("#/users", users.length, "Users"),
      tile("#/groups", groups.length, "Groups")),
    card("tenant-info", "Tenant",
      el("dl", null,
        el("dt", null, "Directory (tenant) ID"), el("dd", null, code(cfg.tenantId)),
        el("dt", null, "Domain"), el("dd", null, cfg.tenantDomain),
        el("dt", null, "Authority"), el("dd", null, code(`${ORIGIN}/${cfg.tenantId}`)),
        el("dt", null, "OpenID configuration"), el("dd", null, code(`${ORIGIN}/${cfg.tenantId}/v2.0/.well-known/openid-configuration`)),
        el("dt", null, "Microsoft Graph (this subset)"), el("dd", null, code(`${ORIGIN}/v1.0/`)))),
  ];
}

// ---- app registrations

async function appsView() {
  const apps = await list("applications");
  apps.sort((a, b) => a.displayName.localeCompare(b.displayName));
  const rows = apps.map((a) => el("tr", { dataset: { app: a.appId } },
    el("td", null, el("a", { href: `#/apps/${a.id}` }, a.displayName)),
    el("td", null, code(a.appId)),
    el("td", null, a.signInAudience === "AzureADMultipleOrgs" ? "Multiple organizations" : "This organization"),
    el("td", null, String(a.appRoles.length)),
    el("td", null, String(a.api.oauth2PermissionScopes.length))));
  const form = el("form", { id: "new-app-form", class: "inline-form", hidden: true },
    field("Name", el("input", { id: "new-app-name", required: true, placeholder: "Orders API" })),
    field("Supported account types", select("new-app-audience", [
      ["AzureADMyOrg", "Accounts in this organizational directory only"],
      ["AzureADMultipleOrgs", "Accounts in any organizational directory"],
    ], "AzureADMyOrg")),
    field("Redirect URI platform", select("new-app-platform", [
      ["", "None (an API)"], ["spa", "Single-page application"], ["web", "Web"], ["publicClient", "Public client / native"],
    ], "")),
    field("Redirect URI", el("input", { id: "new-app-redirect", placeholder: "http://localhost:3000/" })),
    el("button", { id: "new-app-submit", type: "submit" }, "Register"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const submit = form.querySelector("button[type=submit]");
    const platform = form.querySelector("#new-app-platform").value;
    const uri = form.querySelector("#new-app-redirect").value.trim();
    const body = {
      displayName: form.querySelector("#new-app-name").value.trim(),
      signInAudience: form.querySelector("#new-app-audience").value,
    };
    if (platform && uri) body[platform] = { redirectUris: [uri] };
    act(submit, async () => {
      const app = await post("applications", body);
      // As the Entra admin center does: the service principal comes with it.
      await post("servicePrincipals", { appId: app.appId });
      location.hash = `#/apps/${app.id}`;
    }, "Application registered");
  });
  return [
    el("div", { class: "title-row" }, el("h1", null, "App registrations"),
      el("button", { id: "new-app", type: "button", onclick: () => { form.hidden = false; form.querySelector("input").focus(); } }, "+ New registration")),
    form,
    table(["Display name", "Application (client) ID", "Accounts", "App roles", "Scopes"], rows, "No app registrations yet."),
  ];
}

async function appView(id) {
  const app = await graph("GET", `applications/${enc(id)}`);
  const sps = await list(`servicePrincipals?$filter=${enc(`appId eq '${app.appId}'`)}`);
  const sp = sps[0];
  const path = `applications/${enc(app.id)}`;
  return [
    el("p", { class: "crumbs" }, el("a", { href: "#/apps" }, "App registrations"), " / ", app.displayName),
    el("h1", { id: "app-title" }, app.displayName),
    jumpLinks([["app-overview", "Overview"], ["app-auth", "Authentication"], ["app-secrets", "Secrets"],
      ["app-certs", "Certificates"], ["app-api", "Expose an API"], ["app-roles", "App roles"],
      ["app-permissions", "API permissions"], ["app-quickstart", "Quickstart"]]),
    overviewCard(app, sp, path),
    authenticationCard(app, path),
    secretsCard(app, path),
    certificatesCard(app, path),
    exposeApiCard(app, path),
    appRolesCard(app, path),
    await permissionsCard(app, path, sp),
    quickstartCard(app),
    card("app-delete", "Delete",
      el("p", null, "Deletes the registration, its service principal, its role assignments and the consents naming it."),
      el("button", {
        id: "app-delete-button", type: "button", class: "danger",
        onclick: (e) => {
          if (!confirm(`Delete ${app.displayName}?`)) return;
          act(e.target, async () => { await del(path); location.hash = "#/apps"; }, "Application deleted");
        },
      }, "Delete application")),
  ];
}

// In-page links (buttons: the hash is the router's).
function jumpLinks(targets) {
  return el("p", { class: "jump" }, targets.map(([id, label]) => el("button", {
    type: "button", class: "quiet",
    onclick: () => document.getElementById(id).scrollIntoView({ behavior: "smooth", block: "start" }),
  }, label)));
}

function overviewCard(app, sp, path) {
  const name = el("input", { id: "app-rename", value: app.displayName });
  return card("app-overview", "Overview",
    el("dl", null,
      el("dt", null, "Application (client) ID"), el("dd", null, code(app.appId)),
      el("dt", null, "Object ID"), el("dd", null, code(app.id)),
      el("dt", null, "Directory (tenant) ID"), el("dd", null, code(cfg.tenantId)),
      el("dt", null, "Supported account types"), el("dd", null, app.signInAudience),
      el("dt", null, "Application ID URI"), el("dd", null, app.identifierUris.length ? app.identifierUris.map(code) : el("span", { class: "muted" }, "none (Expose an API sets one)")),
      el("dt", null, "Enterprise application"), el("dd", null, sp
        ? el("a", { href: `#/enterprise/${sp.id}` }, "Users, groups and assignment settings")
        : [el("span", { class: "muted" }, "none: the app gets no tokens and none are issued for it "),
          el("button", {
            id: "sp-create", type: "button", class: "quiet",
            onclick: (e) => act(e.target, () => post("servicePrincipals", { appId: app.appId }), "Enterprise application created"),
          }, "Create it")])),
    el("div", { class: "row" }, field("Display name", name),
      el("button", { type: "button", onclick: (e) => act(e.target, () => patch(path, { displayName: name.value.trim() }), "Renamed") }, "Rename")));
}

function authenticationCard(app, path) {
  const platforms = [["spa", "Single-page application"], ["web", "Web"], ["publicClient", "Public client / native"]];
  const rows = [];
  for (const [key, label] of platforms) {
    for (const uri of app[key].redirectUris) {
      rows.push(el("tr", { dataset: { redirect: uri } },
        el("td", null, label), el("td", null, code(uri)),
        el("td", null, el("button", {
          type: "button", class: "quiet",
          onclick: (e) => act(e.target, () => patch(path, { [key]: { redirectUris: app[key].redirectUris.filter((u) => u !== uri) } }), "Redirect URI removed"),
        }, "Remove"))));
    }
  }
  const platform = select("redirect-platform", platforms, "spa");
  const uri = el("input", { id: "redirect-uri", placeholder: "http://localhost:3000/" });
  const fallback = el("input", { id: "public-client-flows", type: "checkbox", checked: !!app.isFallbackPublicClient });
  fallback.addEventListener("change", () => act(null, () => patch(path, { isFallbackPublicClient: fallback.checked }), "Saved"));
  return card("app-auth", "Authentication",
    table(["Platform", "Redirect URI", ""], rows, "No redirect URIs: the app cannot sign users in interactively."),
    el("div", { class: "row" }, field("Platform", platform), field("Redirect URI", uri),
      el("button", {
        id: "redirect-add", type: "button",
        onclick: (e) => {
          const key = platform.value;
          const value = uri.value.trim();
          if (!value) return toast("Enter a redirect URI", "error");
          act(e.target, () => patch(path, { [key]: { redirectUris: [...app[key].redirectUris, value] } }), "Redirect URI added");
        },
      }, "Add URI")),
    el("label", { class: "check" }, fallback, " Allow public client flows (device code, ROPC without a secret)"));
}

function secretsCard(app, path) {
  const rows = app.passwordCredentials.map((s) => el("tr", { dataset: { secret: s.keyId } },
    el("td", null, s.displayName || ""), el("td", null, code(`${s.hint || ""}…`)),
    el("td", null, s.endDateTime ? s.endDateTime.slice(0, 10) : "never"), el("td", null, code(s.keyId)),
    el("td", null, el("button", {
      type: "button", class: "quiet",
      onclick: (e) => act(e.target, () => post(`${path}/removePassword`, { keyId: s.keyId }), "Secret removed"),
    }, "Delete"))));
  const name = el("input", { id: "secret-name", placeholder: "ci pipeline" });
  const shown = el("div", { id: "secret-shown" });
  return card("app-secrets", "Client secrets",
    table(["Description", "Value", "Expires", "Secret ID", ""], rows, "No client secrets."),
    el("div", { class: "row" }, field("Description", name),
      el("button", {
        id: "secret-add", type: "button",
        onclick: async (e) => {
          e.target.disabled = true;
          try {
            const created = await post(`${path}/addPassword`, { passwordCredential: { displayName: name.value.trim() || null } });
            await render();
            // Shown once: the provider keeps only a hash.
            const box = document.getElementById("secret-shown");
            box.replaceChildren(el("div", { class: "once" },
              el("p", null, el("strong", null, "Copy the secret now: "), "it is not shown again."),
              copyable(created.secretText, "secret-value")));
            toast("Secret added");
          } catch (err) {
            toast(describe(err), "error");
            e.target.disabled = false;
          }
        },
      }, "New client secret")),
    shown);
}

function pemToBase64(text) {
  const match = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(text);
  if (!match) throw new Error("Not a PEM certificate: expected -----BEGIN CERTIFICATE-----");
  return match[1].replace(/\s+/g, "");
}

function certificatesCard(app, path) {
  const keep = (except) => app.keyCredentials.filter((k) => k.keyId !== except).map((k) => ({ keyId: k.keyId, type: k.type, usage: k.usage }));
  const rows = app.keyCredentials.map((k) => el("tr", { dataset: { certificate: k.customKeyIdentifier } },
    el("td", null, k.displayName || ""), el("td", null, code(k.customKeyIdentifier)),
    el("td", null, (k.startDateTime || "").slice(0, 10)), el("td", null, (k.endDateTime || "").slice(0, 10)),
    el("td", null, el("button", {
      type: "button", class: "quiet",
      onclick: (e) => act(e.target, () => patch(path, { keyCredentials: keep(k.keyId) }), "Certificate removed"),
    }, "Delete"))));
  const pem = el("textarea", { id: "certificate-pem", rows: "4", placeholder: "-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----" });
  const file = el("input", { id: "certificate-file", type: "file", accept: ".pem,.crt,.cer" });
  file.addEventListener("change", async () => {
    const chosen = file.files[0];
    if (!chosen) return;
    const bytes = new Uint8Array(await chosen.arrayBuffer());
    const text = new TextDecoder().decode(bytes);
    pem.value = text.includes("-----BEGIN") ? text : `-----BEGIN CERTIFICATE-----\n${b64url(bytes).replace(/-/g, "+").replace(/_/g, "/")}\n-----END CERTIFICATE-----`;
  });
  const name = el("input", { id: "certificate-name", placeholder: "signing certificate" });
  return card("app-certs", "Certificates",
    el("p", { class: "muted" }, "Public certificates the app signs client assertions with (private_key_jwt). Never upload a private key."),
    table(["Description", "Thumbprint (SHA-1)", "Start", "Expires", ""], rows, "No certificates."),
    field("Certificate (PEM, or choose a .pem/.cer file)", pem), file,
    el("div", { class: "row" }, field("Description", name),
      el("button", {
        id: "certificate-add", type: "button",
        onclick: (e) => {
          let key;
          try { key = pemToBase64(pem.value); } catch (err) { return toast(err.message, "error"); }
          act(e.target, () => patch(path, {
            keyCredentials: [...keep(null), { type: "AsymmetricX509Cert", usage: "Verify", key, displayName: name.value.trim() || null }],
          }), "Certificate uploaded");
        },
      }, "Upload certificate")));
}

function exposeApiCard(app, path) {
  const scopes = app.api.oauth2PermissionScopes;
  const rows = scopes.map((s) => el("tr", { dataset: { scope: s.value } },
    el("td", null, code(s.value)), el("td", null, s.adminConsentDisplayName || ""),
    el("td", null, s.type === "Admin" ? "Admins only" : "Admins and users"),
    el("td", null, el("button", {
      type: "button", class: "quiet",
      onclick: (e) => act(e.target, () => patch(path, { api: { oauth2PermissionScopes: scopes.filter((x) => x.id !== s.id) } }), "Scope removed"),
    }, "Delete"))));
  const uri = el("input", { id: "api-uri", value: app.identifierUris[0] || `api://${app.appId}` });
  const value = el("input", { id: "scope-value", placeholder: "access_as_user" });
  const name = el("input", { id: "scope-name", placeholder: "Access the API as the signed-in user" });
  const who = select("scope-who", [["User", "Admins and users"], ["Admin", "Admins only"]], "User");
  const version = select("token-version", [["1", "v1.0 (the default)"], ["2", "v2.0"]], String(app.api.requestedAccessTokenVersion || 1));
  version.addEventListener("change", () => act(null, () => patch(path, { api: { requestedAccessTokenVersion: Number(version.value) } }), "Token version saved"));
  return card("app-api", "Expose an API",
    el("div", { class: "row" }, field("Application ID URI", uri),
      el("button", { id: "api-uri-set", type: "button", onclick: (e) => act(e.target, () => patch(path, { identifierUris: uri.value.trim() ? [uri.value.trim()] : [] }), "Application ID URI saved") }, "Save"),
      field("Access token version", version, "v1.0: aud = App ID URI; v2.0: aud = client id")),
    el("h3", null, "Scopes (delegated permissions)"),
    table(["Scope", "Admin consent display name", "Who can consent", ""], rows, "No scopes: clients can only ask for .default."),
    el("div", { class: "row" }, field("Scope name", value), field("Display name", name), field("Who can consent", who),
      el("button", {
        id: "scope-add", type: "button",
        onclick: (e) => {
          if (!value.value.trim()) return toast("Enter the scope's name", "error");
          if (!app.identifierUris.length) return toast("Set an Application ID URI first", "error");
          const scope = {
            id: crypto.randomUUID(), value: value.value.trim(), type: who.value, isEnabled: true,
            adminConsentDisplayName: name.value.trim() || value.value.trim(),
            adminConsentDescription: name.value.trim() || value.value.trim(),
          };
          act(e.target, () => patch(path, { api: { oauth2PermissionScopes: [...scopes, scope] } }), "Scope added");
        },
      }, "Add scope")));
}

function memberTypes(types) {
  const user = types.includes("User");
  const application = types.includes("Application");
  return user && application ? "Users/Groups + Applications" : application ? "Applications" : "Users/Groups";
}

function appRolesCard(app, path) {
  const rows = app.appRoles.map((r) => el("tr", { dataset: { role: r.value } },
    el("td", null, r.displayName), el("td", null, code(r.value)), el("td", null, memberTypes(r.allowedMemberTypes)),
    el("td", null, code(r.id)),
    el("td", null, el("button", {
      type: "button", class: "quiet",
      onclick: (e) => act(e.target, () => patch(path, { appRoles: app.appRoles.filter((x) => x.id !== r.id) }), "App role removed"),
    }, "Delete"))));
  const name = el("input", { id: "role-name", placeholder: "Orders administrators" });
  const value = el("input", { id: "role-value", placeholder: "Orders.Admin" });
  const members = select("role-members", [["User", "Users/Groups"], ["Application", "Applications"], ["Both", "Both"]], "User");
  const description = el("input", { id: "role-description", placeholder: "Can manage every order" });
  return card("app-roles", "App roles",
    el("p", { class: "muted" }, "Roles appear in the ", code("roles"), " claim of access tokens for this API; assign them under Enterprise applications."),
    table(["Display name", "Value", "Allowed member types", "ID", ""], rows, "No app roles."),
    el("div", { class: "row" }, field("Display name", name), field("Value", value), field("Allowed member types", members), field("Description", description),
      el("button", {
        id: "role-add", type: "button",
        onclick: (e) => {
          if (!value.value.trim()) return toast("Enter the role's value", "error");
          const role = {
            id: crypto.randomUUID(), value: value.value.trim(), isEnabled: true,
            displayName: name.value.trim() || value.value.trim(),
            description: description.value.trim() || name.value.trim() || value.value.trim(),
            allowedMemberTypes: members.value === "Both" ? ["User", "Application"] : [members.value],
          };
          act(e.target, () => patch(path, { appRoles: [...app.appRoles, role] }), "App role created");
        },
      }, "Create app role")));
}

async function permissionsCard(app, path, sp) {
  const resources = await list("servicePrincipals");
  const byAppId = new Map(resources.map((r) => [r.appId.toLowerCase(), r]));
  const [grants, appGrants] = sp
    ? await Promise.all([list("oauth2PermissionGrants"), list(`servicePrincipals/${enc(sp.id)}/appRoleAssignments`)])
    : [[], []];
  const rows = [];
  for (const request of app.requiredResourceAccess) {
    const resource = byAppId.get(request.resourceAppId.toLowerCase());
    for (const access of request.resourceAccess) {
      const delegated = access.type === "Scope";
      const definition = resource && (delegated ? resource.oauth2PermissionScopes : resource.appRoles).find((x) => x.id === access.id);
      const value = definition ? definition.value : access.id;
      const granted = delegated
        ? grants.some((g) => sp && g.clientId === sp.id && resource && g.resourceId === resource.id && g.consentType === "AllPrincipals" && g.scope.split(" ").includes(value))
        : appGrants.some((a) => resource && a.resourceId === resource.id && a.appRoleId === access.id);
      rows.push(el("tr", { dataset: { permission: value } },
        el("td", null, resource ? resource.displayName : request.resourceAppId), el("td", null, code(value)),
        el("td", null, delegated ? "Delegated" : "Application"),
        el("td", null, granted ? el("span", { class: "ok" }, "Granted for the tenant") : el("span", { class: "muted" }, "Not granted")),
        el("td", null, el("button", {
          type: "button", class: "quiet",
          onclick: (e) => act(e.target, () => patch(path, {
            requiredResourceAccess: app.requiredResourceAccess
              .map((r) => ({ ...r, resourceAccess: r.resourceAccess.filter((a) => !(r === request && a.id === access.id && a.type === access.type)) }))
              .filter((r) => r.resourceAccess.length),
          }), "Permission removed"),
        }, "Remove"))));
    }
  }
  const apis = resources.filter((r) => r.appRoles.length || r.oauth2PermissionScopes.length)
    .sort((a, b) => (a.appId === GRAPH_APP_ID ? -1 : b.appId === GRAPH_APP_ID ? 1 : a.displayName.localeCompare(b.displayName)));
  const api = select("permission-api", apis.map((r) => [r.appId, r.displayName]), apis[0] && apis[0].appId);
  const kind = select("permission-type", [["Scope", "Delegated"], ["Role", "Application"]], "Scope");
  const permission = el("select", { id: "permission-value" });
  const fill = () => {
    const r = byAppId.get(api.value.toLowerCase());
    const items = !r ? [] : kind.value === "Scope" ? r.oauth2PermissionScopes : r.appRoles.filter((x) => x.allowedMemberTypes.includes("Application"));
    permission.replaceChildren(...items.map((x) => el("option", { value: x.id }, x.value)));
  };
  api.addEventListener("change", fill);
  kind.addEventListener("change", fill);
  fill();
  const grantAll = async () => {
    for (const request of app.requiredResourceAccess) {
      const resource = byAppId.get(request.resourceAppId.toLowerCase());
      if (!resource) continue;
      const scopes = request.resourceAccess.filter((a) => a.type === "Scope")
        .map((a) => (resource.oauth2PermissionScopes.find((s) => s.id === a.id) || {}).value).filter(Boolean);
      const existing = grants.find((g) => g.clientId === sp.id && g.resourceId === resource.id && g.consentType === "AllPrincipals");
      if (scopes.length && existing) {
        const merged = [...new Set([...existing.scope.split(" ").filter(Boolean), ...scopes])];
        await del(`oauth2PermissionGrants/${enc(existing.id)}`);
        await post("oauth2PermissionGrants", { clientId: sp.id, consentType: "AllPrincipals", resourceId: resource.id, scope: merged.join(" ") });
      } else if (scopes.length) {
        await post("oauth2PermissionGrants", { clientId: sp.id, consentType: "AllPrincipals", resourceId: resource.id, scope: scopes.join(" ") });
      }
      for (const role of request.resourceAccess.filter((a) => a.type === "Role")) {
        if (appGrants.some((a) => a.resourceId === resource.id && a.appRoleId === role.id)) continue;
        await post(`servicePrincipals/${enc(resource.id)}/appRoleAssignedTo`, { principalId: sp.id, resourceId: resource.id, appRoleId: role.id });
      }
    }
  };
  return card("app-permissions", "API permissions",
    table(["API", "Permission", "Type", "Status", ""], rows, "No permissions requested (sign-in and User.Read are implicit)."),
    el("div", { class: "row" }, field("API", api), field("Type", kind), field("Permission", permission),
      el("button", {
        id: "permission-add", type: "button",
        onclick: (e) => {
          if (!permission.value) return toast("This API has no permission of that type", "error");
          const next = app.requiredResourceAccess.map((r) => ({ ...r, resourceAccess: [...r.resourceAccess] }));
          let entry = next.find((r) => r.resourceAppId.toLowerCase() === api.value.toLowerCase());
          if (!entry) { entry = { resourceAppId: api.value, resourceAccess: [] }; next.push(entry); }
          if (!entry.resourceAccess.some((a) => a.id === permission.value)) entry.resourceAccess.push({ id: permission.value, type: kind.value });
          act(e.target, () => patch(path, { requiredResourceAccess: next }), "Permission added");
        },
      }, "Add permission"),
      sp && rows.length ? el("button", {
        id: "grant-admin-consent", type: "button",
        onclick: (e) => act(e.target, grantAll, "Admin consent granted for the tenant"),
      }, `Grant admin consent for ${cfg.tenantDomain}`) : null));
}

function quickstartCard(app) {
  const authority = `${ORIGIN}/${cfg.tenantId}`;
  const host = new URL(ORIGIN).host;
  const spaUri = app.spa.redirectUris[0];
  const webUri = app.web.redirectUris[0];
  const nativeUri = app.publicClient.redirectUris[0];
  const apiUri = app.identifierUris[0];
  const ownScopes = app.api.oauth2PermissionScopes;
  const isApi = !!(apiUri || app.appRoles.length || ownScopes.length);
  const isClient = !!(spaUri || webUri || nativeUri || app.passwordCredentials.length || app.keyCredentials.length);
  const apiBase = apiUri || `api://${app.appId}`;
  // What a client asks for: this API's first scope (delegated) or .default
  // (app-only); for a client that is not itself an API, a placeholder.
  const delegated = isApi ? (ownScopes[0] ? `${apiBase}/${ownScopes[0].value}` : `${apiBase}/.default`) : "api://<api client id>/<scope>";
  const appOnly = isApi ? `${apiBase}/.default` : "api://<api client id>/.default";
  const clientId = isClient || !isApi ? app.appId : "<client id>";
  const snippets = [];
  if (!isClient && isApi) {
    snippets.push(["How a client asks for this API's token", "snippet-client", `// Not the ID token: an access token whose aud is this API.
// delegated (a user signed in):  scopes: ["${delegated}"]
// app-only (a daemon):           scopes: ["${appOnly}"]
// A client needs its own registration; give it this API's permissions under API permissions.`]);
  }
  if (spaUri || !isClient) {
    snippets.push(["msal-browser (single-page app)", "snippet-msal-browser", `import { PublicClientApplication } from "@azure/msal-browser";

const msal = new PublicClientApplication({
  auth: {
    clientId: "${clientId}",
    authority: "${authority}",
    knownAuthorities: ["${host}"],
    redirectUri: "${spaUri || "http://localhost:3000/"}",
  },
});
await msal.initialize();
const result = await msal.loginPopup({ scopes: ["${delegated}"] });
// Call the API with result.accessToken (never with result.idToken).`]);
  }
  if (webUri || app.passwordCredentials.length || app.keyCredentials.length || !isClient) {
    snippets.push(["msal-node (confidential client)", "snippet-msal-node", `import { ConfidentialClientApplication } from "@azure/msal-node";
// The provider's local CA: NODE_EXTRA_CA_CERTS=<data dir>/tls/ca.pem

const cca = new ConfidentialClientApplication({
  auth: {
    clientId: "${clientId}",
    authority: "${authority}",
    knownAuthorities: ["${host}"],
    clientSecret: process.env.CLIENT_SECRET, // Client secrets, above
  },
});
${webUri ? `const signIn = await cca.getAuthCodeUrl({ scopes: ["${delegated}"], redirectUri: "${webUri}" });
` : ""}const appOnly = await cca.acquireTokenByClientCredential({ scopes: ["${appOnly}"] });`]);
    snippets.push(["MSAL Python", "snippet-msal-python", `import os
import msal

app = msal.ConfidentialClientApplication(
    "${clientId}",
    authority="${authority}",
    client_credential=os.environ["CLIENT_SECRET"],
    instance_discovery=False,
    verify="<data dir>/tls/ca.pem",  # the provider's local CA
)
result = app.acquire_token_for_client(scopes=["${appOnly}"])`]);
  }
  if (nativeUri || app.isFallbackPublicClient) {
    snippets.push(["MSAL Python (public client: device code)", "snippet-msal-python-public", `import msal

app = msal.PublicClientApplication("${app.appId}", authority="${authority}", instance_discovery=False)
flow = app.initiate_device_flow(scopes=["${delegated}"])
print(flow["message"])
result = app.acquire_token_by_device_flow(flow)`]);
  }
  if (isApi) {
    const roles = app.appRoles.map((r) => `"${r.value}"`).join(", ");
    const scopes = ownScopes.map((s) => `"${s.value}"`).join(", ");
    snippets.push(["rolegate gateway (any language behind it)", "snippet-gateway", `# rolegate gateway --config gateway.toml
listen = "127.0.0.1:8080"
upstream = "http://127.0.0.1:3000"

[auth]
authority = "${authority}"
audiences = ["${app.appId}"]        # api://${app.appId} is accepted too
# ca_file = "ca.pem"                 # the provider's local CA

[[routes]]
path = "/*"
${roles ? `roles_any = [${roles}]\n` : ""}${scopes ? `scopes_any = [${scopes}]\n` : ""}${roles && scopes ? "# roles_any + scopes_any: a user's scope or an app's role (scope-or-app-permission)\n" : ""}`]);
    const requirement = app.appRoles.length
      ? `.require(Requirement::any_role([${roles}]))`
      : scopes ? `.require(Requirement::any_scope([${scopes}]))` : "";
    snippets.push(["rolegate-axum (Rust API)", "snippet-axum", `use rolegate_axum::{Auth, AuthLayer};
use rolegate_token::{Validator, ValidatorConfig, requirement::Requirement};

// With this provider, trust its local CA: .fetcher(..) as in examples/orders-api.
let validator = Validator::new(ValidatorConfig::entra_authority(
    "${authority}",
    "${app.appId}", // also accepts api://${app.appId}
))?;
let app = Router::new()
    .route("/orders", get(|Auth(caller): Auth| async move { format!("{:?}", caller.roles()) }))
    .layer(AuthLayer::new(validator)${requirement});`]);
  }
  return card("app-quickstart", "Quickstart",
    el("p", { class: "muted" }, "Ready-to-paste configuration for this registration against this provider."),
    snippets.map(([title, id, text]) => el("div", null, el("h3", null, title), copyable(text, id))));
}

// ---- enterprise applications

async function enterpriseView() {
  const showMicrosoft = location.hash.endsWith("?all");
  const sps = (await list("servicePrincipals"))
    .filter((s) => showMicrosoft || s.appOwnerOrganizationId !== MICROSOFT_TENANT)
    .sort((a, b) => a.displayName.localeCompare(b.displayName));
  const rows = sps.map((s) => el("tr", { dataset: { sp: s.appId } },
    el("td", null, el("a", { href: `#/enterprise/${s.id}` }, s.displayName)),
    el("td", null, code(s.appId)), el("td", null, code(s.id)),
    el("td", null, s.appRoleAssignmentRequired ? "Yes" : "No")));
  return [
    el("div", { class: "title-row" }, el("h1", null, "Enterprise applications"),
      el("a", { href: showMicrosoft ? "#/enterprise" : "#/enterprise?all" }, showMicrosoft ? "Hide Microsoft applications" : "Show Microsoft applications")),
    table(["Name", "Application ID", "Object ID", "Assignment required"], rows, "No enterprise applications."),
  ];
}

async function spView(id) {
  const sp = await graph("GET", `servicePrincipals/${enc(id)}`);
  const [assigned, users, groups, holds] = await Promise.all([
    list(`servicePrincipals/${enc(id)}/appRoleAssignedTo`), list("users"), list("groups"),
    list(`servicePrincipals/${enc(id)}/appRoleAssignments`),
  ]);
  const roleName = (roleId) => {
    if (roleId === DEFAULT_ACCESS) return "Default Access";
    const role = sp.appRoles.find((r) => r.id === roleId);
    return role ? `${role.displayName} (${role.value})` : roleId;
  };
  const rows = assigned.map((a) => el("tr", { dataset: { assignment: a.principalDisplayName } },
    el("td", null, a.principalDisplayName), el("td", null, a.principalType), el("td", null, roleName(a.appRoleId)),
    el("td", null, el("button", {
      type: "button", class: "quiet",
      onclick: (e) => act(e.target, () => del(`servicePrincipals/${enc(id)}/appRoleAssignedTo/${enc(a.id)}`), "Assignment removed"),
    }, "Remove"))));
  const required = el("input", { id: "assignment-required", type: "checkbox", checked: !!sp.appRoleAssignmentRequired });
  required.addEventListener("change", () => act(null, () => patch(`servicePrincipals/${enc(id)}`, { appRoleAssignmentRequired: required.checked }), "Saved"));
  const principal = el("select", { id: "assign-principal" },
    el("optgroup", { label: "Users" }, users.map((u) => el("option", { value: u.id }, `${u.displayName} (${u.userPrincipalName})`))),
    el("optgroup", { label: "Groups" }, groups.map((g) => el("option", { value: g.id }, g.displayName))));
  const userRoles = sp.appRoles.filter((r) => r.allowedMemberTypes.includes("User"));
  const role = select("assign-role", userRoles.length ? userRoles.map((r) => [r.id, `${r.displayName} (${r.value})`]) : [[DEFAULT_ACCESS, "Default Access"]]);
  const resources = holds.length ? await list("servicePrincipals") : [];
  const permissionName = (a) => {
    const resource = resources.find((r) => r.id === a.resourceId);
    const role = resource && resource.appRoles.find((r) => r.id === a.appRoleId);
    return role ? role.value : a.appRoleId;
  };
  const holdsRows = holds.map((a) => el("tr", { dataset: { holds: permissionName(a) } },
    el("td", null, a.resourceDisplayName), el("td", null, code(permissionName(a))),
    el("td", null, el("button", {
      type: "button", class: "quiet",
      onclick: (e) => act(e.target, () => del(`servicePrincipals/${enc(id)}/appRoleAssignments/${enc(a.id)}`), "Permission revoked"),
    }, "Revoke"))));
  const app = sp.appOwnerOrganizationId === MICROSOFT_TENANT ? null
    : (await list(`applications?$filter=${enc(`appId eq '${sp.appId}'`)}`))[0];
  return [
    el("p", { class: "crumbs" }, el("a", { href: "#/enterprise" }, "Enterprise applications"), " / ", sp.displayName),
    el("h1", null, sp.displayName),
    card("sp-properties", "Properties",
      el("dl", null,
        el("dt", null, "Application ID"), el("dd", null, code(sp.appId)),
        el("dt", null, "Object ID"), el("dd", null, code(sp.id)),
        el("dt", null, "App registration"), el("dd", null, app ? el("a", { href: `#/apps/${app.id}` }, app.displayName) : "in another tenant (or Microsoft's)")),
      el("label", { class: "check" }, required, " Assignment required (users and groups need a role assignment to sign in: AADSTS50105 otherwise)")),
    card("sp-assignments", "Users and groups",
      table(["Name", "Type", "Role", ""], rows, "Nobody is assigned."),
      el("div", { class: "row" }, field("User or group", principal), field("Role", role),
        el("button", {
          id: "assign-add", type: "button",
          onclick: (e) => act(e.target, () => post(`servicePrincipals/${enc(id)}/appRoleAssignedTo`, {
            principalId: principal.value, resourceId: id, appRoleId: role.value,
          }), "Assigned"),
        }, "Assign"))),
    card("sp-permissions", "Application permissions this app holds",
      table(["API", "Permission", ""], holdsRows, "None (grant them on the app registration's API permissions).")),
    sp.appOwnerOrganizationId === MICROSOFT_TENANT ? null : card("sp-delete", "Delete",
      el("p", null, "Deletes the enterprise application with its assignments and consents. The app registration stays; the app gets no tokens until its enterprise application is created again (on the registration's page)."),
      el("button", {
        id: "sp-delete-button", type: "button", class: "danger",
        onclick: (e) => {
          if (!confirm(`Delete the enterprise application ${sp.displayName}?`)) return;
          act(e.target, async () => { await del(`servicePrincipals/${enc(id)}`); location.hash = "#/enterprise"; }, "Enterprise application deleted");
        },
      }, "Delete enterprise application")),
  ];
}

// ---- users and groups

async function usersView() {
  const users = await list("users");
  users.sort((a, b) => a.displayName.localeCompare(b.displayName));
  const rows = users.map((u) => el("tr", { dataset: { user: u.userPrincipalName } },
    el("td", null, el("a", { href: `#/users/${u.id}` }, u.displayName)), el("td", null, u.userPrincipalName), el("td", null, code(u.id))));
  const name = el("input", { id: "new-user-name", placeholder: "Dana Lee" });
  const upn = el("input", { id: "new-user-upn", placeholder: `dana@${cfg.tenantDomain}` });
  const password = el("input", { id: "new-user-password", type: "password", autocomplete: "new-password" });
  return [
    el("h1", null, "Users"),
    table(["Display name", "User principal name", "Object ID"], rows),
    card("new-user", "New user",
      el("div", { class: "row" }, field("Display name", name), field("User principal name", upn), field("Password", password, "at least 8 characters"),
        el("button", {
          id: "new-user-add", type: "button",
          onclick: (e) => act(e.target, () => post("users", {
            accountEnabled: true,
            displayName: name.value.trim(),
            mailNickname: upn.value.split("@")[0],
            userPrincipalName: upn.value.trim(),
            passwordProfile: { password: password.value, forceChangePasswordNextSignIn: false },
          }), "User created"),
        }, "Create user"))),
  ];
}

async function userView(id) {
  const [user, memberOf, assignments] = await Promise.all([
    graph("GET", `users/${enc(id)}`), list(`users/${enc(id)}/memberOf`), list(`users/${enc(id)}/appRoleAssignments`),
  ]);
  const resources = assignments.length ? await list("servicePrincipals") : [];
  const roleValue = (a) => {
    if (a.appRoleId === DEFAULT_ACCESS) return "Default Access";
    const resource = resources.find((r) => r.id === a.resourceId);
    const role = resource && resource.appRoles.find((r) => r.id === a.appRoleId);
    return role ? role.value : a.appRoleId;
  };
  return [
    el("p", { class: "crumbs" }, el("a", { href: "#/users" }, "Users"), " / ", user.displayName),
    el("h1", null, user.displayName),
    card("user-properties", "Properties",
      el("dl", null,
        el("dt", null, "User principal name"), el("dd", null, user.userPrincipalName),
        el("dt", null, "Object ID"), el("dd", null, code(user.id)))),
    card("user-edit", "Name and password",
      el("div", { class: "row" },
        field("Display name", el("input", { id: "user-rename", value: user.displayName })),
        el("button", {
          id: "user-rename-button", type: "button",
          onclick: (e) => act(e.target, () => patch(`users/${enc(id)}`, { displayName: document.getElementById("user-rename").value.trim() }), "Renamed"),
        }, "Rename")),
      el("div", { class: "row" },
        field("New password", el("input", { id: "user-password", type: "password", autocomplete: "new-password" }), "at least 8 characters"),
        el("button", {
          id: "user-password-button", type: "button",
          onclick: (e) => act(e.target, () => patch(`users/${enc(id)}`, {
            passwordProfile: { password: document.getElementById("user-password").value, forceChangePasswordNextSignIn: false },
          }), "Password reset"),
        }, "Reset password"))),
    card("user-groups", "Groups and directory roles",
      table(["Name", "Type"], memberOf.map((m) => el("tr", null, el("td", null, m.displayName),
        el("td", null, (m["@odata.type"] || "").replace("#microsoft.graph.", "")))), "Not a member of any group.")),
    card("user-assignments", "App role assignments",
      table(["Application", "App role"], assignments.map((a) => el("tr", null,
        el("td", null, el("a", { href: `#/enterprise/${a.resourceId}` }, a.resourceDisplayName)),
        el("td", null, code(roleValue(a))))), "None.")),
    card("user-delete", "Delete",
      el("button", {
        id: "user-delete-button", type: "button", class: "danger",
        onclick: (e) => {
          if (!confirm(`Delete ${user.userPrincipalName}?`)) return;
          act(e.target, async () => { await del(`users/${enc(id)}`); location.hash = "#/users"; }, "User deleted");
        },
      }, "Delete user")),
  ];
}

async function groupsView() {
  const groups = await list("groups");
  groups.sort((a, b) => a.displayName.localeCompare(b.displayName));
  const rows = groups.map((g) => el("tr", { dataset: { group: g.displayName } },
    el("td", null, el("a", { href: `#/groups/${g.id}` }, g.displayName)), el("td", null, g.securityEnabled ? "Security" : "Microsoft 365"), el("td", null, code(g.id))));
  const name = el("input", { id: "new-group-name", placeholder: "Order Approvers" });
  return [
    el("h1", null, "Groups"),
    table(["Name", "Type", "Object ID"], rows),
    card("new-group", "New group",
      el("div", { class: "row" }, field("Name", name),
        el("button", {
          id: "new-group-add", type: "button",
          onclick: (e) => act(e.target, () => post("groups", {
            displayName: name.value.trim(), mailEnabled: false, securityEnabled: true,
            mailNickname: name.value.trim().replace(/[^A-Za-z0-9]/g, "") || "group",
          }), "Group created"),
        }, "Create group"))),
  ];
}

async function groupView(id) {
  const [group, members, users] = await Promise.all([graph("GET", `groups/${enc(id)}`), list(`groups/${enc(id)}/members`), list("users")]);
  const rows = members.map((m) => el("tr", { dataset: { member: m.userPrincipalName || m.displayName } },
    el("td", null, m.displayName), el("td", null, m.userPrincipalName || ""),
    el("td", null, el("button", {
      type: "button", class: "quiet",
      onclick: (e) => act(e.target, () => del(`groups/${enc(id)}/members/${enc(m.id)}/$ref`), "Member removed"),
    }, "Remove"))));
  const candidates = users.filter((u) => !members.some((m) => m.id === u.id));
  const user = select("member-user", candidates.map((u) => [u.id, `${u.displayName} (${u.userPrincipalName})`]));
  return [
    el("p", { class: "crumbs" }, el("a", { href: "#/groups" }, "Groups"), " / ", group.displayName),
    el("h1", null, group.displayName),
    card("group-members", "Members",
      table(["Name", "User principal name", ""], rows, "No members."),
      el("div", { class: "row" }, field("User", user),
        el("button", {
          id: "member-add", type: "button", disabled: !candidates.length,
          onclick: (e) => act(e.target, () => post(`groups/${enc(id)}/members/$ref`, { "@odata.id": `${ORIGIN}/v1.0/directoryObjects/${user.value}` }), "Member added"),
        }, "Add member"))),
    card("group-delete", "Delete",
      el("button", {
        id: "group-delete-button", type: "button", class: "danger",
        onclick: (e) => {
          if (!confirm(`Delete ${group.displayName}?`)) return;
          act(e.target, async () => { await del(`groups/${enc(id)}`); location.hash = "#/groups"; }, "Group deleted");
        },
      }, "Delete group")),
  ];
}

// ---- consents

async function consentsView() {
  const [grants, sps, users] = await Promise.all([list("oauth2PermissionGrants"), list("servicePrincipals"), list("users")]);
  const spName = (spId) => (sps.find((s) => s.id === spId) || { displayName: spId }).displayName;
  const userName = (uid) => (users.find((u) => u.id === uid) || { userPrincipalName: uid }).userPrincipalName;
  const rows = grants.map((g) => el("tr", { dataset: { grant: `${spName(g.clientId)} -> ${spName(g.resourceId)}` } },
    el("td", null, spName(g.clientId)), el("td", null, spName(g.resourceId)), el("td", null, code(g.scope)),
    el("td", null, g.consentType === "AllPrincipals" ? "All users (admin consent)" : userName(g.principalId)),
    el("td", null, el("button", {
      type: "button", class: "quiet",
      onclick: (e) => act(e.target, () => del(`oauth2PermissionGrants/${enc(g.id)}`), "Consent revoked"),
    }, "Revoke"))));
  const clients = sps.filter((s) => s.appOwnerOrganizationId !== MICROSOFT_TENANT);
  const resources = sps.filter((s) => s.oauth2PermissionScopes.length);
  const client = select("grant-client", clients.map((s) => [s.id, s.displayName]));
  const resource = select("grant-resource", resources.map((s) => [s.id, s.displayName]));
  const scopes = el("input", { id: "grant-scopes", placeholder: "access_as_user" });
  const hint = el("small", { id: "grant-scope-hint" });
  const showScopes = () => {
    const r = resources.find((s) => s.id === resource.value);
    hint.textContent = r ? `Scopes: ${r.oauth2PermissionScopes.map((s) => s.value).join(" ")}` : "";
  };
  resource.addEventListener("change", showScopes);
  showScopes();
  const who = select("grant-type", [["AllPrincipals", "All users (admin consent)"], ...users.map((u) => [u.id, u.userPrincipalName])], "AllPrincipals");
  return [
    el("h1", null, "Consents"),
    el("p", { class: "muted" }, "Delegated permission grants (oauth2PermissionGrants): which client may call which API on a user's behalf, with which scopes."),
    table(["Client", "API", "Scopes", "For", ""], rows, "No consents."),
    card("new-grant", "Grant consent",
      el("div", { class: "row" }, field("Client", client), field("API", resource), field("Scopes (space-separated)", scopes, hint), field("For", who),
        el("button", {
          id: "grant-add", type: "button",
          onclick: (e) => act(e.target, () => post("oauth2PermissionGrants", {
            clientId: client.value, resourceId: resource.value, scope: scopes.value.trim(),
            consentType: who.value === "AllPrincipals" ? "AllPrincipals" : "Principal",
            principalId: who.value === "AllPrincipals" ? null : who.value,
          }), "Consent granted"),
        }, "Grant"))),
  ];
}

// ------------------------------------------------------------------ router

const ROUTES = [
  [/^#?\/?$/, home, "home"],
  [/^#\/apps$/, appsView, "apps"],
  [/^#\/apps\/([^/?]+)$/, appView, "apps"],
  [/^#\/enterprise(\?all)?$/, () => enterpriseView(), "enterprise"],
  [/^#\/enterprise\/([^/?]+)$/, spView, "enterprise"],
  [/^#\/users$/, usersView, "users"],
  [/^#\/users\/([^/?]+)$/, userView, "users"],
  [/^#\/groups$/, groupsView, "groups"],
  [/^#\/groups\/([^/?]+)$/, groupView, "groups"],
  [/^#\/consents$/, consentsView, "consents"],
];

let generation = 0;

async function render() {
  const s = session();
  if (!s) return landing();
  document.getElementById("nav").hidden = false;
  document.getElementById("sign-out").hidden = false;
  document.getElementById("who").textContent = `${s.name || ""} · ${s.username}`;
  const hash = location.hash || "#/";
  const route = ROUTES.find(([pattern]) => pattern.test(hash));
  const mine = ++generation;
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("current", !!route && link.dataset.section === route[2]);
  }
  if (!route) {
    main.replaceChildren(el("h1", null, "Not found"), el("p", null, el("a", { href: "#/" }, "Back to the overview")));
    return;
  }
  const scroll = window.scrollY;
  try {
    const args = route[0].exec(hash).slice(1).map((a) => (a === undefined ? a : decodeURIComponent(a)));
    const view = await route[1](...args);
    if (mine !== generation) return;
    main.replaceChildren(...[view].flat());
    main.dataset.view = route[2];
    window.scrollTo(0, scroll);
  } catch (e) {
    if (mine !== generation) return;
    main.replaceChildren(el("div", { class: "problem", id: "problem" }, el("h1", null, "Something went wrong"), el("p", null, describe(e))));
  }
  // Which route the main area shows now (for tests and scripts).
  main.dataset.rendered = hash;
}

function landing(problem) {
  document.getElementById("nav").hidden = true;
  document.getElementById("sign-out").hidden = true;
  document.getElementById("who").textContent = "";
  main.replaceChildren(el("section", { class: "landing" },
    el("h1", null, "Admin portal"),
    el("p", null, `Manage ${cfg.tenantDomain}: app registrations, enterprise applications, users, groups and consents. `,
      "Sign in with an account that holds a directory role (such as Application Administrator)."),
    problem ? el("div", { class: "problem", id: "problem" }, el("strong", null, problem.code || "Sign-in failed"), el("p", null, problem.message)) : null,
    el("button", { id: "sign-in", type: "button", onclick: () => signIn(problem ? "login" : undefined) }, problem ? "Sign in as another user" : "Sign in")));
}

document.getElementById("sign-out").addEventListener("click", signOut);
window.addEventListener("hashchange", () => { if (session()) render(); });

try {
  await completeSignIn();
  await render();
} catch (e) {
  landing(e);
}
