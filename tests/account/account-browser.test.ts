// Issue 22, the account page in Chromium (Debian's, through playwright-core), on SQLite and
// PostgreSQL: /account sends the person to the hosted sign-in and back; they set up an authenticator
// app from the page (the code computed from the key the page shows), keep the recovery codes, are
// asked for the app's code when the page needs them to sign in again, and remove the app. Every page
// on the way passes axe.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { TOTP_PERIOD_SECONDS, totpCodeAt } from "../../src/mfa/totp.js";
import { assertAccessible, screenshot } from "../dashboard/dashboard-browser.js";
import { launchChromium } from "../helpers/browser.js";
import { databaseKinds } from "../helpers/databases.js";
import { createUser } from "../helpers/fixtures.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`the account page in Chromium (${kind})`, { skip }, () => {
    let server: TestServer;
    let browser: Browser;

    before(async () => {
      server = await startTestServer(kind);
      await server.services.mfa.store.setEnvironmentSettings({ policy: "optional" });
      browser = await launchChromium();
    });
    after(async () => {
      await browser?.close();
      await server?.close();
    });

    const at = (path: string) => (url: URL) => url.origin === server.url && url.pathname === path;

    async function signIn(page: Page, user: { email: string; password: string }) {
      assert.equal(new URL(page.url()).pathname, "/auth/sign-in");
      await page.getByLabel("Email").fill(user.email);
      await page.getByLabel("Password").fill(user.password);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
    }

    it("sets up an authenticator app from the account page, then signs in with its code", async () => {
      const user = await createUser(server, { givenName: "Ada" });
      const context = await browser.newContext();
      const page = await context.newPage();
      try {
        await page.goto(`${server.url}/account`);
        await signIn(page, user);
        // The optional policy offers the app at sign-in; the person declines there.
        await page.getByRole("button", { name: "Not now" }).click();
        await page.waitForURL(at("/account"));
        await page.getByRole("heading", { name: "Your account" }).waitFor();
        await assertAccessible(page, "account");
        await screenshot(page, "account");

        await page.getByRole("button", { name: "Set up an authenticator app" }).click();
        const secret = await page.locator("#totp-secret").getAttribute("data-secret");
        assert.ok(secret);
        assert.equal(await page.locator("figure.qr svg").count(), 1, "the QR code is drawn in the page");
        await assertAccessible(page, "account: authenticator set-up");
        await page.getByLabel("Code from the app").fill(totpCodeAt(secret, Math.floor(Date.now() / 1000)));
        await page.getByRole("button", { name: "Turn on two-step verification" }).click();
        await page.getByRole("heading", { name: "Save your recovery codes" }).waitFor();
        assert.equal(await page.locator("#recovery-codes li").count(), 10);
        await assertAccessible(page, "account: recovery codes");

        // Back to the page: the set-up's code proved the app in this session, so it stays open.
        await page.getByRole("link", { name: /back to your account/ }).click();
        await page.waitForURL(at("/account"));

        // Another browser signing in to the page is asked for the app's code.
        const elsewhere = await browser.newContext();
        const other = await elsewhere.newPage();
        await other.goto(`${server.url}/account`);
        await signIn(other, user);
        await other.getByRole("heading", { name: "Two-step verification" }).waitFor();
        // The next step's code: the set-up used the current one, and a code works once.
        const next = Math.floor(Date.now() / 1000) + TOTP_PERIOD_SECONDS;
        await other.getByLabel("Code from your authenticator app").fill(totpCodeAt(secret, next));
        await other.getByRole("button", { name: "Continue" }).click();
        await other.waitForURL(at("/account"));
        await elsewhere.close();
        assert.match(await page.locator("#factors").innerText(), /Authenticator app/);
        assert.match(await page.locator("#recovery-codes-left").innerText(), /10 of 10/);

        await page.getByRole("button", { name: "Remove" }).click();
        await page.getByRole("heading", { name: "Removed" }).waitFor();
        await page.getByRole("link", { name: "Sign in again" }).click();
        await page.waitForURL(at("/auth/sign-in"));
        assert.deepEqual(await server.services.mfa.store.factors(user.id), []);
      } finally {
        await context.close();
      }
    });
  });
}
