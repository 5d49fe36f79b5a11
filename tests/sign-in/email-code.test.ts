// Issue 16, passwordless sign-in and forgotten passwords by e-mail code, on SQLite and PostgreSQL:
// the code in the message signs in (and verifies the address); a reset signs out every holder of
// the old password (sessions and refresh tokens) and tells the owner; an address without an account
// gets the same pages and answers, and no mail.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication } from "../helpers/fixtures.js";
import { codeIn, messagesTo as outbox } from "../helpers/mail.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

const PASSWORD = "correct horse battery staple";

for (const { kind, skip } of await databaseKinds()) {
  describe(`e-mail codes: passwordless sign-in and password reset (${kind})`, { skip }, () => {
    let server: TestServer;
    let spa: { clientId: string };

    before(async () => {
      server = await startTestServer(kind, { env: { EMAIL_VERIFICATION: "required" } });
      spa = await createApplication(server, "spa");
    });
    after(async () => server?.close());

    const address = () => `person-${randomBytes(4).toString("hex")}@example.com`;

    const messagesTo = (email: string) => outbox(server, email);

    /** Opens `flow` (/auth/email-code or /auth/forgot-password) and asks for a code to `email`. */
    async function askForCode(
      browser: UserAgent,
      flow: string,
      email: string,
      extra: Record<string, string> = {},
    ) {
      const start = await browser.redirectFrom(authorizationUrl(server, spa.clientId, CALLBACK, extra));
      const hidden = await browser.openForm(new URL(`${flow}${start.search}`, server.url));
      const reply = await browser.postForm(flow, { ...hidden, email });
      const page = await reply.text();
      assert.equal(reply.status, 200, page.slice(0, 300));
      return { hidden, page };
    }

    it("signs in an account without a password by the code in its e-mail, verifying the address", async () => {
      const email = address();
      const user = await server.services.users.create({ email });
      const browser = new UserAgent(server.url);
      const { hidden, page } = await askForCode(browser, "/auth/email-code", email);
      assert.match(page, /autocomplete="one-time-code"/);
      const [message] = await messagesTo(email);
      assert.equal(message!.kind, "sign_in_code");
      const done = await browser.postForm("/auth/email-code/verify", {
        ...hidden,
        code: codeIn(message!.text),
      });
      assert.equal(done.status, 303, await done.text());
      assert.ok(new URL(done.headers.get("location")!).searchParams.get("code"));
      assert.equal((await server.services.users.store.findById(user.id))!.email_verified, 1);
    });

    it("answers an address without an account exactly like one with, and sends nothing", async () => {
      const known = address();
      await server.services.users.create({ email: known, password: PASSWORD, emailVerified: true });
      const unknown = address();
      const pages: string[] = [];
      const guesses: string[] = [];
      for (const email of [known, unknown]) {
        const browser = new UserAgent(server.url);
        const { hidden, page } = await askForCode(browser, "/auth/forgot-password", email);
        pages.push(page.replaceAll(email, "EMAIL").replace(/value="[^"]*"/g, 'value=""'));
        const wrong = await browser.postForm("/auth/forgot-password/verify", {
          ...hidden,
          code: "000000",
          password: "a new long passphrase",
        });
        guesses.push(`${wrong.status} ${(await wrong.text()).includes("4 more times")}`);
      }
      assert.equal(pages[0], pages[1]);
      assert.equal(guesses[0], guesses[1]);
      assert.equal((await messagesTo(unknown)).length, 0);
    });

    it("resets a forgotten password: old password, sessions and refresh tokens stop working; the owner is told", async () => {
      const email = address();
      await server.services.users.create({ email, password: PASSWORD, emailVerified: true });
      // Signed in elsewhere with a refresh token.
      const elsewhere = new UserAgent(server.url);
      const verifier = randomBytes(32).toString("base64url");
      const challenge = createHash("sha256").update(verifier).digest("base64url");
      const url = authorizationUrl(server, spa.clientId, CALLBACK, {
        scope: "openid offline",
        code_challenge: challenge,
      });
      const callback = await elsewhere.authorize(url, { email, password: PASSWORD });
      const tokenReply = await fetch(`${server.url}/oauth2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "authorization_code",
          client_id: spa.clientId,
          code: callback.searchParams.get("code")!,
          redirect_uri: CALLBACK,
          code_verifier: verifier,
        }),
      });
      const { refresh_token } = (await tokenReply.json()) as { refresh_token: string };
      assert.ok(refresh_token);

      const browser = new UserAgent(server.url);
      const { hidden } = await askForCode(browser, "/auth/forgot-password", email);
      const code = codeIn((await messagesTo(email))[0]!.text);
      // A common password is refused before the code is spent.
      const weak = await browser.postForm("/auth/forgot-password/verify", {
        ...hidden,
        code,
        password: "password123",
      });
      assert.equal(weak.status, 400);
      assert.match(await weak.text(), /too common/);
      const done = await browser.postForm("/auth/forgot-password/verify", {
        ...hidden,
        code,
        password: "a brand new passphrase",
      });
      assert.equal(done.status, 303, await done.text());

      const refreshed = await fetch(`${server.url}/oauth2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "refresh_token", client_id: spa.clientId, refresh_token }),
      });
      assert.equal(refreshed.status, 400, "the old refresh token is refused");
      const silent = await elsewhere.redirectFrom(
        authorizationUrl(server, spa.clientId, CALLBACK, { prompt: "none" }),
      );
      assert.equal(silent.searchParams.get("error"), "login_required", "the other session ended");
      const notices = await messagesTo(email);
      assert.deepEqual(notices.map((m) => m.kind).sort(), ["password_changed", "password_reset_code"]);
      await assert.rejects(
        new UserAgent(server.url).authorize(authorizationUrl(server, spa.clientId, CALLBACK), {
          email,
          password: PASSWORD,
        }),
        /expected a redirect/,
      );
      const fresh = await new UserAgent(server.url).authorize(
        authorizationUrl(server, spa.clientId, CALLBACK),
        {
          email,
          password: "a brand new passphrase",
        },
      );
      assert.ok(fresh.searchParams.get("code"));
    });

    it("identifies nobody by sending a code: the later steps refuse a sign-in that proved nothing", async () => {
      // The victim must choose a new password at the next sign-in (an administrator asked).
      const email = address();
      const victim = await server.services.users.create({ email, password: PASSWORD, emailVerified: true });
      await server.services.users.update(victim.id, {}, undefined, true);
      const before = (await server.services.users.store.findById(victim.id))!.password_hash;
      const attacker = new UserAgent(server.url);
      const { hidden } = await askForCode(attacker, "/auth/email-code", email);
      for (const [path, fields] of [
        ["/auth/choose-password", { password: "the attacker's own passphrase" }],
        ["/auth/verify-email/resend", {}],
        ["/auth/verify-email", { code: "123456" }],
      ] as const) {
        const reply = await attacker.postForm(path, { ...hidden, ...fields });
        assert.equal(reply.status, 400, path);
      }
      assert.equal((await server.services.users.store.findById(victim.id))!.password_hash, before);
      assert.equal(attacker.cookie("latchkey_session"), undefined);
    });

    it("ends a password set by whoever claimed an address first, when its owner signs in by code", async () => {
      const email = address();
      // Someone signs up with another person's address and a password of their own; unverified.
      const squatter = new UserAgent(server.url);
      const start = await squatter.redirectFrom(
        authorizationUrl(server, spa.clientId, CALLBACK, { prompt: "create" }),
      );
      const signUpForm = await squatter.openForm(new URL(`/auth/sign-up${start.search}`, server.url));
      const signedUp = await squatter.postForm("/auth/sign-up", { ...signUpForm, email, password: PASSWORD });
      assert.equal(signedUp.status, 200);
      // A minute later (the cool-down per address), the mailbox's owner signs in with a code.
      await server.storage.db
        .deleteFrom("rate_limits")
        .where("key", "=", `code:cool-down:${email}`)
        .execute();
      const owner = new UserAgent(server.url);
      const { hidden } = await askForCode(owner, "/auth/email-code", email);
      const code = codeIn((await messagesTo(email)).find((m) => m.kind === "sign_in_code")!.text);
      const done = await owner.postForm("/auth/email-code/verify", { ...hidden, code });
      assert.equal(done.status, 303);
      // The squatter's password opens nothing any more.
      await assert.rejects(
        new UserAgent(server.url).authorize(authorizationUrl(server, spa.clientId, CALLBACK), {
          email,
          password: PASSWORD,
        }),
        /expected a redirect/,
      );
    });

    it("limits the codes one network may ask for, across addresses", async () => {
      const browser = new UserAgent(server.url);
      const start = await browser.redirectFrom(authorizationUrl(server, spa.clientId, CALLBACK));
      const hidden = await browser.openForm(new URL(`/auth/email-code${start.search}`, server.url));
      await server.storage.db.deleteFrom("rate_limits").where("key", "like", "code:network:%").execute();
      const statuses: number[] = [];
      for (let i = 0; i < 31; i++)
        statuses.push((await browser.postForm("/auth/email-code", { ...hidden, email: address() })).status);
      assert.deepEqual(statuses.slice(0, 30), Array(30).fill(200));
      assert.equal(statuses[30], 429);
      await server.storage.db.deleteFrom("rate_limits").where("key", "like", "code:network:%").execute();
    });

    it("belongs to the browser that asked: another one with the request id and the code gets nothing", async () => {
      const email = address();
      await server.services.users.create({ email, password: PASSWORD, emailVerified: true });
      const { hidden } = await askForCode(new UserAgent(server.url), "/auth/email-code", email);
      const other = new UserAgent(server.url);
      await other.openForm(new URL(`/auth/sign-in?request=${hidden.request}`, server.url));
      const code = codeIn((await messagesTo(email))[0]!.text);
      const reply = await other.postForm("/auth/email-code/verify", {
        request: hidden.request!,
        csrf: other.cookie("latchkey_csrf")!,
        code,
      });
      assert.equal(reply.status, 400);
      assert.equal(other.cookie("latchkey_session"), undefined);
    });
  });
}
