// A revoke that lands while a refresh is at the provider must win: the refreshed tokens are not
// stored (and are revoked at the provider where it has a revocation endpoint).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { type ProgrammableProvider, startProgrammableProvider } from "../helpers/oauth-provider.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { signedInUserAgent } from "../helpers/user-agent.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`revoking during a refresh (${kind})`, { skip }, () => {
    let server: TestServer;
    let provider: ProgrammableProvider;
    let now = Math.floor(Date.now() / 1000);
    before(async () => {
      provider = await startProgrammableProvider();
      server = await startTestServer(kind, {
        clock: { now: () => now },
        env: { CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS: "true" },
      });
    });
    after(async () => {
      await server?.close();
      await provider?.close();
    });

    it("keeps the connection revoked when a late refresh returns", async () => {
      const token = await managementToken(server);
      await server.services.connectedApps.create({
        key_code_ref: "slow",
        provider: "oauth2",
        client_id: provider.clientId,
        client_secret: provider.clientSecret,
        callback_url: "https://app.example.com/connected",
        settings: {
          authorization_url: provider.authorizationEndpoint,
          // No revocation endpoint: the late refresh succeeds at the provider, so only the
          // conditional write keeps the revoked connection from coming back to life.
          token_url: provider.tokenEndpoint,
        },
      });
      const user = await createUser(server);
      const spa = await createApplication(server, "spa");
      const browser = await signedInUserAgent(server, spa.clientId, CALLBACK, user);
      const { body } = await callApi<{ url: string; session_id: string }>(
        server,
        "GET",
        `/api/v1/connected_apps/auth_url?key_code_ref=slow&user_id=${user.id}`,
        { token },
      );
      const toProvider = await browser.redirectFrom(body.url);
      const back = new URL((await fetch(toProvider, { redirect: "manual" })).headers.get("location")!);
      await browser.redirectFrom(back);
      const tokenCall = () =>
        callApi<{ errors?: { code: string }[] }>(
          server,
          "GET",
          `/api/v1/connected_apps/token?session_id=${body.session_id}`,
          {
            token,
          },
        );
      assert.equal((await tokenCall()).status, 200);

      now += 7200;
      provider.behaviour.tokenDelayMs = 800;
      const refreshing = tokenCall();
      await new Promise((resolve) => setTimeout(resolve, 200));
      const revoked = await callApi(
        server,
        "POST",
        `/api/v1/connected_apps/revoke?session_id=${body.session_id}`,
        { token },
      );
      assert.equal(revoked.status, 200);
      const during = await refreshing;
      assert.equal(
        during.body.errors?.[0]?.code,
        "CONNECTION_REVOKED",
        "the in-flight call does not hand out a token",
      );
      assert.equal(
        (await tokenCall()).body.errors?.[0]?.code,
        "CONNECTION_REVOKED",
        "and the connection stays revoked",
      );
      const row = await server.storage.db
        .selectFrom("connections")
        .select(["status", "access_token_sealed"])
        .where("id", "=", body.session_id)
        .executeTakeFirstOrThrow();
      assert.deepEqual(row, { status: "revoked", access_token_sealed: null });
      const refreshes = provider.requests.filter(
        (r) => r.path === "/token" && r.params.grant_type === "refresh_token",
      );
      assert.equal(refreshes.length, 1, "the provider did issue new tokens, which were not kept");
    });
  });
}
