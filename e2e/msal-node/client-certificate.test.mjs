// Certificate credentials with unmodified msal-node: `clientCertificate`
// ({ thumbprintSha256 | thumbprint, privateKey }) makes msal-node sign a client
// assertion (PS256 + x5t#S256, or RS256 + x5t for the SHA-1 thumbprint), cache
// it for 10 minutes and send the identical assertion with every token request
// in that time. The provider must accept that re-send (a jti binds one
// assertion, not one request), issue tokens with azpacr "2", and take the
// certificate on the on-behalf-of grant too.
//
// The certificates are made per run by e2e/certificates/make.py (in
// ROLEGATE_E2E_CERTS) and registered by e2e/certificates/apps.toml, which
// e2e/run.sh appends to the example tenant. Every token request msal-node
// makes goes through the global fetch (msal-node 7's HttpClient); the test
// wraps it to record the assertions sent.

import test from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { ConfidentialClientApplication } from "@azure/msal-node";
import { API, API_DEFAULT, API_SCOPE, AUTHORITY, CLI, USERS, claimsOf, msalAuth, msalSystem, tokenCheck } from "./helpers.mjs";

const CERTS = process.env.ROLEGATE_E2E_CERTS;
if (!CERTS) throw new Error("ROLEGATE_E2E_CERTS is not set: run these tests through e2e/run.sh");

/** e2e/certificates/apps.toml */
const CERT_DAEMON = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a";
const REPORTS = "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7";
const REPORTS_SCOPE = `api://${REPORTS}/access_as_user`;
const REPORTS_DEFAULT = `api://${REPORTS}/.default`;

/** A certificate of this run: its PEM, private key and thumbprints (hex, as the portal shows them). */
function certificate(name) {
  const pem = fs.readFileSync(path.join(CERTS, `${name}-cert.pem`), "utf8");
  const x509 = new crypto.X509Certificate(pem);
  return {
    pem,
    privateKey: fs.readFileSync(path.join(CERTS, `${name}-key.pem`), "utf8"),
    sha1: x509.fingerprint.replaceAll(":", ""),
    sha256: x509.fingerprint256.replaceAll(":", ""),
  };
}

// ------------------------------------------------------------ what msal-node sends
/** Every POST to a token endpoint: its form parameters. */
const tokenRequests = [];
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init = {}) => {
  const url = String(input instanceof Request ? input.url : input);
  if (url.includes("/oauth2/v2.0/token") && typeof init.body === "string") {
    tokenRequests.push(new URLSearchParams(init.body));
  }
  return realFetch(input, init);
};

const header = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[0], "base64url").toString("utf8"));

test("client credentials with a certificate (thumbprintSha256): two tokens from one cached assertion", { timeout: 60_000 }, async () => {
  const cert = certificate("daemon");
  const app = new ConfidentialClientApplication({
    auth: msalAuth(CERT_DAEMON, { clientCertificate: { thumbprintSha256: cert.sha256, privateKey: cert.privateKey } }),
    system: msalSystem,
  });
  const before = tokenRequests.length;

  const result = await app.acquireTokenByClientCredential({ scopes: [API_DEFAULT] });
  assert.equal(result.fromCache, false);
  const c = claimsOf(result.accessToken);
  assert.equal(c.aud, API);
  assert.equal(c.azp, CERT_DAEMON);
  assert.equal(c.azpacr, "2", "azpacr 2: the client authenticated with a certificate");
  assert.deepEqual(c.roles, ["Orders.Read"]);
  const check = tokenCheck(result.accessToken, { requireRole: "Orders.Read" });
  assert.equal(check.status, 0, `rolegate token check refused it: ${JSON.stringify(check.result.errors)}`);

  // A second resource, and the first one again past the cache: two more
  // token requests within the assertion's 10 minutes.
  const reports = await app.acquireTokenByClientCredential({ scopes: [REPORTS_DEFAULT] });
  assert.equal(reports.fromCache, false);
  assert.equal(claimsOf(reports.accessToken).aud, REPORTS);
  const again = await app.acquireTokenByClientCredential({ scopes: [API_DEFAULT], skipCache: true });
  assert.equal(again.fromCache, false);
  assert.equal(claimsOf(again.accessToken).azpacr, "2");

  const sent = tokenRequests.slice(before);
  assert.equal(sent.length, 3, "three token requests went out");
  const assertions = sent.map((form) => form.get("client_assertion"));
  for (const form of sent) {
    assert.equal(form.get("client_assertion_type"), "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    assert.equal(form.get("client_secret"), null);
  }
  assert.ok(assertions.every((a) => a === assertions[0]), "msal-node re-sent its cached assertion, and the provider accepted it each time");
  const h = header(assertions[0]);
  assert.equal(h.alg, "PS256");
  assert.equal(h["x5t#S256"], Buffer.from(cert.sha256, "hex").toString("base64url"));
  const a = claimsOf(assertions[0]);
  assert.equal(a.aud, `${AUTHORITY}/oauth2/v2.0/token`);
  assert.equal(a.iss, CERT_DAEMON);
  assert.equal(a.sub, CERT_DAEMON);
});

test("client credentials with the SHA-1 thumbprint (RS256 + x5t)", { timeout: 60_000 }, async () => {
  const cert = certificate("daemon");
  const app = new ConfidentialClientApplication({
    auth: msalAuth(CERT_DAEMON, { clientCertificate: { thumbprint: cert.sha1, privateKey: cert.privateKey } }),
    system: msalSystem,
  });
  const before = tokenRequests.length;
  const result = await app.acquireTokenByClientCredential({ scopes: [API_DEFAULT] });
  assert.equal(claimsOf(result.accessToken).azpacr, "2");
  const h = header(tokenRequests[before].get("client_assertion"));
  assert.equal(h.alg, "RS256");
  assert.equal(h.x5t, Buffer.from(cert.sha1, "hex").toString("base64url"));
});

test("a certificate the app does not have is refused with invalid_client / AADSTS700027", { timeout: 60_000 }, async () => {
  const reports = certificate("reports"); // registered, but on the Reports API
  const app = new ConfidentialClientApplication({
    auth: msalAuth(CERT_DAEMON, { clientCertificate: { thumbprintSha256: reports.sha256, privateKey: reports.privateKey } }),
    system: { loggerOptions: { ...msalSystem.loggerOptions, loggerCallback: () => {} } },
  });
  await assert.rejects(app.acquireTokenByClientCredential({ scopes: [API_DEFAULT] }), (e) => {
    assert.equal(e.errorCode, "invalid_client", `errorCode: ${e.errorCode} ${e.errorMessage}`);
    assert.match(e.errorMessage, /AADSTS700027/);
    assert.match(e.errorMessage, new RegExp(CERT_DAEMON));
    return true;
  });
});

test("on-behalf-of: the Reports API authenticates with its certificate", { timeout: 60_000 }, async () => {
  // alice's token for the Reports API, from the public Orders CLI (ROPC).
  const response = await realFetch(`${AUTHORITY}/oauth2/v2.0/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "password",
      client_id: CLI,
      username: USERS.alice.username,
      password: USERS.alice.password,
      scope: REPORTS_SCOPE,
    }),
    signal: AbortSignal.timeout(15_000),
  });
  const user = await response.json();
  assert.equal(response.status, 200, JSON.stringify(user));
  assert.equal(claimsOf(user.access_token).aud, REPORTS);

  const cert = certificate("reports");
  const app = new ConfidentialClientApplication({
    auth: msalAuth(REPORTS, { clientCertificate: { thumbprintSha256: cert.sha256, privateKey: cert.privateKey } }),
    system: msalSystem,
  });
  const result = await app.acquireTokenOnBehalfOf({ oboAssertion: user.access_token, scopes: [API_SCOPE] });
  const c = claimsOf(result.accessToken);
  assert.equal(c.aud, API);
  assert.equal(c.azp, REPORTS);
  assert.equal(c.azpacr, "2");
  assert.equal(c.scp, "access_as_user");
  assert.equal(c.oid, USERS.alice.oid);
  assert.deepEqual(c.roles, ["Orders.Admin"]);
  const check = tokenCheck(result.accessToken, { requireRole: "Orders.Admin" });
  assert.equal(check.status, 0, `rolegate token check refused it: ${JSON.stringify(check.result.errors)}`);
});
