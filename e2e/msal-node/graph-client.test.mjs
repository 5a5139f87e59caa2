// Microsoft's Graph client for JavaScript (@microsoft/microsoft-graph-client),
// unmodified but for the base URL (the provider's origin, which must also be
// named in customHosts so that the client sends its token there) and the
// token (from msal-node, client credentials with
// https://graph.microsoft.com/.default): the provider's Graph subset answers
// in shapes the client accepts, pages through @odata.nextLink with the
// client's own PageIterator, and refuses in Graph's error shape, which the
// client turns into its GraphError.

import test from "node:test";
import assert from "node:assert/strict";
import { ConfidentialClientApplication } from "@azure/msal-node";
import { Client, PageIterator } from "@microsoft/microsoft-graph-client";
import { API, DAEMON, DAEMON_SECRET, ORIGIN, claimsOf, msalAuth, msalSystem } from "./helpers.mjs";

const AUTOMATION = "3f0c8a6e-9d2b-4c7a-8e1f-5b6a7c8d9e0f";
const AUTOMATION_SECRET = "automation-secret-7Hq2Xv9Kp4Lm8Rw3";
const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";
const GRAPH_DEFAULT = "https://graph.microsoft.com/.default";

async function graphToken(clientId, clientSecret) {
  const app = new ConfidentialClientApplication({ auth: msalAuth(clientId, { clientSecret }), system: msalSystem });
  const result = await app.acquireTokenByClientCredential({ scopes: [GRAPH_DEFAULT] });
  assert.ok(result?.accessToken, "msal-node returned no Graph token");
  return result.accessToken;
}

function graphClient(token) {
  return Client.initWithMiddleware({
    baseUrl: ORIGIN,
    customHosts: new Set([new URL(ORIGIN).hostname]),
    defaultVersion: "v1.0",
    authProvider: { getAccessToken: async () => token },
  });
}

test("Graph client: reads applications, service principals, assignments, users and groups", { timeout: 60_000 }, async () => {
  const token = await graphToken(AUTOMATION, AUTOMATION_SECRET);
  const claims = claimsOf(token);
  assert.equal(claims.aud, "https://graph.microsoft.com");
  assert.ok(claims.roles.includes("Application.ReadWrite.All"), JSON.stringify(claims.roles));
  const client = graphClient(token);

  const filtered = await client.api("/applications").filter(`appId eq '${API}'`).select("id,appId,displayName").get();
  assert.equal(filtered.value.length, 1);
  assert.equal(filtered.value[0].displayName, "Orders API");
  assert.deepEqual(Object.keys(filtered.value[0]).sort(), ["appId", "displayName", "id"]);

  const byKey = await client.api(`/applications(appId='${API}')`).get();
  assert.equal(byKey.id, filtered.value[0].id);
  assert.ok(byKey.appRoles.some((r) => r.value === "Orders.Admin" && r.allowedMemberTypes.includes("User")));

  // The client's PageIterator follows @odata.nextLink to the end.
  const all = await client.api("/applications").get();
  const firstPage = await client.api("/applications").top(2).get();
  assert.ok(firstPage["@odata.nextLink"], "a next link with $top=2");
  const seen = [];
  const iterator = new PageIterator(client, firstPage, (app) => {
    seen.push(app.appId);
    return true;
  });
  await iterator.iterate();
  assert.deepEqual(seen.sort(), all.value.map((a) => a.appId).sort());

  const graphSp = await client.api(`/servicePrincipals(appId='${GRAPH_APP_ID}')`).get();
  assert.equal(graphSp.displayName, "Microsoft Graph");
  const role = graphSp.appRoles.find((r) => r.value === "Application.ReadWrite.All");
  assert.equal(role.id, "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9");
  const holders = await client.api(`/servicePrincipals/${graphSp.id}/appRoleAssignedTo`).get();
  assert.ok(holders.value.some((a) => a.appRoleId === role.id && a.principalDisplayName === "Directory automation"));

  const bob = await client.api("/users/bob@contoso.test").get();
  const memberOf = await client.api(`/users/${bob.id}/memberOf`).get();
  assert.deepEqual(memberOf.value.map((g) => g.displayName), ["Order Readers"]);
  const members = await client.api(`/groups/${memberOf.value[0].id}/members`).get();
  assert.ok(members.value.some((m) => m.id === bob.id));
});

test("Graph client: a client without Graph permissions gets Graph's 403 as a GraphError", { timeout: 60_000 }, async () => {
  const token = await graphToken(DAEMON, DAEMON_SECRET);
  assert.equal(claimsOf(token).roles, undefined, "no Graph permission: no roles");
  await assert.rejects(graphClient(token).api("/applications").get(), (e) => {
    assert.equal(e.statusCode, 403, `${e.statusCode} ${e.code} ${e.message}`);
    assert.equal(e.code, "Authorization_RequestDenied");
    assert.equal(e.message, "Insufficient privileges to complete the operation.");
    assert.ok(e.requestId, "the request-id from innerError");
    return true;
  });
});

// The flow with Microsoft's client: an API app with an app role, a
// client app with a secret (addPassword), their service principals, the
// role assigned to the client and to alice; the client's next token
// (msal-node, the new secret) carries the role. Cleaned up afterwards.
test("Graph client: creates an API with an app role, a client with a secret, service principals and assignments; the next token carries the role", { timeout: 60_000 }, async () => {
  const client = graphClient(await graphToken(AUTOMATION, AUTOMATION_SECRET));
  const roleId = "5b1a2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
  const api = await client.api("/applications").post({
    "@odata.type": "#microsoft.graph.application",
    displayName: "E2E Reports API",
    appRoles: [{ id: roleId, value: "Reports.Read", displayName: "Read reports", description: "Read every report.", allowedMemberTypes: ["User", "Application"], isEnabled: true }],
    api: { requestedAccessTokenVersion: 2 },
  });
  const job = await client.api("/applications").post({ displayName: "E2E Reports job" });
  try {
    assert.ok(api.appId && api.id && api.appId !== api.id);
    await client.api(`/applications/${api.id}`).patch({ identifierUris: [`api://${api.appId}`] });
    const password = await client.api(`/applications/${job.id}/addPassword`).post({ passwordCredential: { displayName: "e2e" } });
    assert.equal(password.secretText.length, 40);
    const apiSp = await client.api("/servicePrincipals").post({ appId: api.appId });
    const jobSp = await client.api("/servicePrincipals").post({ appId: job.appId });
    const alice = await client.api("/users/alice@contoso.test").get();
    for (const principalId of [jobSp.id, alice.id]) {
      const assignment = await client.api(`/servicePrincipals/${apiSp.id}/appRoleAssignedTo`).post({ principalId, resourceId: apiSp.id, appRoleId: roleId });
      assert.equal(assignment.appRoleId, roleId);
    }
    const holders = await client.api(`/servicePrincipals/${apiSp.id}/appRoleAssignedTo`).get();
    assert.deepEqual(holders.value.map((h) => h.principalDisplayName).sort(), ["Alice Smith", "E2E Reports job"]);

    // The next token, with the secret Graph just made. (Entra's clients
    // retry while a new secret replicates; through the balancer the other
    // replica learns it within milliseconds, so retry briefly as they do.)
    const msal = new ConfidentialClientApplication({ auth: msalAuth(job.appId, { clientSecret: password.secretText }), system: msalSystem });
    let result;
    for (let attempt = 0; ; attempt++) {
      try {
        result = await msal.acquireTokenByClientCredential({ scopes: [`api://${api.appId}/.default`] });
        break;
      } catch (e) {
        if (attempt >= 10) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const c = claimsOf(result.accessToken);
    assert.equal(c.aud, api.appId);
    assert.deepEqual(c.roles, ["Reports.Read"]);
  } finally {
    await client.api(`/applications/${api.id}`).delete();
    await client.api(`/applications/${job.id}`).delete();
  }
  await assert.rejects(client.api(`/applications/${api.id}`).get(), (e) => e.statusCode === 404);
});
