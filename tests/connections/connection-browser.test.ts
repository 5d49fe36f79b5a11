// Issue 17's "Done when", in Chromium, on SQLite and PostgreSQL: a certified OpenID provider
// (oidc-provider) started by the test on its own site (127.0.0.2, so every hop between it, Latchkey on
// 127.0.0.1 and the app on localhost is cross-site as in production), configured through the
// Management API as an `oidc:custom` connection and enabled for an application. Kinde's TypeScript
// SDK, unchanged, builds the login URL; the browser clicks "Continue with …" on Latchkey's sign-in
// page (axe-checked), signs in and consents on oidc-provider's own pages, and lands on the app's
// callback; the SDK's tokens carry ext_provider.connection_id. An existing password account with the
// same verified address is linked at once when the connection is trusted (connection_id skipping
// Latchkey's page), and not on an untrusted connection's word: Latchkey mails a code to the account's
// address (a real SMTP peer) and links only when the code comes back.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { after, before, describe, it } from "node:test";
import { createKindeServerClient, GrantType } from "@kinde-oss/kinde-typescript-sdk";
import { decodeJwt, exportJWK, generateKeyPair } from "jose";
// oidc-provider ships no type declarations; the constructor and callback() are all this file uses.
// @ts-expect-error TS7016: no declaration file for "oidc-provider"
import OidcProviderModule from "oidc-provider";
import type { Browser, Page } from "playwright-core";
import { assertAccessible } from "../dashboard/dashboard-browser.js";
import { type AppServer, launchChromium, recordNavigations, startAppServer } from "../helpers/browser.js";
import { dashboardToken } from "../helpers/dashboard.js";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { MapSessionManager } from "../helpers/kinde-session.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { type SmtpPeer, startSmtpPeer } from "../helpers/smtp.js";

const ADMIN = { email: "root@admins.test", password: "a root password nobody guesses" };
/** What the dashboard's connection screens ask for (only an administrator may trust a connection). */
const ADMIN_SCOPES = "openid read:connections create:connections update:connections";
/** The provider's own site: a loopback address Chromium treats as a site apart from 127.0.0.1. */
const PROVIDER_HOST = "127.0.0.2";

type Json = Record<string, unknown>;

const Provider = OidcProviderModule as new (
  issuer: string,
  configuration: Json,
) => { callback(): (request: IncomingMessage, response: ServerResponse) => void };

interface StartedProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  close(): Promise<void>;
}

/**
 * oidc-provider with its own development login and consent pages (devInteractions): the login form
 * takes any login as the account id; every account's address is `<login>@idp.test`, verified.
 */
async function startProvider(redirectUri: string): Promise<StartedProvider> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, PROVIDER_HOST, () => resolve());
  });
  const address = server.address();
  const issuer = `http://${PROVIDER_HOST}:${typeof address === "object" && address ? address.port : 0}`;
  const clientId = `latchkey-${randomBytes(4).toString("hex")}`;
  const clientSecret = randomBytes(24).toString("base64url");
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const provider = new Provider(issuer, {
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: "op-1", use: "sig", alg: "RS256" }] },
    cookies: { keys: [randomBytes(32).toString("hex")] },
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [redirectUri],
        grant_types: ["authorization_code"],
        response_types: ["code"],
      },
    ],
    claims: {
      openid: ["sub"],
      email: ["email", "email_verified"],
      profile: ["name", "given_name", "family_name"],
    },
    async findAccount(_ctx: unknown, sub: string) {
      return {
        accountId: sub,
        claims: async () => ({
          sub,
          email: `${sub}@idp.test`,
          email_verified: true,
          name: `${sub} at the IdP`,
          given_name: sub,
          family_name: "Upstream",
        }),
      };
    },
    features: { devInteractions: { enabled: true } },
    ttl: {
      AuthorizationCode: 60,
      AccessToken: 600,
      IdToken: 600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
  });
  server.on("request", provider.callback());
  return {
    issuer,
    clientId,
    clientSecret,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`signing in through an oidc:custom connection in Chromium (${kind})`, { skip }, () => {
    let server: TestServer;
    let smtp: SmtpPeer;
    let browser: Browser;
    let rp: AppServer;
    let op: StartedProvider;
    let app: { clientId: string };
    let trustedId: string;
    const trustedName = `acme-sso-${randomBytes(3).toString("hex")}`;

    before(async () => {
      smtp = await startSmtpPeer({ tls: "none" });
      server = await startTestServer(kind, {
        env: {
          // Codes that prove an address before an untrusted connection links to its account.
          SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
          SMTP_ALLOW_INSECURE: "true",
          // The provider is on loopback.
          CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS: "true",
          BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
          BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
        },
      });
      browser = await launchChromium();
      rp = await startAppServer();
      op = await startProvider(`${server.url}/auth/connections/callback`);
      app = await createApplication(server, "spa", { callbackUrls: [`${rp.origin}/callback`] });

      const trusted = {
        name: trustedName,
        display_name: "Acme SSO",
        strategy: "oidc:custom",
        options: {
          client_id: op.clientId,
          client_secret: op.clientSecret,
          issuer: op.issuer,
          is_trusted: true,
        },
      };
      // A machine may not vouch for addresses; an administrator (the dashboard's token) may.
      const refused = await callApi<{ errors: { code: string }[] }>(server, "POST", "/api/v1/connections", {
        body: trusted,
      });
      assert.equal(refused.status, 403);
      assert.equal(refused.body.errors[0]?.code, "FORBIDDEN");
      const admin = (await dashboardToken(server, ADMIN, ADMIN_SCOPES)).access_token;
      const created = await callApi<{ connection: { id: string } }>(server, "POST", "/api/v1/connections", {
        body: trusted,
        token: admin,
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      trustedId = created.body.connection.id;
      const enabled = await callApi(
        server,
        "POST",
        `/api/v1/applications/${app.clientId}/connections/${trustedId}`,
      );
      assert.equal(enabled.status, 200, JSON.stringify(enabled.body));
    });
    after(async () => {
      await browser?.close();
      await rp?.close();
      await op?.close();
      await server?.close();
      await smtp?.close();
    });

    const client = () =>
      createKindeServerClient(GrantType.PKCE, {
        authDomain: server.url,
        clientId: app.clientId,
        redirectURL: `${rp.origin}/callback`,
        logoutRedirectURL: `${rp.origin}/`,
      });
    const isCallback = (url: URL) => url.origin === rp.origin && url.pathname === "/callback";

    /** On oidc-provider's pages: its login form, then its consent page when it asks. */
    async function signInAtProvider(page: Page, login: string): Promise<void> {
      await page.waitForURL((url) => url.origin === op.issuer && url.pathname.startsWith("/interaction/"));
      const loginPage = page.url();
      await page.locator('input[name="login"]').fill(login);
      await page.locator('input[name="password"]').fill("the provider's own password");
      await Promise.all([
        page.waitForURL((url) => url.href !== loginPage),
        page.getByRole("button", { name: "Sign-in" }).click(),
      ]);
      // A new interaction at the provider is its consent page (first use of this client by the account).
      if (new URL(page.url()).origin === op.issuer) {
        await Promise.all([
          page.waitForURL((url) => url.origin !== op.issuer),
          page.getByRole("button", { name: "Continue" }).click(),
        ]);
      }
    }

    /** The SDK exchanges the code at the callback; returns its ID token's claims. */
    async function tokensAt(
      sdk: ReturnType<typeof client>,
      session: MapSessionManager,
      page: Page,
    ): Promise<Json> {
      await page.waitForURL(isCallback);
      await sdk.handleRedirectToApp(session, new URL(page.url()));
      assert.equal(await sdk.isAuthenticated(session), true);
      return decodeJwt((await session.getSessionItem("id_token")) as string);
    }

    /** The 6-digit code in the next message to `to`, once it has arrived. */
    async function codeFromMail(to: string): Promise<string> {
      for (let wanted = smtp.received.length + 1; ; wanted++) {
        await smtp.waitFor(wanted, 15_000);
        const mail = smtp.received[wanted - 1]!;
        if (mail.envelopeTo.includes(to)) return /\b(\d{6})\b/.exec(mail.text)![1]!;
      }
    }

    async function identitiesOf(userId: string) {
      const response = await callApi<{
        identities: { type: string; identity: string; connection_id: string | null }[];
      }>(server, "GET", `/api/v1/users/${userId}/identities`);
      assert.equal(response.status, 200);
      return response.body.identities;
    }

    it("signs a new person in by the button on Latchkey's page and the provider's own pages; Kinde's SDK gets ext_provider.connection_id", async () => {
      const sdk = client();
      const session = new MapSessionManager();
      const page = await (await browser.newContext()).newPage();
      await page.goto((await sdk.login(session)).href);
      await page.waitForURL((url) => url.origin === server.url && url.pathname === "/auth/sign-in");
      const button = page.getByRole("link", { name: "Continue with Acme SSO" });
      await button.waitFor();
      await assertAccessible(page, "the sign-in page with a connection");
      await button.click();
      await signInAtProvider(page, "river");

      const idToken = await tokensAt(sdk, session, page);
      const user = await server.services.users.store.findByEmail("river@idp.test");
      assert.ok(user, "created just in time");
      assert.equal(idToken.sub, user.id);
      assert.equal(idToken.email, "river@idp.test");
      const ext = idToken.ext_provider as { connection_id: string; name: string; claims: Json };
      assert.equal(ext.connection_id, trustedId);
      assert.equal(ext.name, trustedName);
      assert.equal(ext.claims.connection_id, trustedId);
      assert.equal(ext.claims.email, "river@idp.test");
      assert.equal((await sdk.getUser(session)).email, "river@idp.test");
      const identities = await identitiesOf(user.id);
      assert.ok(
        identities.some((i) => i.type === "oidc:custom" && i.connection_id === trustedId),
        JSON.stringify(identities),
      );
      await page.context().close();
    });

    it("links an existing password account with the same verified address when the connection is trusted (connection_id skips Latchkey's page)", async () => {
      const existing = await createUser(server, { email: "ada@idp.test" });
      const sdk = client();
      const session = new MapSessionManager();
      const page = await (await browser.newContext()).newPage();
      const navigations = recordNavigations(page);
      await page.goto((await sdk.login(session, { authUrlParams: { connection_id: trustedId } })).href);
      await signInAtProvider(page, "ada");

      const idToken = await tokensAt(sdk, session, page);
      assert.ok(
        !navigations.some((url) => url.origin === server.url && url.pathname.startsWith("/auth/sign-in")),
        "connection_id went straight to the provider",
      );
      assert.equal(idToken.sub, existing.id, "the password account, linked");
      assert.equal(idToken.email, existing.email);
      assert.equal((idToken.ext_provider as { connection_id: string }).connection_id, trustedId);
      const identities = await identitiesOf(existing.id);
      assert.deepEqual(
        identities.map((i) => [i.type, i.connection_id]),
        [
          ["email", null],
          ["oidc:custom", trustedId],
        ],
      );
      await page.context().close();
    });

    it("does not link an existing account on an untrusted connection's word: a code sent to the account's address must come back first", async () => {
      // Untrusted: a machine may create it.
      const created = await callApi<{ connection: { id: string } }>(server, "POST", "/api/v1/connections", {
        body: {
          name: `untrusted-${randomBytes(3).toString("hex")}`,
          display_name: "Partner IdP",
          strategy: "oidc:custom",
          options: {
            client_id: op.clientId,
            client_secret: op.clientSecret,
            issuer: op.issuer,
            is_trusted: false,
          },
          enabled_applications: [app.clientId],
        },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const untrustedId = created.body.connection.id;
      const existing = await createUser(server, { email: "grace@idp.test" });
      const identitiesBefore = await identitiesOf(existing.id);
      const atUntrusted = () =>
        server.storage.db
          .selectFrom("external_identities")
          .select("user_id")
          .where("connection_id", "=", untrustedId)
          .execute();

      const sdk = client();
      const session = new MapSessionManager();
      const page = await (await browser.newContext()).newPage();
      const navigations = recordNavigations(page);
      await page.goto((await sdk.login(session)).href);
      await page.getByRole("link", { name: "Continue with Acme SSO" }).waitFor();
      await page.getByRole("link", { name: "Continue with Partner IdP" }).click();
      const answered = page.waitForResponse((response) =>
        response.url().startsWith(`${server.url}/auth/connections/callback`),
      );
      const mailed = codeFromMail(existing.email);
      mailed.catch(() => {}); // awaited below; a failure before then is reported there
      await signInAtProvider(page, "grace");
      assert.equal((await answered).status(), 200);
      await page.getByRole("heading", { level: 1, name: "Check your email" }).waitFor();
      assert.ok(!navigations.some(isCallback), "the provider's word alone reached the app");
      assert.deepEqual(await identitiesOf(existing.id), identitiesBefore, "not linked before the code");
      assert.deepEqual(await atUntrusted(), [], "no identity stored at the untrusted connection yet");
      await assertAccessible(page, "the code page before linking");

      await page.getByLabel("Code").fill(await mailed);
      await page.getByRole("button", { name: "Continue" }).click();
      const idToken = await tokensAt(sdk, session, page);
      assert.equal(idToken.sub, existing.id, "the proved mailbox's account, linked");
      assert.equal((idToken.ext_provider as { connection_id: string }).connection_id, untrustedId);
      assert.deepEqual(await atUntrusted(), [{ user_id: existing.id }]);
      await page.context().close();
    });
  });
}
