// Kinde's own TypeScript SDK (@kinde-oss/kinde-typescript-sdk 2.15.1), used exactly as an
// application would, against a real Latchkey: the user signs in and signs up through the hosted
// pages in a real Chromium, and the SDK exchanges codes, validates tokens against our JWKS, reads
// the profile, refreshes, logs out and fetches machine-to-machine tokens (COMPAT.md §3.1).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { type ACClient, createKindeServerClient, GrantType } from "@kinde-oss/kinde-typescript-sdk";
import { decodeJwt } from "jose";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { type AppServer, launchChromium, recordNavigations, startAppServer } from "../helpers/browser.js";
import { databaseKinds } from "../helpers/databases.js";
import { createApi, createApplication, createUser } from "../helpers/fixtures.js";
import { MapSessionManager } from "../helpers/kinde-session.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

/** The little of the page's `window` used here (this project's TypeScript has no DOM library). */
interface PageWindow {
  getComputedStyle(element: unknown): { backgroundColor: string };
}

const DEFAULT_SCOPES = ["openid", "profile", "email", "offline"];

for (const { kind, skip } of await databaseKinds()) {
  describe(`Kinde TypeScript SDK 2.15.1 with Chromium (${kind})`, { skip }, () => {
    let server: TestServer;
    let browser: Browser;
    let rp: AppServer;
    let callbackUrl: string;
    let logoutUrl: string;
    const contexts: BrowserContext[] = [];

    before(async () => {
      server = await startTestServer(kind);
      browser = await launchChromium();
      rp = await startAppServer();
      callbackUrl = `${rp.origin}/callback`;
      logoutUrl = `${rp.origin}/signed-out`;
    });
    after(async () => {
      for (const context of contexts) await context.close().catch(() => {});
      await browser?.close();
      await rp?.close();
      await server?.close();
    });

    /** A fresh browser profile (no cookies), closed by the suite's `after`. */
    async function newPage(): Promise<Page> {
      const context = await browser.newContext();
      contexts.push(context);
      return context.newPage();
    }

    const isCallback = (url: URL) => url.origin === rp.origin && url.pathname === "/callback";

    /** Opens an SDK login URL and expects Latchkey's hosted sign-in page. */
    async function openSignInPage(page: Page, authorizationUrl: URL): Promise<void> {
      const response = await page.goto(authorizationUrl.href);
      assert.equal(response?.status(), 200, `sign-in page answered ${response?.status()}`);
      const landed = new URL(page.url());
      assert.equal(landed.origin, server.url, `expected Latchkey's page, landed on ${landed.href}`);
      assert.equal(landed.pathname, "/auth/sign-in");
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
    }

    /** Fills and submits the sign-in form; returns the callback URL the browser was sent to. */
    async function submitSignIn(page: Page, email: string, password: string): Promise<URL> {
      await page.locator('input[name="email"]').fill(email);
      await page.locator('input[name="password"]').fill(password);
      await Promise.all([
        page.waitForURL(isCallback, { waitUntil: "load" }),
        page.getByRole("button", { name: "Sign in" }).click(),
      ]);
      return new URL(page.url());
    }

    /** Asserts the callback is a success response for the SDK's request (code, state, iss). */
    function assertCodeCallback(callback: URL, authorizationUrl: URL): void {
      assert.equal(callback.searchParams.get("error"), null, `callback carried an error: ${callback.href}`);
      assert.ok(callback.searchParams.get("code"), `no code in ${callback.href}`);
      assert.equal(callback.searchParams.get("state"), authorizationUrl.searchParams.get("state"));
      assert.equal(callback.searchParams.get("iss"), server.url);
      // Kinde echoes the granted scope on the callback (COMPAT.md §1.2).
      assert.ok(callback.searchParams.get("scope")?.split(" ").includes("openid"), callback.href);
    }

    /** Everything a signed-in app does with the user-flow client, for either grant type. */
    async function exerciseSignedInClient(
      client: ACClient,
      session: MapSessionManager,
      user: { id: string; email: string },
      clientId: string,
    ): Promise<void> {
      assert.equal(await client.isAuthenticated(session), true);

      const profile = await client.getUser(session);
      assert.equal(profile.id, user.id);
      assert.equal(profile.given_name, "Ada");
      assert.equal(profile.family_name, "Lovelace");
      assert.equal(profile.email, user.email);

      const remote = (await client.getUserProfile(session)) as unknown as Record<string, unknown>;
      assert.equal(remote.sub, user.id);
      assert.equal(remote.id, user.id);
      assert.equal(remote.email, user.email);
      assert.equal(remote.given_name, "Ada");
      assert.equal(remote.family_name, "Lovelace");
      assert.equal(remote.name, "Ada Lovelace");

      const accessToken = await client.getToken(session);
      const claims = decodeJwt(accessToken);
      assert.equal(claims.iss, server.url);
      assert.equal(claims.sub, user.id);
      assert.equal(claims.azp, clientId);
      assert.deepEqual([...(claims.scp as string[])].sort(), [...DEFAULT_SCOPES].sort());
      assert.deepEqual(claims.aud, [], "no audience requested: Kinde sends an empty aud array");
      const refreshBefore = session.items.get("refresh_token");
      assert.equal(typeof refreshBefore, "string", "offline scope must yield a refresh token");

      const refreshed = await client.refreshTokens(session);
      assert.ok(refreshed.access_token, "refresh must return an access token");
      assert.notEqual(refreshed.access_token, accessToken, "refresh must mint a new access token");
      assert.ok(refreshed.refresh_token, "refresh must rotate the refresh token");
      assert.notEqual(refreshed.refresh_token, refreshBefore);
      assert.equal(await client.getToken(session), refreshed.access_token);
      assert.equal(session.items.get("refresh_token"), refreshed.refresh_token);
      assert.equal(decodeJwt(refreshed.access_token).sub, user.id);
      assert.equal((await client.getUser(session)).id, user.id);
    }

    /**
     * The SDK's logout: it forgets the app session and hands back Latchkey's /logout URL; the
     * browser then ends the Latchkey session and lands on the registered logout URL.
     */
    async function logOutThroughBrowser(client: ACClient, session: MapSessionManager, page: Page) {
      const refreshToken = session.items.get("refresh_token") as string;
      const url = await client.logout(session);
      assert.equal(session.items.size, 0, "the SDK destroys the app session");
      assert.equal(url.origin, server.url);
      assert.equal(url.pathname, "/logout");
      assert.equal(url.searchParams.get("redirect"), logoutUrl);

      // The application's page sends the browser there, so the navigation is not same-origin and
      // Latchkey asks before ending the session (logout CSRF); the user confirms.
      await page.evaluate(`window.location.href = ${JSON.stringify(url.href)}`);
      await page.getByRole("heading", { name: "Sign out?" }).waitFor();
      await Promise.all([page.waitForURL(logoutUrl), page.getByRole("button", { name: "Sign out" }).click()]);
      assert.equal(page.url(), logoutUrl);
      assert.ok(rp.hits.some((hit) => hit.href === logoutUrl));

      // Signing out at the server ends the grants of that browser session: the old refresh token
      // no longer works through the SDK (which then destroys the session it was given).
      const stale = new MapSessionManager();
      await stale.setSessionItem("refresh_token", refreshToken);
      await assert.rejects(client.refreshTokens(stale));
      assert.equal(stale.items.size, 0);
    }

    it("AUTHORIZATION_CODE with a regular web app: sign in, profile, refresh, logout", async () => {
      const app = await createApplication(server, "reg", {
        callbackUrls: [callbackUrl],
        logoutUrls: [logoutUrl],
      });
      assert.ok(app.clientSecret);
      const user = await createUser(server);
      const client = createKindeServerClient(GrantType.AUTHORIZATION_CODE, {
        authDomain: server.url,
        clientId: app.clientId,
        clientSecret: app.clientSecret,
        redirectURL: callbackUrl,
        logoutRedirectURL: logoutUrl,
      });
      const session = new MapSessionManager();

      const loginUrl = await client.login(session);
      assert.equal(`${loginUrl.origin}${loginUrl.pathname}`, `${server.url}/oauth2/auth`);
      assert.equal(loginUrl.searchParams.get("client_id"), app.clientId);
      assert.equal(loginUrl.searchParams.get("redirect_uri"), callbackUrl);

      const page = await newPage();
      const problems: string[] = [];
      page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
      page.on("console", (message) => {
        // Chromium's own /favicon.ico probe may 404; that is not the page's doing.
        const source = message.location().url;
        if (message.type() === "error" && !source.endsWith("/favicon.ico")) {
          problems.push(`console: ${message.text()} (${source})`);
        }
      });
      page.on("response", (response) => {
        if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
      });
      await openSignInPage(page, loginUrl);
      // The page is styled by its own stylesheet (not blocked by its CSP) and raises no errors.
      const buttonColour = await page
        .getByRole("button", { name: "Sign in" })
        .evaluate((button) => (globalThis as unknown as PageWindow).getComputedStyle(button).backgroundColor);
      assert.equal(buttonColour, "rgb(59, 91, 219)", "the stylesheet must apply");
      assert.deepEqual(problems, []);

      const callback = await submitSignIn(page, user.email, user.password);
      assertCodeCallback(callback, loginUrl);
      assert.deepEqual(problems, []);

      await client.handleRedirectToApp(session, callback);
      assert.equal(session.items.has("ac-state-key"), false, "the SDK consumed its state");
      assert.equal(session.persistent, true, "no ksp claim, or ksp.persistent: a persistent session");
      await exerciseSignedInClient(client, session, user, app.clientId);

      await logOutThroughBrowser(client, session, page);
      assert.equal(await client.isAuthenticated(session), false);
      // The browser's Latchkey session is gone: the next login asks for the password again.
      await openSignInPage(page, await client.login(new MapSessionManager()));
    });

    it("PKCE with a single-page app (no client secret)", async () => {
      const app = await createApplication(server, "spa", {
        callbackUrls: [callbackUrl],
        logoutUrls: [logoutUrl],
      });
      assert.equal(app.clientSecret, undefined);
      const user = await createUser(server);
      const client = createKindeServerClient(GrantType.PKCE, {
        authDomain: server.url,
        clientId: app.clientId,
        redirectURL: callbackUrl,
        logoutRedirectURL: logoutUrl,
      });
      const session = new MapSessionManager();

      const loginUrl = await client.login(session);
      assert.equal(loginUrl.searchParams.get("code_challenge_method"), "S256");
      assert.match(loginUrl.searchParams.get("code_challenge") ?? "", /^[\w-]{43}$/);

      const page = await newPage();
      await openSignInPage(page, loginUrl);
      const callback = await submitSignIn(page, user.email, user.password);
      assertCodeCallback(callback, loginUrl);

      await client.handleRedirectToApp(session, callback);
      assert.equal(
        [...session.items.keys()].some((key) => key.startsWith("acwpf-state-key")),
        false,
        "the SDK consumed its code verifier",
      );
      await exerciseSignedInClient(client, session, user, app.clientId);
      await logOutThroughBrowser(client, session, page);
    });

    it("register(): sign up on the hosted page, then the SDK has the new user", async () => {
      const app = await createApplication(server, "reg", {
        callbackUrls: [callbackUrl],
        logoutUrls: [logoutUrl],
      });
      const client = createKindeServerClient(GrantType.AUTHORIZATION_CODE, {
        authDomain: server.url,
        clientId: app.clientId,
        clientSecret: app.clientSecret!,
        redirectURL: callbackUrl,
        logoutRedirectURL: logoutUrl,
      });
      const session = new MapSessionManager();
      const email = `grace-${randomBytes(4).toString("hex")}@example.com`;
      const password = `Pw-${randomBytes(12).toString("hex")}`;

      const registerUrl = await client.register(session);
      assert.equal(registerUrl.searchParams.get("start_page"), "registration");

      const page = await newPage();
      const response = await page.goto(registerUrl.href);
      assert.equal(response?.status(), 200);
      const landed = new URL(page.url());
      assert.equal(`${landed.origin}${landed.pathname}`, `${server.url}/auth/sign-up`);
      await page.getByRole("heading", { name: "Create your account" }).waitFor();
      await page.locator('input[name="given_name"]').fill("Grace");
      await page.locator('input[name="family_name"]').fill("Hopper");
      await page.locator('input[name="email"]').fill(email);
      await page.locator('input[name="password"]').fill(password);
      await Promise.all([
        page.waitForURL(isCallback, { waitUntil: "load" }),
        page.getByRole("button", { name: "Create account" }).click(),
      ]);
      const callback = new URL(page.url());
      assertCodeCallback(callback, registerUrl);

      await client.handleRedirectToApp(session, callback);
      assert.equal(await client.isAuthenticated(session), true);
      const stored = await server.services.users.store.findByEmail(email);
      assert.ok(stored, "the account exists");
      const profile = await client.getUser(session);
      assert.equal(profile.id, stored.id);
      assert.match(profile.id, /^kp_[0-9a-f]{32}$/);
      assert.equal(profile.given_name, "Grace");
      assert.equal(profile.family_name, "Hopper");
      assert.equal(profile.email, email);
      const remote = (await client.getUserProfile(session)) as unknown as Record<string, unknown>;
      assert.equal(remote.sub, stored.id);
      assert.equal(remote.email, email);
      assert.equal(remote.name, "Grace Hopper");
    });

    it("CLIENT_CREDENTIALS with a machine-to-machine app: token for an API with its granted scopes", async () => {
      const app = await createApplication(server, "m2m");
      const audience = `https://api-${randomBytes(3).toString("hex")}.example.com`;
      await createApi(server, {
        audience,
        scopes: ["read:widgets", "write:widgets", "delete:widgets"],
        grant: { [app.clientId]: ["read:widgets", "write:widgets"] },
      });

      const client = createKindeServerClient(GrantType.CLIENT_CREDENTIALS, {
        authDomain: server.url,
        clientId: app.clientId,
        clientSecret: app.clientSecret!,
        audience,
      });
      const session = new MapSessionManager();
      const token = await client.getToken(session);
      const claims = decodeJwt(token);
      assert.equal(claims.iss, server.url);
      assert.deepEqual(claims.aud, [audience]);
      assert.equal(claims.azp, app.clientId);
      assert.deepEqual([...(claims.scp as string[])].sort(), ["read:widgets", "write:widgets"]);
      assert.deepEqual(claims.gty, ["client_credentials"]);
      assert.equal(claims.sub, undefined);
      assert.equal(await client.isAuthenticated(session), true);
      assert.equal(await client.getToken(session), token, "an unexpired token is reused");

      // With an explicit, narrower scope.
      const narrow = createKindeServerClient(GrantType.CLIENT_CREDENTIALS, {
        authDomain: server.url,
        clientId: app.clientId,
        clientSecret: app.clientSecret!,
        audience,
        scope: "read:widgets",
      });
      const narrowClaims = decodeJwt(await narrow.getToken(new MapSessionManager()));
      assert.deepEqual(narrowClaims.aud, [audience]);
      assert.deepEqual(narrowClaims.scp, ["read:widgets"]);

      // A scope that was not granted is refused, and the SDK reports it.
      const greedy = createKindeServerClient(GrantType.CLIENT_CREDENTIALS, {
        authDomain: server.url,
        clientId: app.clientId,
        clientSecret: app.clientSecret!,
        audience,
        scope: "delete:widgets",
      });
      await assert.rejects(greedy.getToken(new MapSessionManager()));
    });

    it("AUTHORIZATION_CODE with audience: the user's token is for the authorised API only", async () => {
      const app = await createApplication(server, "reg", {
        callbackUrls: [callbackUrl],
        logoutUrls: [logoutUrl],
      });
      const user = await createUser(server);
      const audience = `https://orders-${randomBytes(3).toString("hex")}.example.com`;
      const foreign = `https://foreign-${randomBytes(3).toString("hex")}.example.com`;
      // The user holds both scopes through a role; only the authorised API's reaches the token.
      await createApi(server, {
        audience,
        scopes: ["read:orders"],
        authorize: [app.clientId],
        holders: { [user.id]: ["read:orders"] },
      });
      await createApi(server, {
        audience: foreign,
        scopes: ["read:foreign"],
        holders: { [user.id]: ["read:foreign"] },
      });
      const client = createKindeServerClient(GrantType.AUTHORIZATION_CODE, {
        authDomain: server.url,
        clientId: app.clientId,
        clientSecret: app.clientSecret!,
        redirectURL: callbackUrl,
        logoutRedirectURL: logoutUrl,
        audience: [audience, foreign],
        scope: "openid profile email offline read:orders read:foreign",
      });
      const session = new MapSessionManager();
      const loginUrl = await client.login(session);
      assert.deepEqual(loginUrl.searchParams.getAll("audience"), [audience, foreign]);

      const page = await newPage();
      await openSignInPage(page, loginUrl);
      const callback = await submitSignIn(page, user.email, user.password);
      assertCodeCallback(callback, loginUrl);
      await client.handleRedirectToApp(session, callback);

      const claims = decodeJwt(await client.getToken(session));
      assert.deepEqual(claims.aud, [audience], "only APIs authorised for the app end up in aud");
      assert.deepEqual([...(claims.scp as string[])].sort(), [...DEFAULT_SCOPES, "read:orders"].sort());
      // The audience is bound to the grant: the SDK's refresh (which sends none) keeps it.
      const refreshed = decodeJwt((await client.refreshTokens(session)).access_token);
      assert.deepEqual(refreshed.aud, [audience]);
      assert.deepEqual(refreshed.scp, claims.scp);
    });

    it("single sign-on: a signed-in browser is not asked again, unless prompt=login", async () => {
      const app = await createApplication(server, "reg", {
        callbackUrls: [callbackUrl],
        logoutUrls: [logoutUrl],
      });
      const user = await createUser(server);
      const client = createKindeServerClient(GrantType.AUTHORIZATION_CODE, {
        authDomain: server.url,
        clientId: app.clientId,
        clientSecret: app.clientSecret!,
        redirectURL: callbackUrl,
        logoutRedirectURL: logoutUrl,
      });
      const page = await newPage();

      const first = new MapSessionManager();
      const firstUrl = await client.login(first);
      await openSignInPage(page, firstUrl);
      const firstCallback = await submitSignIn(page, user.email, user.password);
      assertCodeCallback(firstCallback, firstUrl);
      await client.handleRedirectToApp(first, firstCallback);
      assert.equal((await client.getUser(first)).id, user.id);

      // Same browser, a new app session: Latchkey's session cookie signs the user straight in.
      const second = new MapSessionManager();
      const secondUrl = await client.login(second);
      const navigations = recordNavigations(page);
      await page.goto(secondUrl.href);
      const secondCallback = new URL(page.url());
      assert.ok(isCallback(secondCallback), `expected the callback, landed on ${secondCallback.href}`);
      assert.ok(navigations.some((url) => url.href.startsWith(`${server.url}/oauth2/auth?`)));
      assert.equal(
        navigations.some((url) => url.origin === server.url && url.pathname.startsWith("/auth/")),
        false,
        `no sign-in page expected, navigated: ${navigations.map((u) => u.pathname).join(" → ")}`,
      );
      assertCodeCallback(secondCallback, secondUrl);
      await client.handleRedirectToApp(second, secondCallback);
      assert.equal((await client.getUser(second)).id, user.id);
      assert.equal(await client.isAuthenticated(second), true);

      // prompt=login forces the sign-in page even with a live session.
      const third = new MapSessionManager();
      const thirdUrl = await client.login(third, { authUrlParams: { prompt: "login" } });
      assert.equal(thirdUrl.searchParams.get("prompt"), "login");
      await openSignInPage(page, thirdUrl);
      const thirdCallback = await submitSignIn(page, user.email, user.password);
      assertCodeCallback(thirdCallback, thirdUrl);
      await client.handleRedirectToApp(third, thirdCallback);
      assert.equal((await client.getUser(third)).id, user.id);
    });
  });
}
