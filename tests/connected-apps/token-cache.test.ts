// A connected-app token call skips the AES-GCM open while its connection row holds the ciphertext it
// opened before; everything else is read every time. Two instances on one database: a refresh or a
// revocation made by one is what the other answers with next, never the token it opened earlier.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { type OidcProviderHandle, startOidcProvider } from "../helpers/oauth-provider.js";
import { freePort, startSecondInstance, startTestServer, type TestServer } from "../helpers/server.js";
import { signedInUserAgent } from "../helpers/user-agent.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`connected-app token calls on two instances (${kind})`, { skip }, () => {
    let a: TestServer;
    let b: TestServer;
    let provider: OidcProviderHandle;
    let now = Math.floor(Date.now() / 1000);
    const clock = { now: () => now };

    before(async () => {
      const port = await freePort();
      provider = await startOidcProvider({ redirectUri: `http://127.0.0.1:${port}/connected_apps/callback` });
      const env = { CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS: "true" };
      a = await startTestServer(kind, { port, clock, env });
      b = await startSecondInstance(a, { clock, env });
    });
    after(async () => {
      await b?.close();
      await a?.close();
      await provider?.close();
    });

    it("answers with the other instance's refresh and revocation, not what it opened before", async () => {
      const token = await managementToken(a);
      const created = await callApi(a, "POST", "/api/v1/connected_apps", {
        token,
        body: {
          key_code_ref: "drive",
          provider: "oauth2",
          client_id: provider.clientId,
          client_secret: provider.clientSecret,
          callback_url: "https://app.example.com/connected",
          scopes: ["openid", "offline_access"],
          settings: {
            authorization_url: provider.authorizationEndpoint,
            token_url: provider.tokenEndpoint,
            client_auth: "basic",
          },
        },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const user = await createUser(a);
      const spa = await createApplication(a, "spa");
      const browser = await signedInUserAgent(a, spa.clientId, CALLBACK, user);
      const { body } = await callApi<{ url: string; session_id: string }>(
        a,
        "GET",
        `/api/v1/connected_apps/auth_url?key_code_ref=drive&user_id=${user.id}`,
        { token },
      );
      await browser.redirectFrom(await provider.authorize(await browser.redirectFrom(body.url)));
      const path = `/api/v1/connected_apps/token?session_id=${encodeURIComponent(body.session_id)}`;
      const call = (server: TestServer) =>
        callApi<{ access_token: string; access_token_expiry: string | null }>(server, "GET", path, { token });

      const first = await call(a);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const again = await Promise.all([call(a), call(a), call(a)]);
      for (const reply of again) assert.deepEqual(reply.body, first.body);

      // Expired: B refreshes; A, which opened the old token, must answer B's new one.
      now += 7200;
      const refreshed = await call(b);
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
      assert.notEqual(refreshed.body.access_token, first.body.access_token);
      assert.equal(provider.stats.grants.refresh_token, 1);
      const onA = await call(a);
      assert.deepEqual(onA.body, refreshed.body);
      assert.equal(provider.stats.grants.refresh_token, 1, "A used B's refresh");

      const revoked = await callApi(
        b,
        "POST",
        `/api/v1/connected_apps/revoke?session_id=${body.session_id}`,
        {
          token,
        },
      );
      assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
      const afterRevocation = await call(a);
      assert.equal(afterRevocation.status, 400);
      assert.equal(
        (afterRevocation.body as unknown as { errors: { code: string }[] }).errors[0]?.code,
        "CONNECTION_REVOKED",
      );
    });
  });
}
