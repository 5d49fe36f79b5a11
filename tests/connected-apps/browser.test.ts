// Connected apps end to end through a real browser: Debian's Chromium (playwright-core) signs in to
// Latchkey on the hosted page, opens the auth URL Latchkey hands out, passes through a real,
// independent OAuth server standing in for the provider (oidc-provider, auto sign-in and consent,
// refresh-token rotation and revocation) and lands back on the application's own web server. The
// HTTP-level version of this journey is flow.test.ts.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { type AppServer, launchChromium, recordNavigations, startAppServer } from "../helpers/browser.js";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { type OidcProviderHandle, startOidcProvider } from "../helpers/oauth-provider.js";
import { freePort, startTestServer, type TestServer } from "../helpers/server.js";

type TokenBody = { access_token: string; access_token_expiry: string | null; errors?: { code: string }[] };

for (const { kind, skip } of await databaseKinds()) {
  describe(`connected apps in Chromium (${kind})`, { skip }, () => {
    let server: TestServer;
    let provider: OidcProviderHandle;
    let rp: AppServer;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    let navigations: URL[];
    let token: string;
    let now = Math.floor(Date.now() / 1000);
    let user: { id: string; email: string; password: string };
    let connectedUrl: string;
    const contexts: BrowserContext[] = [];
    /** Responses of 400 or more the signed-in browser saw (Chromium's favicon probe aside). */
    const failures: string[] = [];

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
      rp = await startAppServer();
      browser = await launchChromium();
      connectedUrl = `${rp.origin}/connected`;
      token = await managementToken(server);

      // (1) The connected app, configured through the Management API.
      const created = await callApi(server, "POST", "/api/v1/connected_apps", {
        token,
        body: {
          key_code_ref: "drive",
          provider: "oauth2",
          name: "Stand-in Drive",
          client_id: provider.clientId,
          client_secret: provider.clientSecret,
          callback_url: connectedUrl,
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

      // (2) The user signs in to Latchkey in this browser, through an ordinary app sign-in.
      user = await createUser(server);
      context = await newContext();
      page = await context.newPage();
      navigations = recordNavigations(page);
      page.on("response", (response) => {
        if (response.status() >= 400 && !response.url().endsWith("/favicon.ico"))
          failures.push(`${response.status()} ${response.url()}`);
      });
      const appCallback = `${rp.origin}/callback`;
      const spa = await createApplication(server, "spa", { callbackUrls: [appCallback] });
      const state = randomBytes(16).toString("base64url");
      const signIn = new URL("/oauth2/auth", server.url);
      signIn.search = new URLSearchParams({
        response_type: "code",
        client_id: spa.clientId,
        redirect_uri: appCallback,
        scope: "openid",
        state,
        code_challenge: createHash("sha256")
          .update(randomBytes(32).toString("base64url"))
          .digest("base64url"),
        code_challenge_method: "S256",
      }).toString();
      const response = await page.goto(signIn.href);
      assert.equal(response?.status(), 200);
      assert.equal(new URL(page.url()).pathname, "/auth/sign-in", `landed on ${page.url()}`);
      await page.locator('input[name="email"]').fill(user.email);
      await page.locator('input[name="password"]').fill(user.password);
      await Promise.all([
        page.waitForURL((url) => url.href.startsWith(appCallback), { waitUntil: "load" }),
        page.getByRole("button", { name: "Sign in" }).click(),
      ]);
      const callback = new URL(page.url());
      assert.ok(callback.searchParams.get("code"), `signed in, but no code: ${callback.href}`);
      assert.equal(callback.searchParams.get("state"), state);
      const cookies = await context.cookies(server.url);
      assert.ok(
        cookies.some((c) => c.name === "latchkey_session"),
        "the browser holds a Latchkey session",
      );
    });

    after(async () => {
      for (const c of contexts) await c.close().catch(() => {});
      await browser?.close();
      await rp?.close();
      await server?.close();
      await provider?.close();
    });

    async function newContext(): Promise<BrowserContext> {
      const created = await browser.newContext();
      contexts.push(created);
      return created;
    }

    const authUrl = () =>
      callApi<{ url: string; session_id: string }>(
        server,
        "GET",
        `/api/v1/connected_apps/auth_url?key_code_ref=drive&user_id=${user.id}`,
        { token },
      );

    const tokenOf = (sessionId: string) =>
      callApi<TokenBody>(
        server,
        "GET",
        `/api/v1/connected_apps/token?session_id=${encodeURIComponent(sessionId)}`,
        {
          token,
        },
      );

    const userinfoStatus = async (accessToken: string) =>
      (await fetch(provider.userinfoEndpoint, { headers: { authorization: `Bearer ${accessToken}` } }))
        .status;

    /**
     * (3) The back end asks for an auth URL; the signed-in browser opens it, passes through the
     * provider (auto sign-in and consent) and lands on the app's /connected page.
     */
    async function connectInBrowser(): Promise<string> {
      const issued = await authUrl();
      assert.equal(issued.status, 200, JSON.stringify(issued.body));
      const { url, session_id: sessionId } = issued.body;
      const firstNavigation = navigations.length;
      const hitsBefore = rp.hits.length;

      const response = await page.goto(url);
      assert.equal(response?.status(), 200, `the app's page answered ${response?.status()}`);
      const landed = new URL(page.url());
      assert.equal(`${landed.origin}${landed.pathname}`, connectedUrl, `landed on ${landed.href}`);
      assert.equal(landed.searchParams.get("session_id"), sessionId);
      assert.deepEqual(
        [...landed.searchParams.keys()],
        ["session_id"],
        `nothing else comes back: ${landed.href}`,
      );

      // The app server received exactly that request (Chromium's own /favicon.ico probe aside).
      const hits = rp.hits.slice(hitsBefore).filter((h) => h.pathname !== "/favicon.ico");
      assert.equal(hits.length, 1, hits.map((h) => h.href).join(", "));
      assert.equal(hits[0]!.pathname, "/connected");
      assert.equal(hits[0]!.searchParams.get("session_id"), sessionId);

      // The hops: Latchkey's start URL → the provider (with PKCE and a state) → Latchkey's callback
      // (with the provider's code and the same state) → the app.
      const hops = navigations.slice(firstNavigation);
      const trail = hops.map((h) => `${h.origin}${h.pathname}`).join(" → ");
      assert.equal(hops[0]?.href, url);
      const toProvider = hops.find((h) => h.href.startsWith(`${provider.authorizationEndpoint}?`));
      assert.ok(toProvider, `never went to the provider: ${trail}`);
      assert.equal(toProvider.searchParams.get("client_id"), provider.clientId);
      assert.equal(toProvider.searchParams.get("redirect_uri"), `${server.url}/connected_apps/callback`);
      assert.equal(toProvider.searchParams.get("code_challenge_method"), "S256", "PKCE toward the provider");
      assert.ok(toProvider.searchParams.get("state"));
      const back = hops.find((h) => h.origin === server.url && h.pathname === "/connected_apps/callback");
      assert.ok(back, `never came back to Latchkey: ${trail}`);
      assert.ok(back.searchParams.get("code"), back.href);
      assert.equal(back.searchParams.get("state"), toProvider.searchParams.get("state"));
      assert.equal(hops.at(-1)?.href, landed.href);
      // The single-use state cookie was cleared on the way back.
      const cookies = await context.cookies(server.url);
      assert.equal(
        cookies.some((c) => c.name === "latchkey_connect"),
        false,
        "state cookie left behind",
      );
      assert.deepEqual(failures, []);
      return sessionId;
    }

    it("connects in the browser, hands out the provider's token, refreshes it once, revokes it and reconnects", async () => {
      const sessionId = await connectInBrowser();
      assert.equal(provider.stats.grants.authorization_code, 1, JSON.stringify(provider.stats.tokenRequests));
      assert.ok(
        provider.stats.tokenRequests.every((r) => r.clientAuth === "basic"),
        "client_auth basic is honoured",
      );

      // (4) The token works at the provider.
      const first = await tokenOf(sessionId);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.equal(first.body.access_token_expiry, new Date((now + 3600) * 1000).toISOString());
      assert.equal(await userinfoStatus(first.body.access_token), 200, "the token works at the provider");
      assert.equal(
        (await tokenOf(sessionId)).body.access_token,
        first.body.access_token,
        "no refresh while fresh",
      );
      assert.equal(provider.stats.grants.refresh_token, 0);

      // (5) Past expiry on Latchkey's clock: a new token, from exactly one refresh at the provider.
      now += 3600;
      const results = await Promise.all(Array.from({ length: 10 }, () => tokenOf(sessionId)));
      assert.ok(
        results.every((r) => r.status === 200),
        JSON.stringify(results.find((r) => r.status !== 200)?.body),
      );
      const refreshed = new Set(results.map((r) => r.body.access_token));
      assert.equal(refreshed.size, 1, "every caller got the same token");
      const second = results[0]!.body;
      assert.notEqual(second.access_token, first.body.access_token, "a new token");
      assert.equal(second.access_token_expiry, new Date((now + 3600) * 1000).toISOString());
      assert.equal(provider.stats.grants.refresh_token, 1, "exactly one refresh at the provider");
      assert.deepEqual(provider.stats.reusedRefreshTokens(), []);
      assert.equal(await userinfoStatus(second.access_token), 200, "the refreshed token works");

      // (6) Revoke: the provider records it, the grant is gone there, and token answers 400.
      const revoked = await callApi(
        server,
        "POST",
        `/api/v1/connected_apps/revoke?session_id=${encodeURIComponent(sessionId)}`,
        { token },
      );
      assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
      assert.deepEqual(revoked.body, { code: "OK", message: "Success" });
      assert.ok(provider.stats.revocations.length >= 1, "the provider's revocation endpoint was called");
      assert.ok(
        provider.stats.revocations.every((r) => r.status === 200),
        JSON.stringify(provider.stats.revocations),
      );
      assert.equal(provider.stats.revocations[0]?.tokenTypeHint, "refresh_token");
      assert.equal(await userinfoStatus(second.access_token), 401, "the provider no longer honours it");
      const afterRevoke = await tokenOf(sessionId);
      assert.equal(afterRevoke.status, 400, JSON.stringify(afterRevoke.body));
      assert.equal(afterRevoke.body.errors?.[0]?.code, "CONNECTION_REVOKED");

      // (7) Re-connecting in the same browser gives a new, working session.
      const again = await connectInBrowser();
      assert.notEqual(again, sessionId);
      assert.equal(provider.stats.grants.authorization_code, 2);
      const fresh = await tokenOf(again);
      assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
      assert.equal(await userinfoStatus(fresh.body.access_token), 200, "the new connection's token works");
      assert.equal(
        (await tokenOf(sessionId)).body.errors?.[0]?.code,
        "CONNECTION_REVOKED",
        "the old one stays revoked",
      );
    });

    it("asks a browser not signed in to Latchkey to sign in first, then continues to the provider", async (t) => {
      const issued = await authUrl();
      assert.equal(issued.status, 200);
      const stranger = await newContext();
      const strangerPage = await stranger.newPage();
      const requested: URL[] = [];
      stranger.on("request", (request) => requested.push(new URL(request.url())));
      const providerOrigin = new URL(provider.issuer).origin;

      const response = await strangerPage.goto(issued.body.url);
      assert.equal(response?.status(), 200);
      await strangerPage.getByRole("heading", { name: "Sign in" }).waitFor();
      assert.match(await strangerPage.locator(".lead").innerText(), /to connect/);
      assert.equal(
        await strangerPage.locator('input[name="email"]').inputValue(),
        user.email,
        "the link's account is suggested",
      );
      const screenshot = path.join(tmpdir(), `latchkey-connect-sign-in-${kind}.png`);
      await strangerPage.screenshot({ path: screenshot, fullPage: true });
      t.diagnostic(`sign-in page screenshot: ${screenshot}`);
      assert.equal(
        requested.some((u) => u.origin === providerOrigin),
        false,
        "the provider is not contacted before the user signs in",
      );
      const pending = await server.storage.db
        .selectFrom("connections")
        .select(["status", "state_hash"])
        .where("id", "=", issued.body.session_id)
        .executeTakeFirstOrThrow();
      assert.deepEqual(
        pending,
        { status: "pending", state_hash: null },
        "the link is not used up by showing the form",
      );

      await strangerPage.locator('input[name="password"]').fill(user.password);
      await Promise.all([
        strangerPage.waitForURL((url) => url.pathname === "/connected"),
        strangerPage.locator('button[type="submit"]').click(),
      ]);
      const landed = new URL(strangerPage.url());
      assert.equal(landed.searchParams.get("session_id"), issued.body.session_id);
      assert.ok(
        requested.some((u) => u.origin === providerOrigin),
        "then it went through the provider",
      );
    });
  });
}
