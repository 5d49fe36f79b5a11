// The SSRF guard end to end, on both databases: a provider host is judged by what it resolves to,
// at the moment of each request (discovery, refresh), and what went wrong on the network stays in
// the server's log — API callers get Kinde-style errors that name no host, address or socket error.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  ConnectedAppError,
  ConnectedAppsService,
  REFRESH_COOLDOWN_SECONDS,
} from "../../src/connected-apps/connected-apps.service.js";
import type { HostResolver } from "../../src/outbound/http.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { type ProgrammableProvider, startProgrammableProvider } from "../helpers/oauth-provider.js";
import { freePort, startTestServer, type TestServer } from "../helpers/server.js";
import { signedInUserAgent, type UserAgent } from "../helpers/user-agent.js";

type ApiErrors = { errors?: { code: string; message: string }[] };

/** Words a network error or an internal address would leave in a message. */
const NETWORK_DETAIL =
  /ECONN|ENOTFOUND|EAI_AGAIN|fetch failed|socket|127\.0\.0\.1|10\.9\.8\.7|provider\.test|::1/i;

for (const { kind, skip } of await databaseKinds()) {
  describe(`SSRF guard and error hygiene for connected apps (${kind})`, { skip }, () => {
    let server: TestServer;
    let provider: ProgrammableProvider;
    let token: string;
    let browser: UserAgent;
    let userId: string;
    let now = Math.floor(Date.now() / 1000);
    const clock = { now: () => now };
    const resolved: string[] = [];
    // provider.test is an attacker's name whose DNS answers a loopback address.
    const resolveHost: HostResolver = async (hostname) => {
      resolved.push(hostname);
      if (hostname === "provider.test") return [{ address: "127.0.0.1", family: 4 }];
      throw new Error(`getaddrinfo ENOTFOUND ${hostname}`);
    };

    before(async () => {
      provider = await startProgrammableProvider({ refreshTokens: "same" });
      server = await startTestServer(kind, {
        clock,
        env: { CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS: "true" },
      });
      token = await managementToken(server);
      await server.services.connectedApps.create({
        key_code_ref: "generic",
        provider: "oauth2",
        client_id: provider.clientId,
        client_secret: provider.clientSecret,
        callback_url: "https://app.example.com/connected",
        settings: { authorization_url: provider.authorizationEndpoint, token_url: provider.tokenEndpoint },
      });
      const user = await createUser(server);
      userId = user.id;
      const spa = await createApplication(server, "spa");
      browser = await signedInUserAgent(server, spa.clientId, CALLBACK, user);
    });
    after(async () => {
      await server?.close();
      await provider?.close();
    });

    /** A Latchkey process that does not allow private networks (production's default). */
    function guarded(): ConnectedAppsService {
      return new ConnectedAppsService(server.storage.db, server.secretBox, clock, {
        issuer: server.url,
        catalog: new Map(),
        allowPrivateNetworks: false,
        logger: server.logger,
        resolveHost,
      });
    }

    async function connect(key: string): Promise<string> {
      const { body } = await callApi<{ url: string; session_id: string }>(
        server,
        "GET",
        `/api/v1/connected_apps/auth_url?key_code_ref=${key}&user_id=${userId}`,
        { token },
      );
      const toProvider = await browser.redirectFrom(body.url);
      const back = new URL((await fetch(toProvider, { redirect: "manual" })).headers.get("location")!);
      await browser.redirectFrom(back);
      return body.session_id;
    }

    const tokenCall = (sessionId: string) =>
      callApi<ApiErrors & { access_token?: string }>(
        server,
        "GET",
        `/api/v1/connected_apps/token?session_id=${sessionId}`,
        { token },
      );

    it("refuses discovery at a name that resolves to loopback, with a generic error", async () => {
      const before = provider.requests.length;
      const attempt = guarded().create({
        key_code_ref: "rebound",
        provider: "oauth2",
        client_id: "x",
        client_secret: "y",
        callback_url: "https://app.example.com/connected",
        settings: { issuer: `https://provider.test:${new URL(provider.origin).port}` },
      });
      const error = await attempt.then(
        () => assert.fail("created"),
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof ConnectedAppError);
      assert.equal(error.code, "INVALID_PROVIDER");
      assert.doesNotMatch(error.message, NETWORK_DETAIL);
      assert.ok(resolved.includes("provider.test"), "the name was resolved, not just looked at");
      assert.equal(provider.requests.length, before, "nothing reached the loopback provider");
      assert.match(server.logs.text, /connected_app_discovery_failed.*resolves to 127\.0\.0\.1/);
      assert.equal(await guarded().find("rebound"), undefined);
    });

    it("does not echo discovery's network errors or status codes to API callers", async () => {
      const closedPort = await freePort();
      const unreachable = await callApi<ApiErrors>(server, "POST", "/api/v1/connected_apps", {
        token,
        body: {
          key_code_ref: "unreachable",
          provider: "oauth2",
          client_id: "x",
          client_secret: "y",
          callback_url: "https://app.example.com/connected",
          settings: { issuer: `http://127.0.0.1:${closedPort}` },
        },
      });
      assert.equal(unreachable.status, 400);
      assert.equal(unreachable.body.errors?.[0]?.code, "INVALID_PROVIDER");
      assert.doesNotMatch(JSON.stringify(unreachable.body), NETWORK_DETAIL);
      assert.match(server.logs.text, /ECONNREFUSED/, "the detail is in the server's log");

      // A reachable host answering 404: the status is not an oracle either.
      const notAnIssuer = await callApi<ApiErrors>(server, "POST", "/api/v1/connected_apps", {
        token,
        body: {
          key_code_ref: "not-an-issuer",
          provider: "oauth2",
          client_id: "x",
          client_secret: "y",
          callback_url: "https://app.example.com/connected",
          settings: { issuer: `${server.url}/nowhere` },
        },
      });
      assert.equal(notAnIssuer.status, 400);
      assert.doesNotMatch(JSON.stringify(notAnIssuer.body), /404|not found|127\.0\.0\.1/i);
      assert.match(server.logs.text, /answered HTTP 404/);
    });

    it("refuses a refresh at a token endpoint whose name resolves to loopback, keeping the connection", async () => {
      const sessionId = await connect("generic");
      const service = guarded();
      const port = new URL(provider.origin).port;
      // Valid https URLs with a public-looking name: only resolution reveals the loopback address.
      await service.update("generic", {
        client_secret: provider.clientSecret,
        settings: {
          authorization_url: `https://provider.test:${port}/authorize`,
          token_url: `https://provider.test:${port}/token`,
        },
      });
      try {
        now += 7200;
        const before = provider.requests.length;
        resolved.length = 0;
        await assert.rejects(
          service.token(sessionId),
          (error: unknown) =>
            error instanceof ConnectedAppError &&
            error.code === "PROVIDER_UNAVAILABLE" &&
            !NETWORK_DETAIL.test(error.message),
        );
        assert.deepEqual(resolved, ["provider.test"]);
        assert.equal(provider.requests.length, before, "nothing reached the loopback provider");
        const row = await server.storage.db
          .selectFrom("connections")
          .select(["status", "last_error", "refresh_retry_after", "refresh_lock_owner"])
          .where("id", "=", sessionId)
          .executeTakeFirstOrThrow();
        // Not the grant's fault: a rebinding attacker must not force the user to connect again.
        assert.equal(row.status, "connected");
        assert.match(row.last_error ?? "", /private or reserved/);
        assert.equal(row.refresh_retry_after, now + REFRESH_COOLDOWN_SECONDS);
        assert.equal(row.refresh_lock_owner, null);
        assert.match(server.logs.text, /connected_app_refresh_failed.*resolves to 127\.0\.0\.1/);
        assert.ok(!server.logs.text.includes(sessionId), "session ids stay out of the log");

        // Through the API (the server's own process, whose system resolver cannot resolve the name).
        now += REFRESH_COOLDOWN_SECONDS + 1;
        const answer = await tokenCall(sessionId);
        assert.equal(answer.body.errors?.[0]?.code, "PROVIDER_UNAVAILABLE");
        assert.doesNotMatch(JSON.stringify(answer.body), NETWORK_DETAIL);
      } finally {
        await server.services.connectedApps.update("generic", {
          client_secret: provider.clientSecret,
          settings: { authorization_url: provider.authorizationEndpoint, token_url: provider.tokenEndpoint },
        });
      }
    });

    it("names only the provider's error code when it refuses a refresh, never its free text", async () => {
      const sessionId = await connect("generic");
      assert.equal((await tokenCall(sessionId)).status, 200);
      const presented = provider.issued.at(-1)!.refreshToken!;
      now += 7200;
      provider.behaviour.failNextToken = {
        error: "invalid_grant",
        description: `refresh token ${presented} not found in db-primary at 10.9.8.7`,
      };
      const refused = await tokenCall(sessionId);
      assert.equal(refused.status, 400);
      const error = refused.body.errors?.[0];
      assert.equal(error?.code, "CONNECTION_NEEDS_REAUTHORIZATION");
      assert.match(error?.message ?? "", /\(invalid_grant\)/);
      assert.doesNotMatch(error?.message ?? "", /10\.9\.8\.7|db-primary/);
      // The detail is kept for operators, minus the refresh token the provider quoted back.
      assert.match(server.logs.text, /not found in db-primary/);
      assert.ok(!server.logs.text.includes(presented), "the quoted refresh token is not logged");
      const row = await server.storage.db
        .selectFrom("connections")
        .select(["status", "last_error"])
        .where("id", "=", sessionId)
        .executeTakeFirstOrThrow();
      assert.equal(row.status, "needs_reauthorization");
      assert.match(row.last_error ?? "", /refresh token \[REDACTED\] not found/);
    });
  });
}
