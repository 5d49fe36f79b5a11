// Issue 20, the last pages: signing in through a connection (the e-mail proof before linking, the
// single sign-on entry, the refusals), the callback of Latchkey's own /account sign-in, the passkey
// step's answers and the factor notices by e-mail speak French when the sign-in asked for it
// (lang=fr) or the browser did, with <html lang="fr"> and none of the English left; on SQLite and
// PostgreSQL, with a certified OpenID provider (oidc-provider) started by the test.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { renderMail } from "../../src/mail/templates.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { messagesTo } from "../helpers/mail.js";
import { type OidcProviderHandle, startOidcProvider } from "../helpers/oauth-provider.js";
import { freePort, startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";

const ADMIN = { email: "chef@provider.test", password: "a root password nobody guesses" };
const FRENCH_BROWSER = { "accept-language": "fr-FR,fr;q=0.9" };

function authRequest(server: TestServer, clientId: string, extra: Record<string, string> = {}): URL {
  const url = new URL("/oauth2/auth", server.config.issuerUrl);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: CALLBACK,
    scope: "openid",
    code_challenge: createHash("sha256").update(randomBytes(32).toString("base64url")).digest("base64url"),
    code_challenge_method: "S256",
    lang: "fr",
    ...extra,
  }).toString();
  return url;
}

/** The page is French: its language attribute, `french` shown, `english` nowhere. */
function assertFrench(page: string, french: RegExp, english: RegExp) {
  assert.match(page, /<html lang="fr"/);
  assert.match(page, french);
  assert.doesNotMatch(page, english);
}

function hiddenFields(page: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    fields[match[1]!] ??= match[2]!;
  return fields;
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`connection, account-callback and passkey pages in French (${kind})`, { skip }, () => {
    let server: TestServer;
    let app: { clientId: string };
    const providers: OidcProviderHandle[] = [];

    before(async () => {
      // localhost, not 127.0.0.1: an IP address is no WebAuthn RP ID, and the passkey step is tested.
      const port = await freePort();
      server = await startTestServer(kind, {
        port,
        env: {
          ISSUER_URL: `http://localhost:${port}`,
          CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS: "true",
          BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
          BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
        },
      });
      app = await createApplication(server, "spa");
    });
    after(async () => {
      await Promise.all(providers.map((p) => p.close()));
      await server?.close();
    });

    /** An untrusted provider whose account `accountId` has the address accountId@provider.test. */
    async function provider(accountId: string, options: Record<string, unknown> = {}) {
      const op = await startOidcProvider({
        redirectUri: `${server.config.issuerUrl}/auth/connections/callback`,
        accountId,
        scopes: ["profile", "email"],
        accountClaims: {},
      });
      providers.push(op);
      const connection = await server.services.connections.create({
        name: `idp-${randomBytes(4).toString("hex")}`,
        displayName: "Fournisseur",
        strategy: "oidc:custom",
        options: { client_id: op.clientId, client_secret: op.clientSecret, issuer: op.issuer, ...options },
        enabledApplications: [app.clientId],
      });
      return { op, id: connection.id };
    }

    async function signInThrough(agent: UserAgent, through: { op: OidcProviderHandle; id: string }) {
      let next = authRequest(server, app.clientId, { connection_id: through.id });
      for (let hop = 0; hop < 3 && next.origin === new URL(server.config.issuerUrl).origin; hop++)
        next = await agent.redirectFrom(next);
      return agent.request(await through.op.authorize(next));
    }

    it("asks for the e-mail code before linking, and for a wait before another, in French", async () => {
      await createUser(server, { email: "boite@provider.test" });
      const agent = new UserAgent(server.config.issuerUrl);
      const shown = await signInThrough(agent, await provider("boite"));
      const page = await shown.text();
      assert.equal(shown.status, 200, page.slice(0, 400));
      assertFrench(page, /Un compte utilise déjà boite@provider\.test/, /An account already uses|we sent/i);

      // Asked again at once: the wait before another code, in French too.
      const again = await agent.postForm("/auth/connections/link/resend", hiddenFields(page));
      assert.equal(again.status, 429);
      assertFrench(
        await again.text(),
        /Nous venons de vous envoyer un code\./,
        /We sent a code|another code in|An account already/,
      );
    });

    it("refuses an administrator's address in French, and a used-up state in the browser's French", async () => {
      const agent = new UserAgent(server.config.issuerUrl);
      const refused = await signInThrough(agent, await provider("chef", { is_trusted: true }));
      assert.equal(refused.status, 403);
      assertFrench(
        await refused.text(),
        /Connectez-vous avec votre mot de passe.*Les administrateurs ne peuvent pas/s,
        /Sign in with your password|Administrators cannot|Back to sign in/,
      );

      const stale = await agent.request("/auth/connections/callback?state=ne-vaut-rien", {
        headers: FRENCH_BROWSER,
      });
      assert.equal(stale.status, 400);
      assertFrench(
        await stale.text(),
        /Cette connexion a expiré ou a déjà été utilisée/,
        /has expired|Go back to the application/,
      );
    });

    it("offers single sign-on, and says a domain has none, in French", async () => {
      const routed = await provider("sso", { home_realm_domains: ["travail.example"] });
      const agent = new UserAgent(server.config.issuerUrl);
      const signInPage = await agent.redirectFrom(authRequest(server, app.clientId));
      const requestId = signInPage.searchParams.get("request")!;
      const page = await (await agent.request(signInPage)).text();
      assert.doesNotMatch(page, new RegExp(`/auth/connections/${routed.id}\\?`));
      assertFrench(page, /Continuer avec l’authentification unique \(SSO\)/, /single sign-on/);

      const entry = await (
        await agent.request(`/auth/connections/sso?request=${encodeURIComponent(requestId)}`)
      ).text();
      assertFrench(entry, /Se connecter par authentification unique/, /Enter your work email|Continue</);
      const nowhere = await agent.postForm("/auth/connections/sso", {
        ...hiddenFields(entry),
        email: "pat@ailleurs.example",
      });
      assert.equal(nowhere.status, 400);
      assertFrench(
        await nowhere.text(),
        /L’authentification unique n’est pas configurée ici pour cette adresse/,
        /is not set up/,
      );
      const unknown = await agent.request(
        `/auth/connections/conn_${"0".repeat(32)}?request=${encodeURIComponent(requestId)}`,
      );
      assert.equal(unknown.status, 400);
      assertFrench(await unknown.text(), /Ce moyen de connexion n’est pas disponible/, /not available/);
    });

    it("refuses the /account callback in the language of the page that started it", async () => {
      const agent = new UserAgent(server.config.issuerUrl);
      // An English browser on /account?lang=fr: the sign-in is asked in French, and its refusal too.
      const start = await agent.redirectFrom("/account?lang=fr", {
        headers: { "accept-language": "en-US,en;q=0.9" },
      });
      assert.equal(start.pathname, "/oauth2/auth");
      assert.equal(start.searchParams.get("lang"), "fr");
      const wrongState = await agent.request("/account/callback?state=autre&code=x", {
        headers: { "accept-language": "en-US,en;q=0.9" },
      });
      assert.equal(wrongState.status, 400);
      assertFrench(
        await wrongState.text(),
        /Vous n’êtes pas connecté.*Cette connexion n’a pas commencé dans ce navigateur/s,
        /not signed in|was not started/,
      );
    });

    it("answers the passkey step in French: options, a stale form, and the script's own words", async () => {
      await server.services.mfa.store.setEnvironmentSettings({ passkeyPolicy: "optional" });
      const agent = new UserAgent(server.config.issuerUrl);
      const signInPage = await agent.redirectFrom(authRequest(server, app.clientId));
      const page = await (await agent.request(signInPage)).text();
      // The script has no catalogue: its words come with the page.
      assert.match(page, /data-closed="La fenêtre de la clé d’accès a été fermée ou a expiré\. Réessayez\."/);
      assert.match(page, /data-unsupported="Ce navigateur ne peut pas utiliser de clés d’accès\."/);
      const { request } = hiddenFields(page);

      const options = await agent.postForm("/auth/passkey/options", { request: request!, csrf: "faux" });
      assert.equal(options.status, 400);
      assert.deepEqual(await options.json(), {
        error: "Cette page de connexion a expiré. Rechargez-la et réessayez.",
      });
      const stale = await agent.postForm("/auth/passkey/sign-in", {
        request: request!,
        csrf: "faux",
        response: "{}",
      });
      assert.equal(stale.status, 403);
      assertFrench(await stale.text(), /Votre session sur cette page a expiré/, /Your session on this page/);
      const forged = await agent.postForm("/auth/passkey/sign-in", { ...hiddenFields(page), response: "{}" });
      assert.equal(forged.status, 400);
      assertFrench(
        await forged.text(),
        /Cette clé d’accès n’a pas pu être utilisée/,
        /That passkey could not be used/,
      );
    });

    it("writes the factor notices in the language given at the send site, English without one", async () => {
      const person = await createUser(server);
      const { mfa } = server.services;
      const addFactor = () =>
        mfa.store.saveFactor({
          userId: person.id,
          type: "mfa:authenticator_app",
          name: "Authenticator app",
          secretSealed: mfa.newSealedSecret(person.id).sealed,
          lastUsedStep: null,
        });
      await addFactor();
      await mfa.reset(person.id, undefined, "user", "fr");
      const [french] = await messagesTo(server, person.email);
      assert.equal(french?.kind, "mfa_notice");
      assert.match(french.text, /Les seconds facteurs du compte/);
      assert.doesNotMatch(french.text, /second factors of the/);

      // Removed by an administrator (the Management API): no language is known, so English.
      const factor = await addFactor();
      await mfa.reset(person.id, factor.id, "admin");
      const notices = await messagesTo(server, person.email);
      assert.equal(notices.length, 2);
      assert.ok(
        notices.some((m) => /The second factors of the/.test(m.text)),
        "the default: English",
      );

      // A number added for codes by text message is named in the notice's language.
      const sms = renderMail(
        { kind: "mfa_notice", change: "factor_added", smsTo: "+33 •• •• •• 42", locale: "fr" },
        { businessName: "Acme", to: "pat@example.com" },
      );
      assert.match(sms.text, /\(des SMS au \+33 •• •• •• 42\)/);
      assert.doesNotMatch(sms.text, /text messages/);
    });
  });
}
