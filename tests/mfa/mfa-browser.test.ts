// Issue 22 in Chromium with Kinde's TypeScript SDK, unchanged, on SQLite and PostgreSQL: under
// "required" a person sets up an authenticator app on the hosted page (the test computes the code
// from the key shown there, as the app would from the QR code), keeps the recovery codes, and the
// SDK's ID token says amr [pwd, otp, mfa]; a later sign-in with prompt=login asks for the code
// again. The MFA pages pass the accessibility check the other pages do.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import type { Clock } from "../../src/clock.js";
import { totpCodeAt } from "../../src/mfa/totp.js";
import { assertAccessible } from "../dashboard/dashboard-browser.js";
import { databaseKinds } from "../helpers/databases.js";
import { createUser } from "../helpers/fixtures.js";
import { idTokenAtCallback, kindeAppInChromium, kindeClient } from "../helpers/kinde-browser.js";
import { MapSessionManager } from "../helpers/kinde-session.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`two-step verification in Chromium with Kinde's SDK (${kind})`, { skip }, () => {
    // The set-up runs two minutes "ago", so the sign-in after it is at a later RFC 6238 step
    // without waiting; tokens then carry real times, which the SDK checks.
    let offset = -120;
    const clock: Clock = { now: () => Math.floor(Date.now() / 1000) + offset };
    const setup = kindeAppInChromium(kind, { clock });
    before(async () => {
      await setup.server.services.mfa.store.setEnvironmentSettings({
        policy: "required",
        enabledFactors: ["mfa:authenticator_app"],
        recoveryCodes: true,
      });
    });

    async function signInWithPassword(page: Page, user: { email: string; password: string }) {
      await page.waitForURL((url) => url.pathname === "/auth/sign-in");
      await page.getByLabel("Email").fill(user.email);
      await page.getByLabel("Password").fill(user.password);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
    }

    it("sets up an authenticator app at the first sign-in and asks for its code at the next", async () => {
      const user = await createUser(setup.server);
      const sdk = kindeClient(setup);
      const session = new MapSessionManager();
      const page = await (await setup.browser.newContext()).newPage();
      await page.goto((await sdk.login(session)).href);
      await signInWithPassword(page, user);

      await page.getByRole("heading", { name: "Set up two-step verification" }).waitFor();
      await assertAccessible(page, "the authenticator set-up page");
      const secret = await page.locator("#totp-secret").getAttribute("data-secret");
      assert.ok(secret);
      assert.equal(await page.locator("figure.qr svg").count(), 1, "the QR code is drawn in the page");
      await page.getByLabel("Code from the app").fill(totpCodeAt(secret, clock.now()));
      await page.getByRole("button", { name: "Turn on two-step verification" }).click();
      await page.getByRole("heading", { name: "Save your recovery codes" }).waitFor();
      await assertAccessible(page, "the recovery codes page");
      assert.equal(await page.locator("#recovery-codes li").count(), 10);
      await page.getByRole("button", { name: /I have saved them/ }).click();
      const first = await idTokenAtCallback(setup, sdk, session, page);
      assert.equal(first.sub, user.id);
      assert.deepEqual([...(first.amr as string[])].sort(), ["mfa", "otp", "pwd"]);

      offset = 0;
      const again = new MapSessionManager();
      await page.goto((await sdk.login(again, { authUrlParams: { prompt: "login" } })).href);
      await signInWithPassword(page, user);
      await page.getByRole("heading", { name: "Two-step verification" }).waitFor();
      await assertAccessible(page, "the two-step verification page");
      await page.getByLabel("Code from your authenticator app").fill("000000");
      await page.getByRole("button", { name: "Continue" }).click();
      await page.getByRole("alert").waitFor();
      assert.match((await page.getByRole("alert").textContent()) ?? "", /not right/);
      await page.getByLabel("Code from your authenticator app").fill(totpCodeAt(secret, clock.now()));
      await page.getByRole("button", { name: "Continue" }).click();
      const second = await idTokenAtCallback(setup, sdk, again, page);
      assert.deepEqual([...(second.amr as string[])].sort(), ["mfa", "otp", "pwd"]);
      assert.ok((second.auth_time as number) > (first.auth_time as number), "a new sign-in");
      await page.context().close();
    });
  });
}
