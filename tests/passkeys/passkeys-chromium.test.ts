// Issue 22 in a real browser: Debian's Chromium with its virtual authenticator (DevTools protocol
// WebAuthn domain: CTAP2, internal transport, resident keys, user verification), the hosted pages'
// own script (/assets/passkeys.js) and Kinde's TypeScript SDK as the application, on SQLite and
// PostgreSQL. A person adds a passkey at /account/passkeys, signs out, and signs in with the passkey
// alone — the SDK's ID token says amr hwk and mfa; the passkey is the second factor after a
// password; "mandatory" has a new account create one before the code; a copy of the key whose
// counter is behind (a cloned authenticator) is refused and reported; removing a passkey signs the
// other browsers out. The issuer is http://localhost:PORT: WebAuthn needs a domain as RP ID (an IP
// address is refused) and a secure context (loopback is one).
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { createKindeServerClient, GrantType } from "@kinde-oss/kinde-typescript-sdk";
import { decodeJwt } from "jose";
import type { Browser, BrowserContext, CDPSession, Page } from "playwright-core";
import { assertAccessible } from "../dashboard/dashboard-browser.js";
import { type AppServer, launchChromium, startAppServer } from "../helpers/browser.js";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { MapSessionManager } from "../helpers/kinde-session.js";
import { freePort, startTestServer, type TestServer } from "../helpers/server.js";

interface VirtualCredential {
  credentialId: string;
  isResidentCredential: boolean;
  rpId: string;
  privateKey: string;
  userHandle: string;
  signCount: number;
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`passkeys in Chromium with its virtual authenticator (${kind})`, { skip }, () => {
    let server: TestServer;
    let browser: Browser;
    let rp: AppServer;
    let clientId: string;
    /** http://localhost:PORT (server.url names 127.0.0.1, which is no RP ID). */
    let issuer: string;
    const contexts: BrowserContext[] = [];
    /** What Chromium said the pages' Content-Security-Policy blocked (nothing, ever). */
    const blocked: string[] = [];

    before(async () => {
      const port = await freePort();
      server = await startTestServer(kind, { port, env: { ISSUER_URL: `http://localhost:${port}` } });
      issuer = server.config.issuerUrl;
      browser = await launchChromium();
      rp = await startAppServer();
      // The application on another site (127.0.0.1) than the issuer (localhost).
      ({ clientId } = await createApplication(server, "spa", {
        callbackUrls: [`${rp.sameSiteOrigin}/callback`],
        logoutUrls: [`${rp.sameSiteOrigin}/`],
      }));
    });
    after(async () => {
      assert.deepEqual(blocked, [], "the script runs under the pages' CSP (script-src 'self')");
      for (const context of contexts) await context.close().catch(() => {});
      await browser?.close();
      await rp?.close();
      await server?.close();
    });
    beforeEach(async () => {
      await server.services.mfa.store.setEnvironmentSettings({ policy: "off", passkeyPolicy: "optional" });
      await server.storage.db.deleteFrom("rate_limits").execute();
    });

    const sdk = () =>
      createKindeServerClient(GrantType.PKCE, {
        authDomain: issuer,
        clientId,
        redirectURL: `${rp.sameSiteOrigin}/callback`,
        logoutRedirectURL: `${rp.sameSiteOrigin}/`,
      });
    const isCallback = (url: URL) => url.origin === rp.sameSiteOrigin && url.pathname === "/callback";

    /** A fresh profile with a platform authenticator that verifies its user (a fingerprint, say). */
    async function browserWithAuthenticator(options: { autofill?: boolean } = {}): Promise<{
      page: Page;
      cdp: CDPSession;
      authenticatorId: string;
    }> {
      const context = await browser.newContext();
      contexts.push(context);
      const page = await context.newPage();
      page.on("console", (message) => {
        if (/Content Security Policy/i.test(message.text())) blocked.push(message.text());
      });
      // Chromium's virtual authenticator answers an autofill (conditional) request by itself, which
      // would sign in before a test could type a password or press a button: unless asked for, the
      // page runs as in a browser without conditional mediation.
      if (!options.autofill)
        await page.addInitScript(
          "if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = async () => false;",
        );
      const cdp = await context.newCDPSession(page);
      await cdp.send("WebAuthn.enable", { enableUI: false });
      const authenticatorId = await addAuthenticator(cdp);
      return { page, cdp, authenticatorId };
    }

    async function addAuthenticator(cdp: CDPSession): Promise<string> {
      const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
        options: {
          protocol: "ctap2",
          transport: "internal",
          hasResidentKey: true,
          hasUserVerification: true,
          isUserVerified: true,
          automaticPresenceSimulation: true,
        },
      });
      return authenticatorId;
    }

    async function credentials(cdp: CDPSession, authenticatorId: string): Promise<VirtualCredential[]> {
      const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
      return credentials as VirtualCredential[];
    }

    /** Signs in through the SDK with a password; the SDK's session once back at the callback. */
    async function signInWithPassword(page: Page, user: { email: string; password: string }) {
      const client = sdk();
      const session = new MapSessionManager();
      await page.goto((await client.login(session)).href);
      await page.getByLabel("Email").fill(user.email);
      await page.getByLabel("Password").fill(user.password);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      return { client, session };
    }

    async function finishAtCallback(page: Page, client: ReturnType<typeof sdk>, session: MapSessionManager) {
      await page.waitForURL(isCallback);
      await client.handleRedirectToApp(session, new URL(page.url()));
      return decodeJwt((await session.getSessionItem("id_token")) as string);
    }

    /**
     * Opens /account/passkeys, signing in to the account pages on the way as they ask (an
     * application's session does not open them): the password, then — for an account that owns a
     * passkey — the passkey as the second factor (the virtual authenticator answers).
     */
    async function openAccountPasskeys(page: Page, user: { email: string; password: string }) {
      await page.goto(`${issuer}/account/passkeys`);
      const at = (path: string) => (url: URL) => url.pathname === path;
      await page.waitForURL((url) => at("/account/passkeys")(url) || at("/auth/sign-in")(url));
      if (new URL(page.url()).pathname === "/auth/sign-in") {
        await page.getByLabel("Email").fill(user.email);
        await page.getByLabel("Password").fill(user.password);
        await page.getByRole("button", { name: "Sign in", exact: true }).click();
        const passkeysPage = page.getByRole("heading", { name: "Passkeys", exact: true });
        const twoStep = page.getByRole("heading", { name: "Two-step verification" });
        await passkeysPage.or(twoStep).waitFor();
        if (await twoStep.isVisible()) await page.getByRole("button", { name: "Use your passkey" }).click();
      }
      await page.getByRole("heading", { name: "Passkeys", exact: true }).waitFor();
    }

    /** Adds a passkey named `name` on /account/passkeys. */
    async function addPasskey(page: Page, name: string, user: { email: string; password: string }) {
      await openAccountPasskeys(page, user);
      await page.getByLabel("Name for this passkey").fill(name);
      await Promise.all([
        page.waitForURL((url) => url.pathname === "/account/passkeys" && url.search === "?done=added"),
        page.getByRole("button", { name: "Add a passkey" }).click(),
      ]);
      await page.getByRole("heading", { name }).waitFor();
    }

    /** The SDK's logout, confirmed on Latchkey's page when it asks. */
    async function signOut(page: Page, client: ReturnType<typeof sdk>, session: MapSessionManager) {
      await page.goto((await client.logout(session)).href);
      const confirm = page.getByRole("button", { name: /sign out/i });
      if (await confirm.count())
        await Promise.all([page.waitForURL((u) => u.origin === rp.sameSiteOrigin), confirm.click()]);
      const cookies = await page.context().cookies(issuer);
      assert.equal(
        cookies.find((c) => c.name === "latchkey_session"),
        undefined,
        "signed out",
      );
    }

    /** Opens the sign-in page and presses "Use a passkey". */
    async function signInWithPasskey(page: Page) {
      const client = sdk();
      const session = new MapSessionManager();
      await page.goto((await client.login(session)).href);
      await page.getByRole("button", { name: "Use a passkey" }).click();
      return { client, session };
    }

    it("adds a passkey on the account page, then signs in with it alone: the SDK's amr says hwk and mfa", async () => {
      const user = await createUser(server);
      const { page, cdp, authenticatorId } = await browserWithAuthenticator();
      const first = await signInWithPassword(page, user);
      await finishAtCallback(page, first.client, first.session);
      await addPasskey(page, "My laptop", user);
      await assertAccessible(page, "the passkeys page");
      const [stored] = await credentials(cdp, authenticatorId);
      assert.ok(stored?.isResidentCredential, "a discoverable credential");
      assert.equal(stored.rpId, "localhost", "RP ID: the issuer's host");
      assert.equal(Buffer.from(stored.userHandle, "base64").toString(), user.id);
      const rows = await server.storage.db
        .selectFrom("passkeys")
        .selectAll()
        .where("user_id", "=", user.id)
        .execute();
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.name, "My laptop");
      assert.equal(rows[0]!.device_type, "singleDevice");
      const added = await server.storage.db
        .selectFrom("events")
        .select(["type", "data"])
        .where("user_id", "=", user.id)
        .where("type", "=", "passkey.added")
        .execute();
      assert.equal(added.length, 1, "passkey.added recorded with the passkey");

      await signOut(page, first.client, first.session);
      const second = await signInWithPasskey(page);
      const claims = await finishAtCallback(page, second.client, second.session);
      assert.equal(claims.sub, user.id);
      assert.deepEqual([...(claims.amr as string[])].sort(), ["hwk", "mfa"]);
      assert.equal((await second.client.getUser(second.session)).id, user.id);

      const [credential] = await credentials(cdp, authenticatorId);
      const row = await server.storage.db
        .selectFrom("passkeys")
        .select(["sign_count", "last_used_at"])
        .where("user_id", "=", user.id)
        .executeTakeFirstOrThrow();
      assert.ok(credential!.signCount > 0);
      assert.equal(Number(row.sign_count), credential!.signCount, "the authenticator's counter is kept");
      assert.ok(row.last_used_at !== null);

      // The same passkey on another device whose browser offers it in the e-mail field's autofill:
      // signing in there needs no click at all (conditional mediation).
      const synced = await browserWithAuthenticator({ autofill: true });
      await synced.cdp.send("WebAuthn.addCredential", {
        authenticatorId: synced.authenticatorId,
        credential: credential!,
      });
      const third = { client: sdk(), session: new MapSessionManager() };
      await synced.page.goto((await third.client.login(third.session)).href);
      const autofilled = await finishAtCallback(synced.page, third.client, third.session);
      assert.equal(autofilled.sub, user.id);
      assert.deepEqual([...(autofilled.amr as string[])].sort(), ["hwk", "mfa"]);
    });

    it("uses the passkey as the second factor after a password: amr pwd, hwk, mfa", async () => {
      const user = await createUser(server);
      const { page } = await browserWithAuthenticator();
      const first = await signInWithPassword(page, user);
      await finishAtCallback(page, first.client, first.session);
      await addPasskey(page, "Phone", user);
      await signOut(page, first.client, first.session);
      await server.services.mfa.store.setEnvironmentSettings({
        policy: "required",
        enabledFactors: ["mfa:authenticator_app"],
      });
      const again = await signInWithPassword(page, user);
      await page.getByRole("heading", { name: "Two-step verification" }).waitFor();
      await assertAccessible(page, "the passkey second step");
      await page.getByRole("button", { name: "Use your passkey" }).click();
      const claims = await finishAtCallback(page, again.client, again.session);
      assert.deepEqual([...(claims.amr as string[])].sort(), ["hwk", "mfa", "pwd"]);
    });

    it("has an account without a passkey create one at sign-in under 'mandatory'", async () => {
      await server.services.mfa.store.setEnvironmentSettings({ passkeyPolicy: "mandatory" });
      const user = await createUser(server);
      const { page } = await browserWithAuthenticator();
      const { client, session } = await signInWithPassword(page, user);
      await page.getByRole("heading", { name: "Create a passkey" }).waitFor();
      await assertAccessible(page, "the create-a-passkey step");
      const before = await page.context().cookies(issuer);
      assert.equal(
        before.find((c) => c.name === "latchkey_session"),
        undefined,
        "no session before the step",
      );
      await page.getByLabel("Name for this passkey").fill("Work laptop");
      await page.getByRole("button", { name: "Create a passkey" }).click();
      const claims = await finishAtCallback(page, client, session);
      assert.deepEqual(claims.amr, ["pwd"], "creating a passkey proves nothing more than the password did");
      const rows = await server.storage.db
        .selectFrom("passkeys")
        .select("name")
        .where("user_id", "=", user.id)
        .execute();
      assert.deepEqual(rows, [{ name: "Work laptop" }]);
    });

    it("refuses a cloned authenticator whose counter is behind, and reports it", async () => {
      const user = await createUser(server);
      const { page, cdp, authenticatorId } = await browserWithAuthenticator();
      const first = await signInWithPassword(page, user);
      await finishAtCallback(page, first.client, first.session);
      await addPasskey(page, "Original", user);
      await signOut(page, first.client, first.session);
      const used = await signInWithPasskey(page);
      await finishAtCallback(page, used.client, used.session);
      await signOut(page, used.client, used.session);
      const [original] = await credentials(cdp, authenticatorId);
      assert.ok(original && original.signCount > 0, "the virtual authenticator counts its uses");
      // The copy: the same private key in another authenticator, its counter at where it was copied.
      await cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId });
      const clone = await addAuthenticator(cdp);
      await cdp.send("WebAuthn.addCredential", {
        authenticatorId: clone,
        credential: { ...original, signCount: original.signCount - 1 },
      });
      const logged = server.logs.lines.length;
      await signInWithPasskey(page);
      await page.getByText("That passkey could not be used").waitFor();
      assert.equal(new URL(page.url()).pathname, "/auth/passkey/sign-in");
      const report = server.logs.lines
        .slice(logged)
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((entry) => entry.event === "passkey_possible_clone");
      assert.ok(report, "reported as a possible clone");
      assert.equal(report.userId, user.id);
    });

    it("removing a passkey signs the account's other browsers out", async () => {
      const user = await createUser(server);
      const { page } = await browserWithAuthenticator();
      const first = await signInWithPassword(page, user);
      await finishAtCallback(page, first.client, first.session);
      await addPasskey(page, "Old phone", user);
      const other = await browserWithAuthenticator();
      const elsewhere = await signInWithPassword(other.page, user);
      await finishAtCallback(other.page, elsewhere.client, elsewhere.session);
      await openAccountPasskeys(page, user);
      await Promise.all([
        page.waitForURL((url) => url.search === "?done=removed"),
        page.getByRole("button", { name: "Remove “Old phone”" }).click(),
      ]);
      await page.getByText("You have no passkeys yet.").waitFor();
      const sessions = await server.storage.db
        .selectFrom("browser_sessions")
        .select(["revoked_at"])
        .where("user_id", "=", user.id)
        .execute();
      assert.equal(
        sessions.filter((s) => s.revoked_at === null).length,
        1,
        "only this browser's session is left",
      );
      await other.page.goto(`${issuer}/account/passkeys`);
      assert.notEqual(
        new URL(other.page.url()).pathname,
        "/account/passkeys",
        "the other browser must sign in again",
      );
      const removed = await server.storage.db
        .selectFrom("events")
        .select("type")
        .where("user_id", "=", user.id)
        .where("type", "=", "passkey.removed")
        .execute();
      assert.equal(removed.length, 1);
    });
  });
}
