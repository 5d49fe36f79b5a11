// Issue 16 in a real browser against a real mail server: Chromium drives the hosted pages, Latchkey
// delivers over SMTP with STARTTLS (a self-signed certificate the test trusts) to an SMTP server the
// test runs, and the codes are read from the messages as they arrive. Sign-up is verified by its
// code; passwordless sign-in hands Kinde's TypeScript SDK tokens with email_verified: true; the code
// page passes axe.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { createKindeServerClient, GrantType } from "@kinde-oss/kinde-typescript-sdk";
import { decodeJwt } from "jose";
import type { Browser, Page } from "playwright-core";
import { assertAccessible } from "../dashboard/dashboard-browser.js";
import { type AppServer, launchChromium, startAppServer } from "../helpers/browser.js";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication } from "../helpers/fixtures.js";
import { MapSessionManager } from "../helpers/kinde-session.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { type SmtpPeer, startSmtpPeer } from "../helpers/smtp.js";
import { selfSignedCertificate, type TestCertificate } from "../helpers/tls.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`e-mail codes in Chromium over real SMTP with STARTTLS (${kind})`, { skip }, () => {
    let certificate: TestCertificate;
    let smtp: SmtpPeer;
    let server: TestServer;
    let browser: Browser;
    let rp: AppServer;

    before(async () => {
      certificate = selfSignedCertificate();
      smtp = await startSmtpPeer({ tls: "starttls", certificate });
      server = await startTestServer(kind, {
        env: {
          EMAIL_VERIFICATION: "required",
          SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
          SMTP_TLS_CA_FILE: certificate.certFile,
        },
      });
      browser = await launchChromium();
      rp = await startAppServer();
    });
    after(async () => {
      await browser?.close();
      await rp?.close();
      await server?.close();
      await smtp?.close();
      certificate?.remove();
    });

    /** The code in the next message to `to`, once it has arrived (encrypted on the way). */
    async function codeFromMail(to: string): Promise<string> {
      const before = smtp.received.length;
      for (let wanted = before + 1; ; wanted++) {
        await smtp.waitFor(wanted, 15_000);
        const mail = smtp.received.at(-1)!;
        if (!mail.envelopeTo.includes(to)) continue;
        assert.ok(mail.secure, "delivered over STARTTLS");
        return /\b(\d{6})\b/.exec(mail.text)![1]!;
      }
    }

    const isCallback = (url: URL) => url.origin === rp.origin && url.pathname === "/callback";

    async function enterCode(page: Page, code: string): Promise<URL> {
      await page.getByLabel("Code").fill(code);
      await Promise.all([
        page.waitForURL(isCallback),
        page.getByRole("button", { name: "Continue" }).click(),
      ]);
      return new URL(page.url());
    }

    it("verifies a sign-up by the code that arrives by mail", async () => {
      const app = await createApplication(server, "spa", { callbackUrls: [`${rp.origin}/callback`] });
      const email = `new-${randomBytes(4).toString("hex")}@example.com`;
      const client = createKindeServerClient(GrantType.PKCE, {
        authDomain: server.url,
        clientId: app.clientId,
        redirectURL: `${rp.origin}/callback`,
        logoutRedirectURL: `${rp.origin}/`,
      });
      const session = new MapSessionManager();
      const page = await (await browser.newContext()).newPage();
      await page.goto((await client.register(session)).href);
      await page.getByLabel("Email").fill(email);
      await page.getByLabel("Password").fill("a long sign-up passphrase");
      const arriving = codeFromMail(email);
      await page.getByRole("button", { name: "Create account" }).click();
      await page.getByRole("heading", { name: "Check your email" }).waitFor();
      assert.equal(
        await page.getByLabel("Code").getAttribute("autocomplete"),
        "one-time-code",
        "the browser may fill it from the message",
      );
      await assertAccessible(page, "the code page");
      const callback = await enterCode(page, await arriving);
      await client.handleRedirectToApp(session, callback);
      const idToken = decodeJwt((await session.getSessionItem("id_token")) as string);
      assert.equal(idToken.email, email);
      assert.equal(idToken.email_verified, true);
    });

    it("signs in without a password by the emailed code; Kinde's SDK gets email_verified: true", async () => {
      const app = await createApplication(server, "spa", { callbackUrls: [`${rp.origin}/callback`] });
      const email = `codes-${randomBytes(4).toString("hex")}@example.com`;
      const user = await server.services.users.create({ email });
      const client = createKindeServerClient(GrantType.PKCE, {
        authDomain: server.url,
        clientId: app.clientId,
        redirectURL: `${rp.origin}/callback`,
        logoutRedirectURL: `${rp.origin}/`,
      });
      const session = new MapSessionManager();
      const page = await (await browser.newContext()).newPage();
      await page.goto((await client.login(session)).href);
      await page.getByRole("link", { name: "Email me a sign-in code" }).click();
      await page.getByLabel("Email").fill(email);
      const arriving = codeFromMail(email);
      await page.getByRole("button", { name: "Email me a code" }).click();
      await page.getByRole("heading", { name: "Check your email" }).waitFor();
      const callback = await enterCode(page, await arriving);
      await client.handleRedirectToApp(session, callback);
      assert.equal(await client.isAuthenticated(session), true);
      const profile = await client.getUser(session);
      assert.equal(profile.id, user.id);
      const idToken = decodeJwt((await session.getSessionItem("id_token")) as string);
      assert.equal(idToken.email_verified, true);
    });
  });
}
