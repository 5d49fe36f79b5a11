// Logout as Kinde's browser SDKs do it: `/logout?redirect=…` without an id_token_hint, from an app
// on a sibling host of Latchkey's site (Sec-Fetch-Site: same-site). With a registered logout URL
// the session ends at once; cross-site requests, and same-site ones that name no registered URL,
// are still asked (logout CSRF, RP-Initiated Logout 1.0 §2). The other logout rules (open
// redirects, CSRF on the confirmation, id_token_hint, grants ended) are in sign-in.test.ts.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { type AppServer, launchChromium, recordNavigations, startAppServer } from "../helpers/browser.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser, LOGOUT } from "../helpers/fixtures.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, signedInUserAgent, type UserAgent } from "../helpers/user-agent.js";

const SESSION_COOKIE = "latchkey_session";
const CONFIRMATION = /<h1>Sign out\?<\/h1>/;

for (const { kind, skip } of await databaseKinds()) {
  describe(`logout from a sibling host (${kind})`, { skip }, () => {
    let server: TestServer;
    let spa: { clientId: string };

    before(async () => {
      server = await startTestServer(kind);
      spa = await createApplication(server, "spa");
    });
    after(async () => server?.close());

    const signedIn = async () => signedInUserAgent(server, spa.clientId, CALLBACK, await createUser(server));

    async function stillSignedIn(browser: UserAgent): Promise<boolean> {
      const silent = await browser.redirectFrom(
        authorizationUrl(server, spa.clientId, CALLBACK, { prompt: "none" }),
      );
      return silent.searchParams.get("code") !== null;
    }

    it("a same-site GET with a registered logout URL signs out at once and redirects there", async () => {
      for (const name of ["redirect", "post_logout_redirect_uri"]) {
        const browser = await signedIn();
        const response = await browser.request(`/logout?${name}=${encodeURIComponent(LOGOUT)}&state=s1`, {
          headers: { "sec-fetch-site": "same-site" },
        });
        const html = await response.text();
        assert.equal(response.status, 302, `${name}: ${html.slice(0, 300)}`);
        assert.equal(response.headers.get("location"), `${LOGOUT}?state=s1`);
        assert.equal(browser.cookie(SESSION_COOKIE), undefined, "session cookie cleared");
        assert.equal(await stillSignedIn(browser), false, `${name}: the session is gone`);
      }
    });

    it("the same request from another site only asks; the session stays", async () => {
      const browser = await signedIn();
      const response = await browser.request(`/logout?redirect=${encodeURIComponent(LOGOUT)}`, {
        headers: { "sec-fetch-site": "cross-site" },
      });
      assert.match(await response.text(), CONFIRMATION);
      assert.equal(response.status, 200);
      assert.ok(await stillSignedIn(browser));
    });

    it("same-site without a redirect only asks; with an unregistered one → 400; the session stays", async () => {
      const browser = await signedIn();
      const asked = await browser.request("/logout", { headers: { "sec-fetch-site": "same-site" } });
      assert.match(await asked.text(), CONFIRMATION);
      assert.equal(asked.status, 200);
      for (const target of ["https://evil.example/", CALLBACK, `${LOGOUT}x`]) {
        const refused = await browser.request(`/logout?redirect=${encodeURIComponent(target)}`, {
          headers: { "sec-fetch-site": "same-site" },
        });
        await refused.text();
        assert.equal(refused.status, 400, target);
        assert.equal(refused.headers.get("location"), null, target);
      }
      assert.ok(await stillSignedIn(browser));
    });
  });

  describe(`logout from a sibling host in Chromium (${kind})`, { skip }, () => {
    let server: TestServer;
    let browser: Browser;
    let rp: AppServer;
    let app: { clientId: string };
    const contexts: BrowserContext[] = [];

    before(async () => {
      server = await startTestServer(kind);
      browser = await launchChromium();
      rp = await startAppServer();
      // The app server answers as 127.0.0.1 (Latchkey's site: a port is not part of a site) and as
      // localhost (another site).
      app = await createApplication(server, "spa", {
        callbackUrls: [`${rp.origin}/callback`],
        logoutUrls: [`${rp.sameSiteOrigin}/signed-out`, `${rp.origin}/signed-out`],
      });
    });
    after(async () => {
      for (const context of contexts) await context.close().catch(() => {});
      await browser?.close();
      await rp?.close();
      await server?.close();
    });

    /** A fresh profile signed in to Latchkey, left on a page of the app at `appOrigin`. */
    async function signedInPage(appOrigin: string): Promise<Page> {
      const context = await browser.newContext();
      contexts.push(context);
      const page = await context.newPage();
      const user = await createUser(server);
      await page.goto(authorizationUrl(server, app.clientId, `${rp.origin}/callback`).href);
      await page.locator('input[name="email"]').fill(user.email);
      await page.locator('input[name="password"]').fill(user.password);
      await Promise.all([
        page.waitForURL((url) => url.pathname === "/callback"),
        page.getByRole("button", { name: "Sign in" }).click(),
      ]);
      await page.goto(`${appOrigin}/home`);
      return page;
    }

    const sessionCookie = async (page: Page) =>
      (await page.context().cookies(server.url)).find((c) => c.name === SESSION_COOKIE);

    it("the app's page on the same site sends the browser to /logout: signed out, no question", async () => {
      const page = await signedInPage(rp.sameSiteOrigin);
      assert.ok(await sessionCookie(page));
      const navigations = recordNavigations(page);
      const target = `${rp.sameSiteOrigin}/signed-out`;
      const logout = `${server.url}/logout?redirect=${encodeURIComponent(target)}`;
      await Promise.all([
        page.waitForURL(target),
        page.evaluate(`window.location.href = ${JSON.stringify(logout)}`),
      ]);
      assert.deepEqual(
        navigations.map((url) => url.href),
        [logout, target],
        "straight through /logout to the app",
      );
      assert.equal(await sessionCookie(page), undefined);
    });

    it("the app's page on another site gets the confirmation", async () => {
      const page = await signedInPage(rp.origin);
      const logout = `${server.url}/logout?redirect=${encodeURIComponent(`${rp.origin}/signed-out`)}`;
      await page.evaluate(`window.location.href = ${JSON.stringify(logout)}`);
      await page.getByRole("heading", { name: "Sign out?" }).waitFor();
      assert.ok(await sessionCookie(page), "asking signs nobody out");
    });
  });
}
