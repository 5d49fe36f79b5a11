// Connected apps end to end against a real, independent OAuth server standing in for the provider
// (oidc-provider, with refresh-token rotation and revocation on).
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { type OidcProviderHandle, startOidcProvider } from "../helpers/oauth-provider.js";
import { freePort, startTestServer, type TestServer } from "../helpers/server.js";
import { signedInUserAgent, UserAgent } from "../helpers/user-agent.js";

const APP_CALLBACK = "https://app.example.com/connected";

for (const { kind, skip } of await databaseKinds()) {
  describe(`connected apps end to end (${kind})`, { skip }, () => {
    let server: TestServer;
    let provider: OidcProviderHandle;
    let token: string;
    let now = Math.floor(Date.now() / 1000);
    let user: { id: string; email: string; password: string };
    let browser: UserAgent;

    before(async () => {
      const port = await freePort();
      provider = await startOidcProvider({
        redirectUri: `http://127.0.0.1:${port}/connected_apps/callback`,
        accessTokenTtlSeconds: 3600,
      });
      server = await startTestServer(kind, {
        port,
        clock: { now: () => now },
        env: { CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS: "true" },
      });
      token = await managementToken(server);
      const created = await callApi(server, "POST", "/api/v1/connected_apps", {
        token,
        body: {
          key_code_ref: "drive",
          provider: "oauth2",
          name: "Stand-in Drive",
          client_id: provider.clientId,
          client_secret: provider.clientSecret,
          callback_url: APP_CALLBACK,
          scopes: ["openid", "offline_access", "read"],
          settings: {
            authorization_url: provider.authorizationEndpoint,
            token_url: provider.tokenEndpoint,
            revocation_url: provider.revocationEndpoint,
            client_auth: "basic",
          },
        },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      // The user signs in to Latchkey in this browser (through an app's ordinary sign-in).
      user = await createUser(server);
      const spa = await createApplication(server, "spa");
      browser = await signedInUserAgent(server, spa.clientId, CALLBACK, user);
    });
    after(async () => {
      await server?.close();
      await provider?.close();
    });

    /** The user opens the auth URL, consents at the provider, and lands back at the app. */
    async function connect(): Promise<{ sessionId: string; landed: URL }> {
      const { body } = await callApi<{ url: string; session_id: string }>(
        server,
        "GET",
        `/api/v1/connected_apps/auth_url?key_code_ref=drive&user_id=${user.id}`,
        { token },
      );
      const toProvider = await browser.redirectFrom(body.url);
      assert.equal(toProvider.origin, new URL(provider.issuer).origin);
      assert.equal(toProvider.searchParams.get("code_challenge_method"), "S256", "PKCE toward the provider");
      const back = await provider.authorize(toProvider);
      const landed = await browser.redirectFrom(back);
      return { sessionId: body.session_id, landed };
    }

    const tokenOf = (sessionId: string) =>
      callApi<{ access_token: string; access_token_expiry: string | null; errors?: { code: string }[] }>(
        server,
        "GET",
        `/api/v1/connected_apps/token?session_id=${encodeURIComponent(sessionId)}`,
        { token },
      );

    it("connects, hands out the provider's token, refreshes it once when it expires, and revokes it", async () => {
      const { sessionId, landed } = await connect();
      assert.equal(`${landed.origin}${landed.pathname}`, APP_CALLBACK);
      assert.equal(landed.searchParams.get("session_id"), sessionId);
      const debugRow = await server.storage.db
        .selectFrom("connections")
        .select(["status", "last_error"])
        .where("id", "=", sessionId)
        .executeTakeFirst();
      assert.equal(
        provider.stats.grants.authorization_code,
        1,
        `${landed.href} ${JSON.stringify(debugRow)} ${JSON.stringify(provider.stats.tokenRequests)}`,
      );

      const first = await tokenOf(sessionId);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const userinfo = await fetch(provider.userinfoEndpoint, {
        headers: { authorization: `Bearer ${first.body.access_token}` },
      });
      assert.equal(userinfo.status, 200, "the token works at the provider");
      assert.equal(
        (await tokenOf(sessionId)).body.access_token,
        first.body.access_token,
        "no refresh while fresh",
      );

      // Tokens at rest are sealed: the raw row does not contain them.
      const row = await server.storage.db
        .selectFrom("connections")
        .selectAll()
        .where("id", "=", sessionId)
        .executeTakeFirstOrThrow();
      assert.ok(!JSON.stringify(row).includes(first.body.access_token));
      assert.match(row.access_token_sealed ?? "", /^v1\./);

      // Past expiry, 100 concurrent calls: exactly one refresh at the provider, one token for all.
      now += 3600;
      const results = await Promise.all(Array.from({ length: 100 }, () => tokenOf(sessionId)));
      assert.ok(
        results.every((r) => r.status === 200),
        JSON.stringify(results.find((r) => r.status !== 200)?.body),
      );
      const tokens = new Set(results.map((r) => r.body.access_token));
      assert.equal(tokens.size, 1, "every caller got the same token");
      assert.notEqual([...tokens][0], first.body.access_token, "a new token");
      assert.equal(provider.stats.grants.refresh_token, 1, "exactly one refresh at the provider");
      assert.deepEqual(
        provider.stats.reusedRefreshTokens(),
        [],
        "the rotated refresh token was never reused",
      );

      // A second expiry uses the rotated refresh token.
      now += 3600;
      assert.equal((await tokenOf(sessionId)).status, 200);
      assert.equal(provider.stats.grants.refresh_token, 2);
      assert.deepEqual(provider.stats.reusedRefreshTokens(), []);

      const listed = await callApi<{ connections: { session_id: string; status: string }[] }>(
        server,
        "GET",
        `/api/v1/users/${user.id}/connected_apps`,
        { token },
      );
      assert.ok(listed.body.connections.some((c) => c.session_id === sessionId && c.status === "connected"));
      const revoked = await callApi(
        server,
        "POST",
        `/api/v1/connected_apps/revoke?session_id=${encodeURIComponent(sessionId)}`,
        { token },
      );
      assert.deepEqual(revoked.body, { code: "OK", message: "Success" });
      assert.ok(provider.stats.revocations.length >= 1, "the provider's revocation endpoint was called");
      const after = await tokenOf(sessionId);
      assert.equal(after.status, 400);
      assert.equal(after.body.errors?.[0]?.code, "CONNECTION_REVOKED");

      // Re-connecting works and gives a new session.
      const again = await connect();
      assert.notEqual(again.sessionId, sessionId);
      assert.equal((await tokenOf(again.sessionId)).status, 200);
    });

    it("uses an auth URL once, only for its own user, and reports a refusal at the provider", async () => {
      const { body } = await callApi<{ url: string }>(
        server,
        "GET",
        `/api/v1/connected_apps/auth_url?key_code_ref=drive&user_id=${user.id}`,
        { token },
      );
      await browser.redirectFrom(body.url);
      const reused = await browser.request(body.url);
      assert.equal(reused.status, 400, "single use");

      const stranger = new UserAgent(server.url);
      const other = await callApi<{ url: string }>(
        server,
        "GET",
        `/api/v1/connected_apps/auth_url?key_code_ref=drive&user_id=${user.id}`,
        { token },
      );
      // A browser not signed in is asked to sign in as the link's user first …
      const form = await stranger.openForm(other.body.url);
      assert.ok(form.token && form.csrf);
      const somebodyElse = await createUser(server);
      const wrong = await stranger.request("/connected_apps/start", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ ...form, email: somebodyElse.email, password: somebodyElse.password }),
      });
      assert.equal(wrong.status, 403, "… and another account's credentials do not use the link");
      assert.equal(stranger.cookie("latchkey_session"), undefined, "nor sign that account in here");
      const right = await stranger.redirectFrom("/connected_apps/start", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ ...form, email: user.email, password: user.password }),
      });
      assert.equal(
        right.origin,
        new URL(provider.issuer).origin,
        "the right account continues to the provider",
      );

      provider.deny = true;
      try {
        const { landed } = await connect();
        assert.equal(landed.searchParams.get("error"), "access_denied");
      } finally {
        provider.deny = false;
      }
    });

    it("offers marked connected apps right after sign-in: connect, or skip", async () => {
      const offered = await callApi(server, "PATCH", "/api/v1/connected_apps/drive", {
        token,
        body: { offer_at_sign_in: true },
      });
      assert.equal(offered.status, 200, JSON.stringify(offered.body));
      try {
        const spa = await createApplication(server, "spa");
        const signInThroughApp = async (who: { email: string; password: string }) => {
          const agent = new UserAgent(server.url);
          const verifier = randomBytes(32).toString("base64url");
          const url = new URL("/oauth2/auth", server.url);
          url.search = new URLSearchParams({
            response_type: "code",
            client_id: spa.clientId,
            redirect_uri: CALLBACK,
            scope: "openid",
            state: "st",
            code_challenge: createHash("sha256").update(verifier).digest("base64url"),
            code_challenge_method: "S256",
          }).toString();
          const signInPage = await agent.redirectFrom(url);
          const form = await agent.openForm(signInPage);
          const offer = await agent.request("/auth/sign-in", {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({ ...form, email: who.email, password: who.password }),
          });
          const html = await offer.text();
          assert.equal(offer.status, 200, "the offer page instead of going straight back");
          assert.match(html, /Connect Stand-in Drive/);
          assert.match(html, /Skip for now/);
          return {
            agent,
            hidden: Object.fromEntries(
              [...html.matchAll(/name="(request|csrf)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]),
            ),
          };
        };
        const post = (agent: UserAgent, path: string, fields: Record<string, string>) =>
          agent.redirectFrom(path, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams(fields),
          });

        // Connect: through the provider and back, then on to the application with a code.
        const connecting = await createUser(server);
        const first = await signInThroughApp(connecting);
        const toProvider = await post(first.agent, "/auth/connect", {
          ...first.hidden,
          key_code_ref: "drive",
        } as Record<string, string>);
        assert.equal(toProvider.origin, new URL(provider.issuer).origin);
        const backAtLatchkey = await first.agent.redirectFrom(await provider.authorize(toProvider));
        assert.equal(backAtLatchkey.pathname, "/auth/continue");
        const atApp = await first.agent.redirectFrom(backAtLatchkey);
        assert.equal(`${atApp.origin}${atApp.pathname}`, CALLBACK);
        assert.ok(atApp.searchParams.get("code"));
        assert.equal(atApp.searchParams.get("state"), "st");
        const connections = await server.services.connectedApps.connectionsOf(connecting.id);
        assert.deepEqual(
          connections.map((c) => [c.key_code_ref, c.status]),
          [["drive", "connected"]],
        );

        // Skip: straight on to the application.
        const skipping = await createUser(server);
        const second = await signInThroughApp(skipping);
        const skipped = await post(second.agent, "/auth/continue", second.hidden as Record<string, string>);
        assert.equal(`${skipped.origin}${skipped.pathname}`, CALLBACK);
        assert.ok(skipped.searchParams.get("code"));
        assert.deepEqual(await server.services.connectedApps.connectionsOf(skipping.id), []);
      } finally {
        await callApi(server, "PATCH", "/api/v1/connected_apps/drive", {
          token,
          body: { offer_at_sign_in: false },
        });
      }
    });

    it("moves a provider's endpoints only for a caller who gives the client secret again", async () => {
      const settings = {
        authorization_url: provider.authorizationEndpoint,
        token_url: provider.tokenEndpoint,
        revocation_url: provider.revocationEndpoint,
        client_auth: "basic",
      };
      for (const moved of [
        { token_url: "https://collector.example/token" },
        { revocation_url: "https://collector.example/revoke" },
        { authorization_url: "https://collector.example/authorize" },
        { issuer: "https://collector.example" },
      ]) {
        const refused = await callApi<{ errors: { code: string }[] }>(
          server,
          "PATCH",
          "/api/v1/connected_apps/drive",
          {
            token,
            body: { settings: { ...settings, ...moved } },
          },
        );
        assert.equal(refused.status, 400, JSON.stringify(moved));
        assert.equal(refused.body.errors[0]?.code, "INVALID_REQUEST");
      }
      const stored = (await server.services.connectedApps.find("drive"))!;
      assert.equal(JSON.parse(stored.settings).token_url, provider.tokenEndpoint, "nothing changed");
      // The same endpoints (another client_auth), or a move with the secret, are taken.
      const same = await callApi(server, "PATCH", "/api/v1/connected_apps/drive", {
        token,
        body: { settings: { ...settings, client_auth: "body" } },
      });
      assert.equal(same.status, 200, JSON.stringify(same.body));
      const withSecret = await callApi(server, "PATCH", "/api/v1/connected_apps/drive", {
        token,
        body: { settings, client_secret: provider.clientSecret },
      });
      assert.equal(withSecret.status, 200, JSON.stringify(withSecret.body));
    });

    it("configures a generic OpenID Connect provider from its issuer's discovery document", async () => {
      const created = await callApi<{ connected_app: { settings: Record<string, string> } }>(
        server,
        "POST",
        "/api/v1/connected_apps",
        {
          token,
          body: {
            key_code_ref: "by-issuer",
            provider: "oauth2",
            client_id: provider.clientId,
            client_secret: provider.clientSecret,
            callback_url: APP_CALLBACK,
            settings: { issuer: provider.issuer, client_auth: "basic" },
          },
        },
      );
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const { settings } = created.body.connected_app;
      assert.equal(settings.authorization_url, provider.authorizationEndpoint);
      assert.equal(settings.token_url, provider.tokenEndpoint);
      assert.equal(settings.revocation_url, provider.revocationEndpoint);
      const wrongIssuer = await callApi(server, "POST", "/api/v1/connected_apps", {
        token,
        body: {
          key_code_ref: "not-an-issuer",
          provider: "oauth2",
          client_id: "x",
          client_secret: "y",
          callback_url: APP_CALLBACK,
          settings: { issuer: `${server.url}/nowhere` },
        },
      });
      assert.equal(wrongIssuer.status, 400);
      await callApi(server, "DELETE", "/api/v1/connected_apps/by-issuer", { token });
    });

    it("answers clear errors for unknown sessions, apps and users", async () => {
      assert.equal((await tokenOf("nope")).body.errors?.[0]?.code, "SESSION_NOT_FOUND");
      const unknownApp = await callApi(
        server,
        "GET",
        `/api/v1/connected_apps/auth_url?key_code_ref=missing&user_id=${user.id}`,
        { token },
      );
      assert.equal(unknownApp.status, 404);
      const unknownUser = await callApi(
        server,
        "GET",
        "/api/v1/connected_apps/auth_url?key_code_ref=drive&user_id=kp_nobody",
        { token },
      );
      assert.equal(unknownUser.status, 404);
      const badOverride = await callApi(
        server,
        "GET",
        `/api/v1/connected_apps/auth_url?key_code_ref=drive&user_id=${user.id}&override_callback_url=${encodeURIComponent("https://evil.example/cb")}`,
        { token },
      );
      assert.equal(badOverride.status, 400);
      const forged = await new UserAgent(server.url).request("/connected_apps/callback?state=forged&code=x");
      assert.equal(forged.status, 400);
    });
  });
}
