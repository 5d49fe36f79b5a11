// Management API authentication across two instances on one database, under concurrent calls: the
// checks a call makes (revocation, the application, its current grant of the operation's scope)
// are shared by the calls arriving together with one token, and still honour a change committed
// on the other instance before the next calls arrive — no stale window, whatever was served before.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`Management API authentication on two instances (${kind})`, { skip }, () => {
    let a: TestServer;
    let b: TestServer;

    before(async () => {
      const masterKey = randomBytes(32).toString("base64");
      a = await startTestServer(kind, { env: { LATCHKEY_MASTER_KEY: masterKey } });
      b = await startTestServer(kind, {
        database: a.database,
        env: { ISSUER_URL: a.url, LATCHKEY_MASTER_KEY: masterKey },
      });
    });
    after(async () => {
      await b?.close();
      await a?.close();
    });

    /** `count` calls at once with one token, on `server`: their statuses. */
    const burst = async (server: TestServer, token: string, count = 24) => {
      const replies = await Promise.all(
        Array.from({ length: count }, async () => {
          const response = await fetch(`${server.url}/api/v1/users?page_size=1`, {
            headers: { authorization: `Bearer ${token}` },
          });
          await response.arrayBuffer();
          return response.status;
        }),
      );
      return [...new Set(replies)];
    };

    it("a token revoked on one instance is refused by the other from the next calls on", async () => {
      const token = await managementToken(a);
      assert.deepEqual(await burst(a, token), [200]);
      // Overlapping bursts while the revocation commits on B: each call is answered either way,
      // never with an error of another kind.
      const racing = burst(a, token, 48);
      const revoked = await fetch(`${b.url}/oauth2/revoke`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          token,
          client_id: a.management.clientId,
          client_secret: a.management.clientSecret,
        }),
      });
      await revoked.arrayBuffer();
      assert.equal(revoked.status, 200);
      for (const status of await racing) assert.ok(status === 200 || status === 401, String(status));
      assert.deepEqual(await burst(a, token), [401]);
      assert.deepEqual(await burst(b, token), [401]);
      // Another token of the same application is not affected.
      assert.deepEqual(await burst(a, await managementToken(a)), [200]);
    });

    it("a scope withdrawn, granted again or an application deleted on one instance holds on the other at once", async () => {
      const admin = await managementToken(a); // one issuer: either instance accepts it
      const apis = await callApi<{ apis: { id: string; audience: string }[] }>(b, "GET", "/api/v1/apis", {
        token: admin,
      });
      const managementApi = apis.body.apis.find((api) => api.audience === `${a.url}/api`)!;
      const scopes = await callApi<{ scopes: { id: string; key: string }[] }>(
        b,
        "GET",
        `/api/v1/apis/${managementApi.id}/scopes`,
        { token: admin },
      );
      const readUsers = scopes.body.scopes.find((scope) => scope.key === "read:users")!;
      const client = await createApplication(a, "m2m");
      const authorized = await callApi(b, "PATCH", `/api/v1/apis/${managementApi.id}/applications`, {
        token: admin,
        body: { applications: [{ id: client.clientId }] },
      });
      assert.equal(authorized.status, 200, JSON.stringify(authorized.body));
      const grantPath = `/api/v1/apis/${managementApi.id}/applications/${client.clientId}/scopes/${readUsers.id}`;
      assert.equal((await callApi(b, "POST", grantPath, { token: admin })).status, 200);

      const response = await fetch(`${a.url}/oauth2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: client.clientId,
          client_secret: client.clientSecret!,
          audience: `${a.url}/api`,
          scope: "read:users",
        }),
      });
      const { access_token: token } = (await response.json()) as { access_token: string };
      assert.ok(token);
      assert.deepEqual(await burst(a, token), [200]);

      assert.equal((await callApi(b, "DELETE", grantPath, { token: admin })).status, 200);
      assert.deepEqual(await burst(a, token), [403], "withdrawn on B: refused on A");
      assert.equal((await callApi(b, "POST", grantPath, { token: admin })).status, 200);
      assert.deepEqual(await burst(a, token), [200], "granted again: the token's scope counts again");
      // A scope the token never carried is not granted by a grant made after it was issued.
      const apisCall = await fetch(`${a.url}/api/v1/apis`, { headers: { authorization: `Bearer ${token}` } });
      await apisCall.arrayBuffer();
      assert.equal(apisCall.status, 403);

      const deleted = await callApi(b, "DELETE", `/api/v1/applications/${client.clientId}`, { token: admin });
      assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
      assert.deepEqual(await burst(a, token), [401], "deleted on B: refused on A");
    });
  });
}
