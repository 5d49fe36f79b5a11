// The device authorization grant end to end: openid-client (a certified relying party) is the
// device — it discovers the device authorization endpoint, asks for codes and polls as RFC 8628
// says — while a person in Chromium opens verification_uri_complete, signs in through the ordinary
// sign-in pages, sees which application asks and approves (or denies) on /device.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as client from "openid-client";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../helpers/browser.js";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`device flow: openid-client polls while Chromium approves on /device (${kind})`, { skip }, () => {
    let server: TestServer;
    let browser: Browser;
    let deviceClientId: string;
    let config: client.Configuration;

    before(async () => {
      server = await startTestServer(kind);
      deviceClientId = (
        await createApplication(server, "device", {
          name: "Living-room TV",
          callbackUrls: [],
          logoutUrls: [],
        })
      ).clientId;
      config = await client.discovery(new URL(server.url), deviceClientId, undefined, client.None(), {
        execute: [client.allowInsecureRequests],
      });
      browser = await launchChromium();
    });
    after(async () => {
      await browser?.close();
      await server?.close();
    });

    /** The person's side: open the link the device shows, sign in, and answer. */
    async function answerInBrowser(
      page: Page,
      started: client.DeviceAuthorizationResponse,
      user: { email: string; password: string },
      button: "Approve" | "Deny",
    ) {
      await page.goto(started.verification_uri_complete!);
      // Not signed in yet: the ordinary sign-in page, for /device's own application.
      await page.waitForURL(/\/auth\/sign-in\?/);
      await page.getByLabel("Email").fill(user.email);
      await page.getByLabel("Password").fill(user.password);
      await Promise.all([
        page.waitForURL(/\/device\?user_code=/),
        page.getByRole("button", { name: "Sign in", exact: true }).click(),
      ]);
      // The confirmation names the application and the code the device shows.
      await page.getByRole("heading", { name: "Sign in on your device?" }).waitFor();
      const text = await page.locator("main").innerText();
      assert.match(text, /Living-room TV/);
      assert.ok(text.includes(started.user_code), text);
      assert.match(text, /Stay signed in/);
      await page.getByRole("button", { name: button }).click();
    }

    it("signs the user in on the device with openid-client's device grant", async () => {
      const metadata = config.serverMetadata();
      assert.equal(metadata.device_authorization_endpoint, `${server.url}/oauth2/device/auth`);
      const user = await createUser(server, { givenName: "Ada", familyName: "Lovelace" });
      const started = await client.initiateDeviceAuthorization(config, {
        scope: "openid profile email offline",
      });
      assert.equal(started.verification_uri, `${server.url}/device`);
      const polling = client.pollDeviceAuthorizationGrant(config, started);

      const context = await browser.newContext();
      const page = await context.newPage();
      try {
        await answerInBrowser(page, started, user, "Approve");
        await page.getByRole("heading", { name: "Your device is signed in" }).waitFor();
      } finally {
        await context.close();
      }
      const tokens = await polling;
      // openid-client verified the ID token (signature, iss, aud, exp); its claims name the user.
      const claims = tokens.claims();
      assert.equal(claims?.sub, user.id);
      assert.equal(claims?.email, user.email);
      assert.ok(tokens.refresh_token, "offline asked for a refresh token");
      const profile = (await client.fetchUserInfo(config, tokens.access_token, user.id)) as Record<
        string,
        unknown
      >;
      assert.equal(profile.given_name, "Ada");

      // The device refreshes like any public client; the device code is spent.
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
      assert.ok(refreshed.access_token);
      const replay = await fetch(`${server.url}/oauth2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "urn:ietf:params:oauth:grant-type:device_code",
          client_id: deviceClientId,
          device_code: started.device_code,
        }),
      });
      assert.equal(((await replay.json()) as { error: string }).error, "invalid_grant");
    });

    it("a denial ends openid-client's polling with access_denied", async () => {
      const user = await createUser(server);
      const started = await client.initiateDeviceAuthorization(config, { scope: "openid offline" });
      const polling = client.pollDeviceAuthorizationGrant(config, started);
      const context = await browser.newContext();
      const page = await context.newPage();
      try {
        await answerInBrowser(page, started, user, "Deny");
        await page.getByRole("heading", { name: "Request denied" }).waitFor();
      } finally {
        await context.close();
      }
      await assert.rejects(polling, (error: unknown) => {
        assert.ok(error instanceof client.ResponseBodyError, String(error));
        assert.equal(error.error, "access_denied");
        return true;
      });
    });
  });
}
