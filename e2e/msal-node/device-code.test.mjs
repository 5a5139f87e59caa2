// Device code with the public Orders CLI app: msal-node asks for a device
// code and polls the token endpoint; the callback plays the user on another
// device, approving the code on the verification page as bob, whose
// Orders.Read role comes through the group "Order Readers".

import test from "node:test";
import assert from "node:assert/strict";
import { PublicClientApplication } from "@azure/msal-node";
import {
  API, API_SCOPE, CLI, ISSUER, ORIGIN, TENANT_ID, USERS,
  approveDeviceCode, claimsOf, msalAuth, msalSystem, tokenCheck,
} from "./helpers.mjs";

test("device code: bob approves on the verification page, msal-node's polling gets a token with roles [Orders.Read]", { timeout: 90_000 }, async () => {
  const app = new PublicClientApplication({ auth: msalAuth(CLI), system: msalSystem });
  let shown;
  let approval;
  const request = {
    scopes: [API_SCOPE],
    timeout: 60, // seconds of polling at most (msal-node stops and throws after that)
    deviceCodeCallback: (response) => {
      shown = response;
      // The user, elsewhere, opens the verification URI and enters the code.
      approval = approveDeviceCode(response.verificationUri, response.userCode, USERS.bob).catch((e) => {
        request.cancel = true; // stop msal-node's polling at its next turn
        throw e;
      });
      approval.catch(() => {}); // awaited below; avoid an unhandled rejection meanwhile
    },
  };

  let result;
  let pollError;
  try {
    result = await app.acquireTokenByDeviceCode(request);
  } catch (e) {
    pollError = e;
  }
  if (!shown) {
    throw new Error(`msal-node never called deviceCodeCallback (the device code request failed): ${pollError?.errorCode ?? ""} ${pollError?.message ?? pollError}`, { cause: pollError });
  }
  const page = await approval; // rethrows a failure on the verification page, with its response
  assert.match(page, /signed in|you can close/i, "the verification page confirms the sign-in");
  if (pollError) throw pollError;

  assert.equal(shown.verificationUri, `${ORIGIN}/devicelogin`);
  assert.ok(shown.userCode && shown.deviceCode && shown.message, JSON.stringify(shown));
  assert.ok(shown.message.includes(shown.userCode), "the message tells the user the code");
  assert.ok(shown.interval >= 1 && shown.expiresIn > 0, JSON.stringify(shown));

  assert.ok(result?.accessToken, "msal-node returned no access token");
  assert.equal(result.account.homeAccountId, `${USERS.bob.oid}.${TENANT_ID}`);
  assert.equal(result.account.username, USERS.bob.username);

  const c = claimsOf(result.accessToken);
  assert.equal(c.aud, API);
  assert.equal(c.iss, ISSUER);
  assert.equal(c.ver, "2.0");
  assert.equal(c.tid, TENANT_ID);
  assert.equal(c.scp, "access_as_user");
  assert.deepEqual(c.roles, ["Orders.Read"]);
  assert.equal(c.azp, CLI);
  assert.equal(c.oid, USERS.bob.oid);

  const check = tokenCheck(result.accessToken, { requireRole: "Orders.Read" });
  assert.equal(check.status, 0, `rolegate token check refused it: ${JSON.stringify(check.result.errors)}`);
  const admin = tokenCheck(result.accessToken, { requireRole: "Orders.Admin" });
  assert.equal(admin.status, 1, "bob is not an Orders.Admin");
  assert.equal(admin.result.valid, true);
  assert.equal(admin.result.authorized, false);

  assert.equal(claimsOf(result.idToken).aud, CLI);
  assert.equal(tokenCheck(result.idToken).status, 1, "the ID token is refused");
});
