// Proving an address by e-mail code before linking a provider account (issue 17), on SQLite and
// PostgreSQL, with a certified OpenID provider (oidc-provider) started by the test: a connection
// that does not vouch for an address an account has sends a code there; a wrong code, a code typed
// in another browser, or nothing typed links nothing; the right code from the same browser links
// the provider account and signs in (amr ext + otp); an account that never proved its address loses
// the password and providers someone may have added to it; an administrator's address gets no code.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { ExternalIdentitiesStore } from "../../src/users/external-identities.store.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { codeIn, messagesTo } from "../helpers/mail.js";
import { type OidcProviderHandle, startOidcProvider } from "../helpers/oauth-provider.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";

const ADMIN = { email: "chief@provider.test", password: "a root password nobody guesses" };

function authRequest(server: TestServer, clientId: string, extra: Record<string, string> = {}): URL {
  const url = new URL("/oauth2/auth", server.url);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: CALLBACK,
    scope: "openid",
    code_challenge: createHash("sha256").update(randomBytes(32).toString("base64url")).digest("base64url"),
    code_challenge_method: "S256",
    ...extra,
  }).toString();
  return url;
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`linking a provider account after an e-mail code (${kind})`, { skip }, () => {
    let server: TestServer;
    let app: { clientId: string };
    const providers: OidcProviderHandle[] = [];

    before(async () => {
      server = await startTestServer(kind, {
        env: {
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

    /** A provider whose account `accountId` has the address accountId@provider.test. */
    async function provider(accountId: string, options: { trusted?: boolean; claims?: object } = {}) {
      const op = await startOidcProvider({
        redirectUri: `${server.url}/auth/connections/callback`,
        accountId,
        scopes: ["profile", "email"],
        accountClaims: { ...options.claims },
      });
      providers.push(op);
      const connection = await server.services.connections.create({
        name: `idp-${randomBytes(4).toString("hex")}`,
        displayName: "Example IdP",
        strategy: "oidc:custom",
        options: {
          client_id: op.clientId,
          client_secret: op.clientSecret,
          issuer: op.issuer,
          is_trusted: options.trusted ?? false,
        },
        enabledApplications: [app.clientId],
      });
      return { op, id: connection.id };
    }

    /** Signs in through the connection in `agent`; Latchkey's answer at the callback. */
    async function signInThrough(agent: UserAgent, through: { op: OidcProviderHandle; id: string }) {
      let next = authRequest(server, app.clientId, { connection_id: through.id });
      for (let hop = 0; hop < 3 && next.origin === server.url; hop++) next = await agent.redirectFrom(next);
      return agent.request(await through.op.authorize(next));
    }

    /** The hidden fields of a page's first form (request id, CSRF token). */
    function hiddenFields(page: string): Record<string, string> {
      const fields: Record<string, string> = {};
      for (const match of page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
        fields[match[1]!] ??= match[2]!;
      return fields;
    }

    async function lastCodeTo(email: string): Promise<{ kind: string; code: string }> {
      const [last] = await messagesTo(server, email);
      assert.ok(last, `a message to ${email}`);
      return { kind: last.kind, code: codeIn(last.text) };
    }

    const linkedTo = async (userId: string) =>
      (await new ExternalIdentitiesStore(server.storage.db).ofUser(userId)).map((i) => i.connection_id);

    it("sends a code to the account's address and links only when the same browser returns it", async () => {
      const person = await createUser(server, { email: "mailbox@provider.test" });
      const untrusted = await provider("mailbox");
      const agent = new UserAgent(server.url);
      const shown = await signInThrough(agent, untrusted);
      const page = await shown.text();
      assert.equal(shown.status, 200, page.slice(0, 400));
      assert.match(page, /Check your email/);
      assert.match(page, /action="\/auth\/connections\/link"/);
      assert.deepEqual(await linkedTo(person.id), [], "nothing linked before the code");
      const form = hiddenFields(page);
      const { kind: mailKind, code } = await lastCodeTo(person.email);
      assert.equal(mailKind, "verification_code");

      // A wrong code: the page again, nothing linked, and the failure in the authentication log.
      const wrongCode = code === "000000" ? "111111" : "000000";
      const wrong = await agent.postForm("/auth/connections/link", { ...form, code: wrongCode });
      assert.equal(wrong.status, 400);
      assert.match(await wrong.text(), /not right/);
      // The right code from another browser (the request id and code stolen) does nothing either.
      const thief = new UserAgent(server.url);
      await thief.request(await thief.redirectFrom(authRequest(server, app.clientId)));
      const csrf = thief.cookie("latchkey_csrf");
      assert.ok(csrf, "the thief holds a CSRF cookie of its own (only the browser binding differs)");
      const stolen = await thief.postForm("/auth/connections/link", { request: form.request!, csrf, code });
      assert.notEqual(stolen.status, 303);
      assert.match(await stolen.text(), /expired/i);
      assert.deepEqual(await linkedTo(person.id), []);

      const done = await agent.postForm("/auth/connections/link", { ...form, code });
      assert.equal(done.status, 303, await done.clone().text());
      const back = new URL(done.headers.get("location")!);
      assert.equal(back.origin + back.pathname, CALLBACK);
      assert.ok(back.searchParams.get("code"));
      assert.deepEqual(await linkedTo(person.id), [untrusted.id]);
      await server.services.authenticationLog.flush();
      const log = await server.storage.db
        .selectFrom("authentication_log")
        .select(["type", "method"])
        .where("user_id", "=", person.id)
        .execute();
      assert.ok(log.some((e) => e.type === "sign_in_failed" && e.method === "email_code"));
      assert.ok(log.some((e) => e.type === "sign_in" && e.method === "ext+email_code"));

      // The code is spent, and the next sign-in through the provider needs none.
      const replay = await agent.postForm("/auth/connections/link", { ...form, code });
      assert.notEqual(replay.status, 303);
      const again = await signInThrough(new UserAgent(server.url), untrusted);
      assert.equal(again.status, 303);
      assert.ok(new URL(again.headers.get("location")!).searchParams.get("code"));
    });

    it("sends the code also for a trusted, verified address whose account never proved it, and ends that account's password", async () => {
      const email = "unproven@provider.test";
      const squatted = await server.services.users.create({ email, password: "someone else's passphrase" });
      const trusted = await provider("unproven", { trusted: true });
      const agent = new UserAgent(server.url);
      const shown = await signInThrough(agent, trusted);
      const page = await shown.text();
      assert.equal(shown.status, 200, page.slice(0, 400));
      const done = await agent.postForm("/auth/connections/link", {
        ...hiddenFields(page),
        code: (await lastCodeTo(email)).code,
      });
      assert.equal(done.status, 303, await done.clone().text());
      const user = (await server.services.users.store.findById(squatted.id))!;
      assert.equal(user.email_verified, 1, "the code proved the address");
      assert.equal(user.password_hash, null, "the password set before the address was proved is gone");
      assert.deepEqual(await linkedTo(squatted.id), [trusted.id]);
    });

    it("unlinks a provider that made an account on an address it does not vouch for, once the mailbox's owner signs in by code", async () => {
      // Someone controls a provider account whose unchecked `email` claim is another person's
      // address (the nOAuth pattern) and signs in first: the account is made on their word.
      const email = "early-bird@provider.test";
      const squatting = await provider("early-bird");
      const squatter = new UserAgent(server.url);
      await signInThrough(squatter, squatting);
      const made = (await server.services.users.store.findByEmail(email))!;
      assert.equal(made.email_verified, 0);
      assert.deepEqual(await linkedTo(made.id), [squatting.id]);

      // The address's owner signs in by a code sent to it (a minute later: the cool-down per address).
      await server.storage.db
        .deleteFrom("rate_limits")
        .where("key", "=", `code:cool-down:${email}`)
        .execute();
      const owner = new UserAgent(server.url);
      const start = await owner.redirectFrom(authRequest(server, app.clientId));
      const hidden = await owner.openForm(new URL(`/auth/email-code${start.search}`, server.url));
      assert.equal((await owner.postForm("/auth/email-code", { ...hidden, email })).status, 200);
      const { code } = await lastCodeTo(email);
      const signedIn = await owner.postForm("/auth/email-code/verify", { ...hidden, code });
      assert.equal(signedIn.status, 303, await signedIn.clone().text());
      assert.equal((await server.services.users.store.findById(made.id))!.email_verified, 1);
      assert.deepEqual(await linkedTo(made.id), [], "the provider linked before the proof is unlinked");

      // The provider's word alone no longer signs in: it needs the code the owner now receives.
      await server.storage.db
        .deleteFrom("rate_limits")
        .where("key", "=", `code:cool-down:${email}`)
        .execute();
      const again = await signInThrough(new UserAgent(server.url), squatting);
      const page = await again.text();
      assert.equal(again.status, 200, page.slice(0, 400));
      assert.match(page, /action="\/auth\/connections\/link"/);
      assert.deepEqual(await linkedTo(made.id), []);
    });

    it("sends no code for an administrator's address", async () => {
      const chief = await provider("chief");
      const before = await server.storage.db
        .selectFrom("mail_messages")
        .select("id")
        .where("to_address", "=", ADMIN.email)
        .execute();
      const response = await signInThrough(new UserAgent(server.url), chief);
      assert.equal(response.status, 403);
      assert.match(await response.text(), /administrator account/);
      const afterwards = await server.storage.db
        .selectFrom("mail_messages")
        .select("id")
        .where("to_address", "=", ADMIN.email)
        .execute();
      assert.equal(afterwards.length, before.length, "no code mailed");
    });
  });
}
