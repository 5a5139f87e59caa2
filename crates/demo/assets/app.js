// rolegate demo: a plain-JavaScript single-page app that signs a user in with
// the authorization code flow + PKCE, shows the ID token next to the access
// token, and calls the Orders API with either one, so the difference (and the
// API's refusal of ID tokens) can be seen. No framework, no build step, no
// external assets; everything the app needs comes from ./config.json.
//
// Storage: everything lives in this tab's sessionStorage (tokens, and while a
// sign-in is under way the PKCE verifier, state and nonce).
'use strict';

(() => {
  // ---------------------------------------------------------------- helpers

  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

  /** Creates an element: el('td', {class: 'x', text: 'hi', 'data-a': 1}, [children]). */
  function el(tag, props = {}, children = []) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'text') node.textContent = String(value);
      else if (key === 'class') node.className = value;
      else if (key === 'on') for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of [].concat(children)) {
      if (child !== null && child !== undefined && child !== false) node.append(child);
    }
    return node;
  }

  const base64url = (bytes) =>
    btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const randomString = (bytes) => base64url(crypto.getRandomValues(new Uint8Array(bytes)));
  const sha256 = (text) => crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));

  function base64urlDecode(segment) {
    const b64 = segment.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(segment.length / 4) * 4, '=');
    const binary = atob(b64);
    return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  }

  /** Splits and decodes a compact JWT (no signature check: that is the API's job). */
  function decodeJwt(token) {
    const parts = String(token).split('.');
    if (parts.length !== 3) throw new Error('not a JWT (expected three dot-separated parts)');
    return { parts, header: JSON.parse(base64urlDecode(parts[0])), payload: JSON.parse(base64urlDecode(parts[1])) };
  }

  const nowSec = () => Date.now() / 1000;

  /** "14:03:27" today, or date and time otherwise. */
  function localTime(sec) {
    const d = new Date(sec * 1000);
    return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString() : d.toLocaleString();
  }

  /** "in 14 s", "3 min ago", "now". */
  function relative(sec) {
    const diff = Math.round(sec - nowSec());
    const a = Math.abs(diff);
    if (a === 0) return 'now';
    const text = a < 90 ? `${a} s` : a < 5400 ? `${Math.round(a / 60)} min` : a < 172800 ? `${Math.round(a / 3600)} h` : `${Math.round(a / 86400)} days`;
    return diff > 0 ? `in ${text}` : `${text} ago`;
  }

  const readJson = (key) => {
    try { return JSON.parse(sessionStorage.getItem(key) || 'null'); } catch { return null; }
  };
  const writeJson = (key, value) => (value === null ? sessionStorage.removeItem(key) : sessionStorage.setItem(key, JSON.stringify(value)));

  // sessionStorage keys.
  const PENDING = 'rolegate.pending';     // {state, nonce, verifier, variant, user} while at the provider
  const SESSION = 'rolegate.session';     // the signed-in user's tokens
  const DAEMON = 'rolegate.daemon';       // the daemon's app-only token
  const SIGNED_OUT = 'rolegate.signedOut'; // set just before the logout redirect
  const TAB = 'rolegate.tab';

  // ------------------------------------------------------------ claim texts

  // Claims whose presence or value tells an ID token from an access token.
  const DIFF_CLAIMS = ['aud', 'azp', 'scp', 'roles', 'idtyp', 'nonce'];
  const ORDER = [...DIFF_CLAIMS, 'iss', 'tid', 'oid', 'sub', 'name', 'preferred_username', 'email', 'sid',
    'azpacr', 'iat', 'nbf', 'exp', 'auth_time', 'ver', 'uti', 'rh', 'aio'];
  const TIME_CLAIMS = new Set(['iat', 'nbf', 'exp', 'auth_time']);
  const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

  // kind: 'id' (ID token), 'access' (delegated access token), 'app' (app-only access token).
  const MEANINGS = {
    aud: (k) => (k === 'id'
      ? 'Audience: who the token is for. An ID token is always for the app that signed the user in: its own client id.'
      : 'Audience: the API this token is for (the API’s client id). The API checks that it names itself.'),
    azp: (k) => (k === 'app'
      ? 'Authorized party: the client id of the daemon that got this token.'
      : 'Authorized party: the client id of the app that requested this access token. Access tokens only.'),
    scp: () => 'Scopes: the delegated permissions the user (or an admin) granted this app on the API. Delegated access tokens only.',
    roles: (k) => (k === 'id'
      ? 'App roles of the user on the app’s own registration. In the single-registration variant the app is the API, so they look just like the API’s roles.'
      : k === 'app'
        ? 'Application permissions granted to the daemon (app roles with admin consent). The API authorizes from these.'
        : 'App roles the user holds on the API (directly or through a group). The API authorizes from these.'),
    idtyp: () => 'Token type: “app” for app-only tokens, “user” for delegated ones (an optional claim the API enabled).',
    nonce: () => 'Echo of the nonce the app sent when it started the sign-in; the app checks it to reject replayed ID tokens. ID tokens only.',
    iss: () => 'Issuer: the tenant’s v2.0 authority that signed the token. Compared as an exact string.',
    tid: () => 'Tenant id: the directory the token was issued in.',
    oid: (k) => (k === 'app'
      ? 'Object id of the daemon’s service principal: the same for every API it calls.'
      : 'Object id: the user’s immutable id in this tenant. Key the user’s data on oid (with tid).'),
    sub: () => 'Subject: a pairwise id, stable for this user and app, but different in every app.',
    name: () => 'Display name: for display only, never for authorization.',
    preferred_username: () => 'Sign-in name (UPN). It can change: display it, never key data on it.',
    email: () => 'Email address, when the account has one; not verified in general.',
    sid: () => 'Session id of the sign-in session at the identity provider (used for sign-out).',
    azpacr: () => 'How the client authenticated: 0 public client (no secret), 1 client secret, 2 certificate.',
    iat: () => 'Issued at.',
    nbf: () => 'Not valid before.',
    exp: () => 'Expires: the API refuses the token after this (plus a few minutes of clock skew).',
    auth_time: () => 'When the user last entered credentials.',
    ver: () => 'Token format version (2.0: issued by the v2.0 endpoint format).',
    uti: () => 'Unique token id (Microsoft-internal, for diagnostics and revocation).',
    rh: () => 'Refresh hint: opaque Microsoft-internal claim. Ignore it.',
    aio: () => 'Opaque Microsoft-internal claim. Ignore it.',
    at_hash: () => 'Hash of the access token issued alongside this ID token.',
    c_hash: () => 'Hash of the authorization code issued alongside this ID token.',
  };

  // What the absence of a diff claim means, per token kind.
  const ABSENT = {
    id: { azp: 'No azp: ID tokens never name a client app.', scp: 'No scp: an ID token grants nothing.', idtyp: 'No idtyp in ID tokens.', roles: 'No roles: the user has none on this app’s own registration.' },
    access: { nonce: 'No nonce: only ID tokens echo the sign-in nonce.', roles: 'No roles: the user holds no app role on the API.', idtyp: 'No idtyp.' },
    app: { nonce: 'No nonce: only ID tokens echo the sign-in nonce.', scp: 'No scp: there is no user to delegate from.', roles: 'No roles: no application permission granted.' },
  };

  // Plain words for the API's refusal codes (the body's `code`).
  const CODE_WORDS = {
    id_token_not_accepted: ['This is an ID token, not an access token',
      'An ID token tells the app who signed in; it is not a credential for calling an API. The API refuses it even though its aud is the API and it carries roles: it echoes the sign-in nonce and has no azp or scp, which every access token has. Send the access token instead.'],
    invalid_audience: ['The token is for another application',
      'Its aud does not name this API, so the API refuses it before looking at anything else.'],
    missing_role: ['Valid token, but not the app role this call needs',
      'The token checks out, but the caller holds none of the required app roles. Roles are copied into the token when it is issued: after a role assignment changes, get a new token.'],
    missing_scope: ['The delegated scope is missing', 'The token has no scp the API accepts.'],
    missing_scope_or_app_permission: ['No permission for this API',
      'The token carries neither the delegated scope (user tokens) nor an application permission (app-only tokens) this call needs.'],
    no_permissions: ['The token grants nothing', 'It has neither scp nor roles.'],
    missing_token: ['No token was sent', 'The request had no Authorization header.'],
    token_expired: ['The token has expired', 'Its exp is in the past, beyond the API’s clock-skew allowance.'],
    token_not_yet_valid: ['The token is not valid yet', 'Its nbf is in the future.'],
    invalid_signature: ['The signature does not verify', 'The token was altered or comes from another authority.'],
    invalid_issuer: ['Unexpected issuer', 'The iss claim is not the tenant’s authority.'],
    key_not_found: ['Unknown signing key', 'The kid in the header is not in the authority’s key set.'],
    keys_unavailable: ['The API could not load the signing keys', 'The authority’s key set could not be fetched.'],
    order_not_found: ['No such order', 'The token was accepted; the order id does not exist (any more).'],
    invalid_order: ['The order was refused', 'The token was accepted; the order itself is invalid.'],
    invalid_input: ['The request body could not be read', 'The token was accepted; the JSON body is malformed.'],
  };

  const STATUS_TEXT = { 200: 'OK', 201: 'Created', 204: 'No Content', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 422: 'Unprocessable Content', 502: 'Bad Gateway', 503: 'Service Unavailable' };

  // ------------------------------------------------------------------ state

  let config = null;       // ./config.json
  let names = {};          // client id -> friendly name (for aud/azp values)
  let session = readJson(SESSION);
  let daemon = readJson(DAEMON);
  let renewing = null;     // the refresh in flight, shared by concurrent calls

  const endpoint = (name) => `${config.authority}/oauth2/v2.0/${name}`;
  const variantOf = (key) => config.variants[key] || config.variants.separate;
  const userOf = (upn) => config.users.find((u) => u.upn === upn);
  // Renew when the access token expires within 30 s; with very short lifetimes
  // (the --access-token-lifetime knob) within half the lifetime instead, so a
  // fresh token is still used as-is at least once.
  const renewMarginMs = () => Math.min(30, (config.accessTokenLifetime || 3600) / 2) * 1000;

  function saveSession() { writeJson(SESSION, session); }

  // ----------------------------------------------------------------- sign-in

  /** Sends the browser to the provider's authorize endpoint (code + PKCE). */
  async function signIn() {
    const variantKey = $('#variant').value;
    const variant = variantOf(variantKey);
    const upn = $('#user').value;
    const verifier = randomString(48); // 64 base64url characters
    const pending = { state: randomString(16), nonce: randomString(16), verifier, variant: variantKey, user: upn };
    writeJson(PENDING, pending);
    const query = new URLSearchParams({
      client_id: variant.clientId,
      response_type: 'code',
      redirect_uri: config.redirectUri,
      scope: `${variant.scope} openid profile offline_access`,
      response_mode: 'fragment',
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: base64url(await sha256(verifier)),
      code_challenge_method: 'S256',
      client_info: '1',
      login_hint: upn,
      prompt: 'login', // always show the sign-in page, so people can switch users
    });
    location.assign(`${endpoint('authorize')}?${query}`);
  }

  /** Handles `#code=…` or `#error=…` on return from the provider. */
  async function handleRedirect() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    if (!fragment.has('code') && !fragment.has('error')) return;
    // The code must not stay in the address bar or the history.
    history.replaceState(null, '', location.pathname + location.search);
    const pending = readJson(PENDING);
    writeJson(PENDING, null);
    const stateOk = Boolean(pending) && fragment.get('state') === pending.state;

    if (fragment.has('error')) {
      showAuthError(fragment.get('error'), fragment.get('error_description') || '',
        stateOk ? '' : 'The state did not match a sign-in started in this tab.');
      return;
    }
    if (!stateOk) {
      showAuthError('state_mismatch', 'The state in the redirect does not match the sign-in this tab started; the code was not redeemed.');
      return;
    }
    const variant = variantOf(pending.variant);
    showNotice('Redeeming the authorization code…');
    const { ok, body } = await postForm(endpoint('token'), {
      grant_type: 'authorization_code',
      client_id: variant.clientId,
      code: fragment.get('code'),
      redirect_uri: config.redirectUri,
      code_verifier: pending.verifier,
      scope: `${variant.scope} openid profile offline_access`,
    });
    showNotice('');
    if (!ok || !body.access_token || !body.id_token) {
      showAuthError(body.error || 'token_error', body.error_description || 'The token endpoint returned no tokens.');
      return;
    }
    // The ID token must echo our nonce and be for this app.
    let claims;
    try { claims = decodeJwt(body.id_token).payload; } catch (e) { showAuthError('invalid_id_token', e.message); return; }
    if (claims.nonce !== pending.nonce) {
      showAuthError('nonce_mismatch', 'The ID token does not echo the nonce this sign-in sent; the tokens were discarded.');
      return;
    }
    if (claims.aud !== variant.clientId) {
      showAuthError('invalid_id_token', `The ID token's aud is ${claims.aud}, not this app (${variant.clientId}); the tokens were discarded.`);
      return;
    }
    session = {
      variant: pending.variant,
      user: claims.preferred_username || pending.user,
      idToken: body.id_token,
      accessToken: body.access_token,
      refreshToken: body.refresh_token || null,
      expiresAt: Date.now() + Number(body.expires_in || 0) * 1000,
      scope: body.scope || '',
      renewals: 0,
      renewedAt: null,
    };
    saveSession();
  }

  /** Clears the tokens and ends the provider's session too. */
  function signOut() {
    // The provider returns only to a URI registered on the app it is told of.
    const clientId = variantOf(session?.variant).clientId;
    writeJson(SESSION, null);
    writeJson(DAEMON, null);
    writeJson(PENDING, null);
    sessionStorage.setItem(SIGNED_OUT, '1');
    const query = new URLSearchParams({ client_id: clientId, post_logout_redirect_uri: config.redirectUri });
    location.assign(`${endpoint('logout')}?${query}`);
  }

  async function postForm(url, fields) {
    try {
      const res = await fetch(url, { method: 'POST', body: new URLSearchParams(fields) });
      const body = await res.json().catch(() => ({}));
      return { ok: res.ok, status: res.status, body };
    } catch (e) {
      return { ok: false, status: 0, body: { error: 'network_error', error_description: String(e.message || e) } };
    }
  }

  // ----------------------------------------------------------- silent renewal

  /** The current access token, renewed first if it expires soon. Null if none. */
  async function freshAccessToken() {
    if (!session) return null;
    if (session.expiresAt - Date.now() > renewMarginMs()) return session.accessToken;
    if (!session.refreshToken) return session.expiresAt > Date.now() ? session.accessToken : null;
    if (!renewing) renewing = renew().finally(() => { renewing = null; });
    return renewing;
  }

  /** Redeems the refresh token (rotation: the new refresh token replaces the old). */
  async function renew() {
    const variant = variantOf(session.variant);
    $('#renew-status').textContent = 'Renewing the access token with the refresh token…';
    const { ok, body } = await postForm(endpoint('token'), {
      grant_type: 'refresh_token',
      client_id: variant.clientId,
      refresh_token: session.refreshToken,
      scope: `${variant.scope} openid profile offline_access`,
    });
    if (!ok || !body.access_token) {
      const code = (body.error_codes || [])[0];
      const why = code === 90009
        ? `AADSTS90009 — ${selfRequestTrap(variant)}`
        : `${body.error || 'error'}: ${firstLine(body.error_description || 'no access token in the answer')}`;
      const status = $('#renew-status');
      status.textContent = `Silent renewal failed — ${why}`;
      status.classList.add('failed');
      $('#renew-sign-in').hidden = false;
      session.refreshToken = null; // spent or revoked: never send it again
      saveSession();
      return session.expiresAt > Date.now() ? session.accessToken : null;
    }
    session.accessToken = body.access_token;
    if (body.refresh_token) session.refreshToken = body.refresh_token;
    session.expiresAt = Date.now() + Number(body.expires_in || 0) * 1000;
    session.renewals += 1;
    session.renewedAt = Date.now();
    // body.id_token is not kept: the panes keep the sign-in ID token, the one
    // whose nonce was checked (a refreshed ID token has no nonce to echo).
    saveSession();
    renderSession();
    return session.accessToken;
  }

  const firstLine = (text) => String(text).split(/\r?\n/)[0];

  /** What AADSTS90009 means when this app meets it. */
  const selfRequestTrap = (variant) =>
    `An app that is its own API asked for a token for itself by App ID URI (${variant.scope.split('/').slice(0, -1).join('/')}), ` +
    'and the refresh named no resource scope. Entra grants the sign-in but refuses such a refresh. ' +
    `Fix: send the resource scope on every refresh (this app does: ${variant.scope}), or name the app by its client id GUID ` +
    `(${variant.clientId}/${variant.scope.split('/').pop()}). The refresh token was not spent.`;

  /**
   * Refreshes as MSAL.js 2.x did, naming no resource scope: for the
   * single-registration variant (named by App ID URI) Entra answers
   * AADSTS90009 — the self-request trap — and the refresh token stays valid.
   */
  async function refreshWithoutScope() {
    const out = $('#refresh-trap-result');
    out.classList.remove('failed');
    if (!session?.refreshToken) {
      out.textContent = 'Sign in first (the refresh token is what this sends).';
      return;
    }
    const variant = variantOf(session.variant);
    const { ok, body } = await postForm(endpoint('token'), {
      grant_type: 'refresh_token',
      client_id: variant.clientId,
      refresh_token: session.refreshToken,
      scope: 'openid profile offline_access',
    });
    if (ok && body.access_token) {
      if (body.refresh_token) session.refreshToken = body.refresh_token;
      saveSession();
      let aud = '?';
      try { aud = decodeJwt(body.access_token).payload.aud; } catch { /* shown as ? */ }
      out.textContent = `Refreshed without naming the API: the token continues this sign-in's resource (aud ${aud}). ` +
        'The trap needs an app that names itself by App ID URI: try the single-registration variant.';
      return;
    }
    out.classList.add('failed');
    const code = (body.error_codes || [])[0];
    out.textContent = code === 90009
      ? `AADSTS90009 — ${selfRequestTrap(variant)}`
      : `${body.error || 'error'}: ${firstLine(body.error_description || '')}`;
  }

  // ------------------------------------------------------------ token panes

  /** Fills a token card: raw token with copy button, header, claims table. */
  function renderTokenPanel(panel, token, kind, emptyText) {
    const body = $('.token-body', panel);
    const expiry = $('[data-expiry]', panel);
    panel.classList.toggle('has-token', Boolean(token));
    if (!token) {
      body.replaceChildren(el('p', { class: 'empty', text: emptyText }));
      expiry.textContent = '';
      delete expiry.dataset.exp;
      return;
    }
    let decoded;
    try { decoded = decodeJwt(token); } catch (e) {
      body.replaceChildren(el('p', { class: 'empty', text: `Cannot decode: ${e.message}` }));
      return;
    }
    const { parts, header, payload } = decoded;
    expiry.dataset.exp = payload.exp;

    const raw = el('div', { class: 'raw' }, [
      el('div', { class: 'raw-head' }, [
        el('h3', { text: 'Raw token' }),
        el('span', { class: 'raw-size', text: `${token.length} characters` }),
        copyButton(token, kind === 'id' ? 'ID token' : 'access token'),
      ]),
      el('pre', { class: 'jwt', tabindex: 0, 'aria-label': 'raw token' }, [
        el('span', { class: 'jwt-h', text: parts[0] }), '.',
        el('span', { class: 'jwt-p', text: parts[1] }), '.',
        el('span', { class: 'jwt-s', text: parts[2] }),
      ]),
    ]);
    const headerChips = el('div', { class: 'jwt-header' }, [
      el('h3', { text: 'Header' }),
      ...Object.entries(header).map(([k, v]) => el('span', { class: 'chip' }, [el('b', { text: k }), ` ${typeof v === 'string' ? v : JSON.stringify(v)}`])),
    ]);
    body.replaceChildren(...[panelNote(kind, payload), raw, headerChips, claimsTable(payload, kind)].filter(Boolean));
    updateClocks();
  }

  /** A callout for the case this demo is about: an ID token that looks like an access token. */
  function panelNote(kind, payload) {
    if (kind !== 'id' || !session) return null;
    const accessAud = safeClaims(session.accessToken).aud;
    if (payload.aud !== accessAud) return null;
    return el('p', { class: 'panel-note' }, [
      el('strong', { text: 'One registration: ' }),
      `this ID token has the same aud as the access token${payload.roles ? ' and carries roles' : ''}. It is still an ID token (nonce, no scp/azp), and the API refuses it.`,
    ]);
  }

  function claimsTable(payload, kind) {
    const present = Object.keys(payload);
    const ordered = [...ORDER.filter((c) => c in payload || DIFF_CLAIMS.includes(c)),
      ...present.filter((c) => !ORDER.includes(c)).sort()];
    const rows = ordered.map((claim) => {
      const isDiff = DIFF_CLAIMS.includes(claim);
      if (!(claim in payload)) {
        return el('tr', { class: 'diff absent', 'data-claim-absent': claim }, [
          el('th', { scope: 'row' }, el('code', { text: claim })),
          el('td', { class: 'value' }, el('span', { class: 'absent-mark', text: 'absent' })),
          el('td', { class: 'meaning', text: ABSENT[kind][claim] || 'Not in this token.' }),
        ]);
      }
      const meaning = MEANINGS[claim] ? MEANINGS[claim](kind) : '';
      return el('tr', { class: isDiff ? 'diff' : null, 'data-claim': claim }, [
        el('th', { scope: 'row' }, el('code', { text: claim })),
        el('td', { class: 'value' }, claimValue(claim, payload[claim])),
        el('td', { class: 'meaning', text: meaning }),
      ]);
    });
    return el('table', { class: 'claims' }, [
      el('caption', { text: 'Claims (payload)' }),
      el('thead', {}, el('tr', {}, [
        el('th', { scope: 'col', text: 'claim' }), el('th', { scope: 'col', text: 'value' }), el('th', { scope: 'col', text: 'meaning' }),
      ])),
      el('tbody', {}, rows),
    ]);
  }

  function claimValue(claim, value) {
    if (TIME_CLAIMS.has(claim) && typeof value === 'number') {
      return el('span', { class: 'time' }, [
        el('code', { text: String(value) }), ' ',
        el('span', { text: localTime(value) }), ' ',
        el('span', { class: 'rel', 'data-epoch': value, text: `(${relative(value)})` }),
      ]);
    }
    if (Array.isArray(value)) {
      return value.length ? el('span', { class: 'chips' }, value.map((v) => el('span', { class: 'chip', text: String(v) }))) : el('span', { class: 'muted', text: '[ ] (empty)' });
    }
    if (claim === 'scp' && typeof value === 'string') {
      return el('span', { class: 'chips' }, value.split(' ').map((v) => el('span', { class: 'chip', text: v })));
    }
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    const nodes = [el('code', { class: GUID.test(text) ? 'guid' : null, text })];
    if ((claim === 'aud' || claim === 'azp') && names[value]) nodes.push(el('span', { class: 'who', text: names[value] }));
    return el('span', {}, nodes);
  }

  function copyButton(text, what) {
    const button = el('button', { type: 'button', class: 'copy small', 'aria-label': `Copy the ${what}`, text: 'Copy' });
    button.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = 'Copied';
      } catch {
        button.textContent = 'Copy failed';
      }
      setTimeout(() => { button.textContent = 'Copy'; }, 1500);
    });
    return button;
  }

  // -------------------------------------------------------- session display

  function renderSession() {
    const signedIn = Boolean(session);
    $('#signed-in-as').textContent = signedIn ? session.user : 'Not signed in';
    $('#signed-in-as').classList.toggle('on', signedIn);
    $('#session-variant').textContent = signedIn ? (session.variant === 'single' ? 'single registration' : 'two registrations') : '';
    $('#sign-out').disabled = !signedIn;
    $('#sign-in').textContent = signedIn ? 'Sign in again' : 'Sign in';
    document.body.dataset.variant = signedIn ? session.variant : $('#variant').value;
    renderTokenPanel($('#id-token-panel'), session?.idToken, 'id', 'Sign in to see the ID token the app receives.');
    renderTokenPanel($('#access-token-panel'), session?.accessToken, 'access', 'Sign in to see the access token the app sends to the API.');
    $$('button.call[data-token="access"], button.call[data-token="id"]').forEach((b) => { b.disabled = !signedIn; });
    $('#renewals').textContent = String(session?.renewals || 0);
    if (signedIn && session.renewedAt) {
      const status = $('#renew-status');
      status.classList.remove('failed');
      status.textContent = `Access token renewed silently at ${new Date(session.renewedAt).toLocaleTimeString()} (refresh token rotated; no page reload).`;
    }
  }

  function renderDaemon() {
    renderTokenPanel($('#daemon-token-panel'), daemon?.accessToken, 'app', 'Press “Get app-only token”.');
  }

  /** Refreshes every relative time ("in 12 s") and the expiry badges, once a second. */
  function updateClocks() {
    $$('[data-epoch]').forEach((node) => { node.textContent = `(${relative(Number(node.dataset.epoch))})`; });
    $$('[data-expiry]').forEach((node) => {
      if (!node.dataset.exp) return;
      const left = Number(node.dataset.exp) - nowSec();
      node.textContent = left > 0 ? `expires ${relative(Number(node.dataset.exp))}` : `expired ${relative(Number(node.dataset.exp))}`;
      node.classList.toggle('soon', left > 0 && left * 1000 <= renewMarginMs());
      node.classList.toggle('expired', left <= 0);
    });
  }

  function showAuthError(code, description, note = '') {
    const box = $('#auth-error');
    box.replaceChildren(...[
      el('strong', { text: 'Sign-in failed: ' }), el('code', { text: code }),
      description ? el('p', { class: 'aadsts', text: description }) : null,
      note ? el('p', { text: note }) : null,
    ].filter(Boolean));
    box.hidden = false;
  }

  function showNotice(text) {
    const box = $('#notice');
    box.textContent = text;
    box.hidden = !text;
  }

  // -------------------------------------------------------------- API calls

  /** Runs one call of the calls panel: spec "GET /orders", token "access" | "id" | "daemon". */
  async function callApi(spec, tokenKind, button) {
    const [method, template] = spec.split(' ');
    const path = config.api + template.replace('{id}', encodeURIComponent($('#order-id').value.trim() || '0'));
    const tokenName = { access: 'access token', id: 'ID token', daemon: 'daemon’s app-only token' }[tokenKind];
    let token = null;
    if (tokenKind === 'access') token = await freshAccessToken();
    else if (tokenKind === 'id') token = session?.idToken || null;
    else token = await freshDaemonToken();
    if (!token) {
      showResult({ method, path, tokenName, status: null, notSent: tokenKind === 'daemon'
        ? 'Not sent: no daemon token (see the daemon pane).'
        : 'Not sent: the access token expired and could not be renewed — sign in again.' });
      return;
    }
    const init = { method, headers: { Authorization: `Bearer ${token}` } };
    if (method === 'POST') {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify({ item: $('#order-item').value, quantity: Number($('#order-quantity').value) });
    }
    button?.classList.add('busy');
    try {
      const res = await fetch(path, init);
      const text = await res.text();
      let body = null;
      try { body = text ? JSON.parse(text) : null; } catch { body = text; }
      showResult({ method, path, tokenName, tokenKind, status: res.status, wwwAuthenticate: res.headers.get('WWW-Authenticate'), body });
    } catch (e) {
      showResult({ method, path, tokenName, status: null, notSent: `The request failed: ${e.message || e}` });
    } finally {
      button?.classList.remove('busy');
    }
  }

  function showResult({ method, path, tokenName, tokenKind, status, wwwAuthenticate, body, notSent }) {
    const who = tokenKind === 'daemon' ? 'Orders daemon' : session?.user;
    $('#result-request').replaceChildren(
      el('code', { class: 'method', text: method }), ' ', el('code', { text: path }), ' with the ',
      el('strong', { class: tokenKind === 'id' ? 'bad-token' : 'good-token', text: tokenName }),
      who ? ` (${who})` : '',
    );
    const statusNode = $('#result-status');
    statusNode.textContent = status === null ? '—' : String(status);
    statusNode.className = `status ${status === null ? '' : status < 300 ? 'ok' : status < 500 ? 'refused' : 'failed'}`;
    $('#result-status-text').textContent = notSent || STATUS_TEXT[status] || '';
    $('#result-www-authenticate').textContent = wwwAuthenticate || '—';
    $('#result-body').textContent = body === null || body === undefined ? (notSent ? '—' : '(no body)') : typeof body === 'string' ? body : JSON.stringify(body, null, 2);
    renderExplanation(status, body, tokenKind);
    renderOrders(body);
    // A counter, so scripts (and the browser tests) can tell one answer from the next.
    $('#result').dataset.seq = String(Number($('#result').dataset.seq || 0) + 1);
    $('#result').classList.remove('flash');
    void $('#result').offsetWidth; // restart the highlight animation
    $('#result').classList.add('flash');
  }

  /** Plain words for a refusal: the body's code and hint. */
  function renderExplanation(status, body, tokenKind) {
    const box = $('#result-explanation');
    if (!status || status < 400 || !body || typeof body !== 'object' || !body.code) {
      box.hidden = true;
      box.replaceChildren();
      return;
    }
    const [title, words] = CODE_WORDS[body.code] || ['Refused', body.detail || ''];
    const extra = [];
    if (body.code === 'invalid_audience' && tokenKind === 'id') {
      extra.push(el('p', { text: `This is the ID token: its aud is the app’s own client id (${names[variantOf(session?.variant).clientId] || 'the SPA'}), not the API, so the API stops at the audience check. Switch to the single-registration variant: there the ID token’s aud is the API and it carries roles — and the API still refuses it as an ID token.` }));
    }
    if (body.code === 'missing_role' && tokenKind === 'access') {
      extra.push(el('p', { text: 'This is the right token type; the user simply lacks the role. Compare Alice (Orders.Admin) and Bob (Orders.Read).' }));
    }
    box.replaceChildren(...[
      el('p', { class: 'explanation-title' }, [el('code', { class: 'code', text: body.code }), ' ', el('strong', { text: title })]),
      words ? el('p', { text: words }) : null,
      ...extra,
      body.hint ? el('p', { class: 'fix' }, [el('strong', { text: 'Fix: ' }), body.hint]) : null,
    ].filter(Boolean));
    box.className = `explanation ${status === 401 ? 'e401' : 'e403'}`;
    box.hidden = false;
  }

  /** A readable table for GET /orders answers (view admin, reader or application). */
  function renderOrders(body) {
    const box = $('#orders');
    if (!body || typeof body !== 'object' || !['admin', 'reader', 'application'].includes(body.view) || !Array.isArray(body.orders)) {
      box.hidden = true;
      return;
    }
    $('#orders-view').textContent = body.view;
    $('#orders-view').className = `badge view-${body.view}`;
    const me = session ? safeClaims(session.idToken).oid : null;
    const totals = body.view === 'admin'
      ? `${body.orders.length} orders · ${body.customers} customers · ${body.total} items in total`
      : body.view === 'reader' ? `${body.orders.length} of your orders (readers see their own)` : `${body.orders.length} orders (app-only: every customer)`;
    $('#orders-totals').textContent = totals;
    const rows = body.orders.map((o) => el('tr', {}, [
      el('td', { text: String(o.id) }),
      el('td', { text: o.item }),
      el('td', { class: 'num', text: String(o.quantity) }),
      el('td', {}, [el('code', { text: o.customer }), o.customer === me && body.view !== 'application' ? el('span', { class: 'you', text: 'you' }) : null]),
    ]));
    if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 4, class: 'muted', text: 'No orders.' })));
    $('#orders-table tbody').replaceChildren(...rows);
    box.hidden = false;
  }

  function safeClaims(token) {
    try { return decodeJwt(token).payload; } catch { return {}; }
  }

  // ------------------------------------------------------------------ daemon

  /** Asks the demo server for the daemon's client-credentials token. */
  async function getDaemonToken() {
    const button = $('#daemon-get-token');
    button.classList.add('busy');
    try {
      const res = await fetch(config.daemon.tokenPath, { method: 'POST' });
      if (!res.ok) throw new Error(`${res.status}: ${await res.text()}`);
      const body = await res.json();
      daemon = { accessToken: body.access_token, expiresAt: Date.now() + Number(body.expires_in || 0) * 1000 };
      writeJson(DAEMON, daemon);
    } catch (e) {
      daemon = null;
      writeJson(DAEMON, null);
      $('.token-body', $('#daemon-token-panel')).replaceChildren(el('p', { class: 'empty error-text', text: `Could not get the daemon token: ${e.message || e}` }));
      return;
    } finally {
      button.classList.remove('busy');
    }
    renderDaemon();
  }

  /** Client credentials have no refresh token: a daemon just asks again. */
  async function freshDaemonToken() {
    if (!daemon || daemon.expiresAt - Date.now() <= renewMarginMs()) await getDaemonToken();
    return daemon?.accessToken || null;
  }

  // -------------------------------------------------------------------- tabs

  function selectTab(name, focus = false) {
    for (const tab of ['user', 'daemon']) {
      const selected = tab === name;
      const button = $(`#tab-${tab}`);
      button.setAttribute('aria-selected', String(selected));
      button.tabIndex = selected ? 0 : -1;
      $(`#pane-${tab}`).hidden = !selected;
      if (selected && focus) button.focus();
    }
    // One result area, shown beside the active tab's buttons.
    $(`.result-slot[data-slot="${name}"]`).append($('#result'));
    sessionStorage.setItem(TAB, name);
  }

  // ------------------------------------------------------------------- setup

  function fillSelects() {
    const variant = $('#variant');
    variant.replaceChildren(...Object.entries(config.variants).map(([key, v]) => el('option', { value: key, text: v.label })));
    const user = $('#user');
    user.replaceChildren(...config.users.map((u) => el('option', { value: u.upn, text: `${u.name} — ${u.roles.length ? u.roles.join(', ') : 'no role'}` })));
    if (session) {
      variant.value = session.variant;
      if (userOf(session.user)) user.value = session.user;
    }
    showPassword();
  }

  function showPassword() {
    const u = userOf($('#user').value);
    $('#user-password').textContent = u ? `password: ${u.password}` : '';
  }

  function wireEvents() {
    $('#sign-in-form').addEventListener('submit', (e) => { e.preventDefault(); signIn(); });
    $('#sign-out').addEventListener('click', signOut);
    $('#renew-sign-in').addEventListener('click', signIn);
    $('#refresh-without-scope').addEventListener('click', refreshWithoutScope);
    $('#user').addEventListener('change', showPassword);
    $('#variant').addEventListener('change', () => {
      document.body.dataset.variant = $('#variant').value;
      showNotice(session && session.variant !== $('#variant').value
        ? 'The tokens shown are from the other registration: press “Sign in again” to switch.' : '');
    });
    $$('button.call').forEach((button) => {
      // "with access token" alone is ambiguous for screen readers: name the request too.
      button.setAttribute('aria-label', `${button.dataset.call} with the ${{ access: 'access token', id: 'ID token', daemon: 'daemon token' }[button.dataset.token]}`);
      button.addEventListener('click', () => callApi(button.dataset.call, button.dataset.token, button));
    });
    $('#daemon-get-token').addEventListener('click', getDaemonToken);
    $('#tab-user').addEventListener('click', () => selectTab('user'));
    $('#tab-daemon').addEventListener('click', () => selectTab('daemon'));
    $('.tabs').addEventListener('keydown', (e) => {
      if (!['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(e.key)) return;
      e.preventDefault();
      const current = $('#tab-user').getAttribute('aria-selected') === 'true' ? 'user' : 'daemon';
      const next = e.key === 'Home' ? 'user' : e.key === 'End' ? 'daemon' : current === 'user' ? 'daemon' : 'user';
      selectTab(next, true);
    });
  }

  async function start() {
    try {
      const res = await fetch('config.json', { cache: 'no-store' });
      if (!res.ok) throw new Error(`config.json: HTTP ${res.status}`);
      config = await res.json();
    } catch (e) {
      showAuthError('config_unavailable', String(e.message || e));
      return;
    }
    const apiId = (config.variants.separate.scope.match(/^api:\/\/([^/]+)\//) || [])[1];
    names = {
      [config.variants.separate.clientId]: 'Orders SPA',
      [config.variants.single.clientId]: 'Orders, single registration (app and API)',
      [config.daemon.clientId]: 'Orders daemon',
    };
    if (apiId) names[apiId] = 'Orders API';
    $('#authority').textContent = config.authority;
    $('#daemon-path').textContent = config.daemon.tokenPath;

    await handleRedirect();
    if (sessionStorage.getItem(SIGNED_OUT)) {
      sessionStorage.removeItem(SIGNED_OUT);
      showNotice('Signed out: the tokens are gone from this tab and the provider’s session has ended.');
      history.replaceState(null, '', location.pathname);
    }
    $('#renew-status').textContent = `Renews the access token with the refresh token when it expires within ${renewMarginMs() / 1000} s (or has expired).`;
    fillSelects();
    wireEvents();
    renderSession();
    renderDaemon();
    selectTab(sessionStorage.getItem(TAB) === 'daemon' ? 'daemon' : 'user');
    setInterval(updateClocks, 1000);
    document.body.classList.add('ready');
  }

  start();
})();
