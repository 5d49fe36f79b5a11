// Issue 16, verification at sign-up and sign-in (EMAIL_VERIFICATION=required, the default), on
// SQLite and PostgreSQL: the sign-in is a sequence of steps — a person who proved a password but
// not their address gets a code by e-mail and no session until the code comes back; the code is the
// one in the message, works once, takes five guesses, belongs to this browser, and a session never
// skips the step (prompt=none, an older session).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication } from "../helpers/fixtures.js";
import { codeIn, messagesTo } from "../helpers/mail.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

const PASSWORD = "correct horse battery staple";

for (const { kind, skip } of await databaseKinds()) {
  describe(`e-mail verification during sign-in (${kind})`, { skip }, () => {
    let server: TestServer;
    let spa: { clientId: string };

    before(async () => {
      server = await startTestServer(kind, { env: { EMAIL_VERIFICATION: "required" } });
      spa = await createApplication(server, "spa");
    });
    after(async () => server?.close());

    const address = () => `person-${randomBytes(4).toString("hex")}@example.com`;

    /** The codes in the messages to `email`, read as the recipient would: from their text. */
    async function codesSentTo(email: string): Promise<string[]> {
      return (await messagesTo(server, email)).map((message) => {
        assert.equal(message.kind, "verification_code");
        return codeIn(message.text);
      });
    }

    /** The code in the one message to `email`. */
    async function codeSentTo(email: string): Promise<string> {
      const codes = await codesSentTo(email);
      assert.equal(codes.length, 1);
      return codes[0]!;
    }

    /** Signs up through the hosted page; the code page's hidden fields. */
    async function signUp(browser: UserAgent, email: string) {
      const start = await browser.redirectFrom(
        authorizationUrl(server, spa.clientId, CALLBACK, { prompt: "create" }),
      );
      const hidden = await browser.openForm(new URL(`/auth/sign-up${start.search}`, server.url));
      const reply = await browser.postForm("/auth/sign-up", { ...hidden, email, password: PASSWORD });
      const page = await reply.text();
      assert.equal(reply.status, 200, page.slice(0, 300));
      assert.match(page, /autocomplete="one-time-code"/);
      assert.match(page, /inputmode="numeric"/);
      return { request: hidden.request!, csrf: hidden.csrf! };
    }

    it("sends a code at sign-up, starts no session before it comes back, then finishes at the app", async () => {
      const email = address();
      const browser = new UserAgent(server.url);
      const form = await signUp(browser, email);
      assert.equal(browser.cookie("latchkey_session"), undefined, "no session before the address is proved");
      const user = (await server.services.users.store.findByEmail(email))!;
      assert.equal(user.email_verified, 0);
      // A silent request cannot skip the step.
      const silent = await browser.redirectFrom(
        authorizationUrl(server, spa.clientId, CALLBACK, { prompt: "none" }),
      );
      assert.equal(silent.searchParams.get("error"), "login_required");

      const done = await browser.postForm("/auth/verify-email", { ...form, code: await codeSentTo(email) });
      assert.equal(done.status, 303, await done.text());
      const callback = new URL(done.headers.get("location")!);
      assert.equal(`${callback.origin}${callback.pathname}`, CALLBACK);
      assert.ok(callback.searchParams.get("code"));
      assert.ok(browser.cookie("latchkey_session"));
      assert.equal((await server.services.users.store.findById(user.id))!.email_verified, 1);
    });

    it("takes five wrong codes, then refuses the right one until a new code is sent", async () => {
      const email = address();
      const browser = new UserAgent(server.url);
      const form = await signUp(browser, email);
      const code = await codeSentTo(email);
      const wrong = code === "000000" ? "111111" : "000000";
      for (let i = 0; i < 5; i++) {
        const reply = await browser.postForm("/auth/verify-email", { ...form, code: wrong });
        assert.equal(reply.status, 400);
        assert.match(await reply.text(), i < 4 ? /not right/ : /can no longer be used/);
      }
      const dead = await browser.postForm("/auth/verify-email", { ...form, code });
      assert.equal(dead.status, 400);
      assert.match(await dead.text(), /can no longer be used/);
      // A new code needs the cool-down to pass; it is then the only one that works.
      const tooSoon = await browser.postForm("/auth/verify-email/resend", form);
      assert.equal(tooSoon.status, 429);
      assert.ok(Number(tooSoon.headers.get("retry-after")) > 0);
      await server.storage.db.deleteFrom("rate_limits").where("key", "like", `code:cool-down:%`).execute();
      const resent = await browser.postForm("/auth/verify-email/resend", form);
      assert.equal(resent.status, 200);
      assert.match(await resent.text(), /new code/);
      const codes = await codesSentTo(email);
      assert.equal(codes.length, 2);
      const fresh = codes.find((c) => c !== code)!;
      const done = await browser.postForm("/auth/verify-email", { ...form, code: fresh });
      assert.equal(done.status, 303);
    });

    it("belongs to the browser that signed up: another one with the request id and the code gets nothing", async () => {
      const email = address();
      const form = await signUp(new UserAgent(server.url), email);
      const other = new UserAgent(server.url);
      await other.openForm(new URL(`/auth/sign-in?request=${form.request}`, server.url));
      const csrf = other.cookie("latchkey_csrf")!;
      const reply = await other.postForm("/auth/verify-email", {
        request: form.request,
        csrf,
        code: await codeSentTo(email),
      });
      assert.equal(reply.status, 400);
      assert.equal(other.cookie("latchkey_session"), undefined);
      assert.equal((await server.services.users.store.findByEmail(email))!.email_verified, 0);
    });

    it("asks an account that never proved its address at sign-in, and lets a verified one straight through", async () => {
      const email = address();
      await server.services.users.create({ email, password: PASSWORD });
      const browser = new UserAgent(server.url);
      const start = await browser.redirectFrom(authorizationUrl(server, spa.clientId, CALLBACK));
      const hidden = await browser.openForm(new URL(`/auth/sign-in${start.search}`, server.url));
      const reply = await browser.postForm("/auth/sign-in", { ...hidden, email, password: PASSWORD });
      assert.equal(reply.status, 200);
      assert.match(await reply.text(), /Check your email/);
      const done = await browser.postForm("/auth/verify-email", { ...hidden, code: await codeSentTo(email) });
      assert.equal(done.status, 303);

      const verified = address();
      await server.services.users.create({ email: verified, password: PASSWORD, emailVerified: true });
      const straight = await new UserAgent(server.url).authorize(
        authorizationUrl(server, spa.clientId, CALLBACK),
        {
          email: verified,
          password: PASSWORD,
        },
      );
      assert.ok(straight.searchParams.get("code"));
    });

    it("does not sign in silently with a session whose address is no longer verified", async () => {
      const email = address();
      await server.services.users.create({ email, password: PASSWORD, emailVerified: true });
      const browser = new UserAgent(server.url);
      await browser.authorize(authorizationUrl(server, spa.clientId, CALLBACK), {
        email,
        password: PASSWORD,
      });
      await server.storage.db
        .updateTable("users")
        .set({ email_verified: 0 })
        .where("email", "=", email)
        .execute();
      const silent = await browser.redirectFrom(
        authorizationUrl(server, spa.clientId, CALLBACK, { prompt: "none" }),
      );
      assert.equal(silent.searchParams.get("error"), "login_required");
    });
  });
}

describe("EMAIL_CODE_LIFETIME_SECONDS", () => {
  it("sets how long a code lives, as the page and the message say", async () => {
    const server = await startTestServer("sqlite", {
      env: { EMAIL_VERIFICATION: "required", EMAIL_CODE_LIFETIME_SECONDS: "600" },
    });
    try {
      const spa = await createApplication(server, "spa");
      const browser = new UserAgent(server.url);
      const start = await browser.redirectFrom(
        authorizationUrl(server, spa.clientId, CALLBACK, { prompt: "create" }),
      );
      const hidden = await browser.openForm(new URL(`/auth/sign-up${start.search}`, server.url));
      const email = `short-${randomBytes(4).toString("hex")}@example.com`;
      const reply = await browser.request("/auth/sign-up", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ ...hidden, email, password: PASSWORD }),
      });
      assert.match(await reply.text(), /valid for 10 minutes/);
      const code = await server.storage.db
        .selectFrom("one_time_codes")
        .select(["created_at", "expires_at"])
        .where("email", "=", email)
        .executeTakeFirstOrThrow();
      assert.equal(code.expires_at - code.created_at, 600);
      const [message] = await messagesTo(server, email);
      assert.match(message?.text ?? "", /10 minutes/);
    } finally {
      await server.close();
    }
  });
});
