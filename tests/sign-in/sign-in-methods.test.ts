// Issue 16, which methods the sign-in page offers (password, e-mail code), on SQLite and PostgreSQL:
// set through the Management API extension (scopes enforced, Kinde's error shape for bad bodies,
// both off refused), honoured by the pages and by the server behind them — a turned-off method is
// refused without anything being checked — while codes that verify an address or reset a password
// keep working; a user created through the Management API without a password signs in by code; a
// change made anywhere (plain SQL included) shows on the very next page.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, beforeEach, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { codeIn, messagesTo as outbox } from "../helpers/mail.js";
import { callApi, managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

const PATH = "/api/v1/business/sign_in_methods";

interface MethodsBody {
  code: string;
  message: string;
  sign_in_methods: { password: boolean; email_code: boolean };
}
interface ErrorBody {
  errors: { code: string; message: string }[];
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`sign-in methods (${kind})`, { skip }, () => {
    let server: TestServer;
    let spa: { clientId: string };

    before(async () => {
      server = await startTestServer(kind, { env: { EMAIL_VERIFICATION: "required" } });
      spa = await createApplication(server, "spa");
    });
    after(async () => server?.close());
    // Every test starts from the default, whatever the one before it left.
    beforeEach(async () => {
      await server.services.business.setSignInMethods({ password: true, email_code: true });
      await server.storage.db.deleteFrom("rate_limits").execute();
    });

    const address = () => `person-${randomBytes(4).toString("hex")}@example.com`;

    const setMethods = (methods: { password: boolean; email_code: boolean }) =>
      callApi<MethodsBody>(server, "PUT", PATH, { body: methods });

    const messagesTo = (email: string) => outbox(server, email);

    /** Starts a sign-in and opens `page` (/auth/sign-in, /auth/sign-up …): its reply and the request id. */
    async function open(browser: UserAgent, page = "/auth/sign-in") {
      const start = await browser.redirectFrom(authorizationUrl(server, spa.clientId, CALLBACK));
      const reply = await browser.request(new URL(`${page}${start.search}`, server.url));
      const html = await reply.text();
      const hidden = {
        request: start.searchParams.get("request")!,
        csrf: browser.cookie("latchkey_csrf")!,
      };
      return { status: reply.status, html, hidden };
    }

    /** Asks for a sign-in code to `email` on the page's form and types the one that arrives. */
    async function signInByCode(browser: UserAgent, hidden: Record<string, string>, email: string) {
      const asked = await browser.postForm("/auth/email-code", { ...hidden, email });
      assert.equal(asked.status, 200, (await asked.text()).slice(0, 300));
      const message = (await messagesTo(email)).find((m) => m.kind === "sign_in_code");
      assert.ok(message, "a sign-in code was mailed");
      return browser.postForm("/auth/email-code/verify", { ...hidden, code: codeIn(message.text) });
    }

    /** The throttle rows a password check writes first (browser-sign-in.ts): none means nothing was checked. */
    async function throttleRows(email: string) {
      return server.storage.db
        .selectFrom("rate_limits")
        .select("key")
        .where("key", "like", `sign-in:%${email}%`)
        .execute();
    }

    it("offers both methods by default, and says so through the Management API", async () => {
      const read = await callApi<MethodsBody>(server, "GET", PATH);
      assert.equal(read.status, 200);
      assert.deepEqual(read.body, {
        code: "OK",
        message: "Success",
        sign_in_methods: { password: true, email_code: true },
      });
      const { status, html } = await open(new UserAgent(server.url));
      assert.equal(status, 200);
      assert.match(html, /<input id="password" name="password" type="password"/);
      assert.match(html, />Forgot your password\?</);
      assert.match(html, />Email me a sign-in code</);
    });

    it("with passwords off: no password form or reset link, a posted password is refused unchecked, a code signs in", async () => {
      const user = await createUser(server);
      const set = await setMethods({ password: false, email_code: true });
      assert.equal(set.status, 200);
      assert.deepEqual(set.body.sign_in_methods, { password: false, email_code: true });

      const browser = new UserAgent(server.url);
      const { status, html, hidden } = await open(browser);
      assert.equal(status, 200);
      assert.doesNotMatch(html, /type="password"/);
      assert.doesNotMatch(html, /Forgot your password/);
      assert.match(html, /<form method="post" action="\/auth\/email-code"/);
      assert.match(html, />Email me a sign-in code</);

      // The right password, posted anyway (a page loaded before the change, or crafted).
      const posted = await browser.postForm("/auth/sign-in", {
        ...hidden,
        email: user.email,
        password: user.password,
      });
      assert.equal(posted.status, 403);
      const refusal = await posted.text();
      assert.match(refusal, /Signing in with a password is turned off here/);
      assert.doesNotMatch(refusal, /type="password"/, "the page offers the code instead");
      assert.equal(posted.headers.get("location"), null);
      assert.equal(browser.cookie("latchkey_session"), undefined);
      assert.deepEqual(await throttleRows(user.email), [], "nothing was counted or checked");
      const after = (await server.services.users.store.findById(user.id))!;
      assert.equal(after.last_signed_in_at, null);
      assert.equal(after.failed_sign_ins, 0);

      // A password reset is no use without passwords: refused, and no code is mailed.
      for (const reset of [
        await browser.request(`/auth/forgot-password?request=${hidden.request}`),
        await browser.postForm("/auth/forgot-password", { ...hidden, email: user.email }),
      ]) {
        assert.equal(reset.status, 403);
        assert.match(await reset.text(), /Passwords are not used to sign in here/);
      }
      assert.deepEqual(await messagesTo(user.email), []);

      const done = await signInByCode(browser, hidden, user.email);
      assert.equal(done.status, 303, await done.text());
      assert.ok(new URL(done.headers.get("location")!).searchParams.get("code"));
    });

    it("with passwords off: sign-up asks for no password and proves the address by code", async () => {
      await setMethods({ password: false, email_code: true });
      const email = address();
      const browser = new UserAgent(server.url);
      const { html, hidden } = await open(browser, "/auth/sign-up");
      assert.doesNotMatch(html, /type="password"/);

      const withPassword = await browser.postForm("/auth/sign-up", {
        ...hidden,
        email,
        password: "a long enough passphrase",
      });
      assert.equal(withPassword.status, 403);
      assert.match(await withPassword.text(), /Passwords are turned off here/);
      assert.equal(await server.services.users.store.findByEmail(email), undefined);

      const signedUp = await browser.postForm("/auth/sign-up", { ...hidden, email, given_name: "Ada" });
      assert.equal(signedUp.status, 200);
      assert.match(await signedUp.text(), /autocomplete="one-time-code"/);
      const user = (await server.services.users.store.findByEmail(email))!;
      assert.equal(user.password_hash, null);
      assert.equal(user.given_name, "Ada");
      const [message] = await messagesTo(email);
      assert.equal(message!.kind, "sign_in_code");
      const done = await browser.postForm("/auth/email-code/verify", {
        ...hidden,
        code: codeIn(message!.text),
      });
      assert.equal(done.status, 303, await done.text());
      assert.equal((await server.services.users.store.findById(user.id))!.email_verified, 1);

      // Signing up again with the same address looks the same and mails its owner a code.
      await server.storage.db.deleteFrom("rate_limits").execute();
      const again = new UserAgent(server.url);
      const second = await open(again, "/auth/sign-up");
      const repeat = await again.postForm("/auth/sign-up", { ...second.hidden, email });
      assert.equal(repeat.status, 200);
      assert.equal((await messagesTo(email)).filter((m) => m.kind === "sign_in_code").length, 2);
    });

    it("with passwords off: a new password an administrator asked for is not demanded of a code sign-in", async () => {
      const user = await createUser(server);
      await server.services.users.update(user.id, {}, undefined, true);
      await setMethods({ password: false, email_code: true });
      const browser = new UserAgent(server.url);
      const { hidden } = await open(browser);
      const done = await signInByCode(browser, hidden, user.email);
      assert.equal(done.status, 303, "no choose-a-password step");
      // The demand stands for when passwords are back.
      assert.equal((await server.services.users.store.findById(user.id))!.password_change_required, 1);
    });

    it("with e-mail codes off: no code link, the code routes refuse, verification and reset codes still work", async () => {
      const user = await createUser(server);
      // A code asked for while codes were on, typed after they went off, is not even checked.
      const early = new UserAgent(server.url);
      const earlyPage = await open(early);
      assert.equal(
        (await early.postForm("/auth/email-code", { ...earlyPage.hidden, email: user.email })).status,
        200,
      );
      const earlyCode = codeIn((await messagesTo(user.email))[0]!.text);

      const set = await setMethods({ password: true, email_code: false });
      assert.deepEqual(set.body.sign_in_methods, { password: true, email_code: false });

      const browser = new UserAgent(server.url);
      const { html, hidden } = await open(browser);
      assert.match(html, /type="password"/);
      assert.match(html, />Forgot your password\?</);
      assert.doesNotMatch(html, /Email me a sign-in code/);
      assert.doesNotMatch(html, /\/auth\/email-code/);

      const before = (await messagesTo(user.email)).length;
      for (const reply of [
        await browser.request(`/auth/email-code?request=${hidden.request}`),
        await browser.postForm("/auth/email-code", { ...hidden, email: user.email }),
      ]) {
        assert.equal(reply.status, 403);
        const page = await reply.text();
        assert.match(page, /Signing in with a code by email is turned off here/);
        assert.match(page, /type="password"/, "the password form is offered instead");
      }
      assert.equal((await messagesTo(user.email)).length, before, "no code was mailed");
      const late = await early.postForm("/auth/email-code/verify", { ...earlyPage.hidden, code: earlyCode });
      assert.equal(late.status, 403);
      assert.equal(early.cookie("latchkey_session"), undefined);
      const unused = await server.storage.db
        .selectFrom("one_time_codes")
        .select(["consumed_at", "attempts"])
        .where("email", "=", user.email)
        .where("purpose", "=", "sign_in")
        .executeTakeFirstOrThrow();
      assert.deepEqual(unused, { consumed_at: null, attempts: 0 }, "the code was not checked");

      // Passwords still sign in.
      const signedIn = await new UserAgent(server.url).authorize(
        authorizationUrl(server, spa.clientId, CALLBACK),
        user,
      );
      assert.ok(signedIn.searchParams.get("code"));

      // Verifying an address is no sign-in method: an unverified account still gets its code.
      const unverified = address();
      await server.services.users.create({ email: unverified, password: "unverified passphrase" });
      const verifying = new UserAgent(server.url);
      const page = await open(verifying);
      const step = await verifying.postForm("/auth/sign-in", {
        ...page.hidden,
        email: unverified,
        password: "unverified passphrase",
      });
      assert.equal(step.status, 200);
      assert.match(await step.text(), /autocomplete="one-time-code"/);
      const verification = (await messagesTo(unverified))[0]!;
      assert.equal(verification.kind, "verification_code");
      const verified = await verifying.postForm("/auth/verify-email", {
        ...page.hidden,
        code: codeIn(verification.text),
      });
      assert.equal(verified.status, 303, await verified.text());
    });

    it("with e-mail codes off, a user without a password is told how to get one, and gets one by the reset", async () => {
      await setMethods({ password: true, email_code: false });
      const email = address();
      const created = await callApi<{ id: string }>(server, "POST", "/api/v1/user", {
        body: { identities: [{ type: "email", details: { email } }] },
      });
      assert.equal(created.status, 200);

      const browser = new UserAgent(server.url);
      const { html, hidden } = await open(browser);
      assert.match(html, /No password yet, because someone made your account for you\?/);
      const attempt = await browser.postForm("/auth/sign-in", {
        ...hidden,
        email,
        password: "any guess at all",
      });
      assert.equal(attempt.status, 401);
      const text = await attempt.text();
      assert.match(text, /Incorrect email or password\. If you have no password yet, choose one with/);

      // The same words for an address without an account: they tell nobody which accounts have none.
      const stranger = new UserAgent(server.url);
      const strangerPage = await open(stranger);
      const unknown = await stranger.postForm("/auth/sign-in", {
        ...strangerPage.hidden,
        email: address(),
        password: "any guess at all",
      });
      assert.match(await unknown.text(), /If you have no password yet, choose one with/);

      const asked = await browser.postForm("/auth/forgot-password", { ...hidden, email });
      assert.equal(asked.status, 200);
      const reset = (await messagesTo(email))[0]!;
      assert.equal(reset.kind, "password_reset_code");
      const chosen = await browser.postForm("/auth/forgot-password/verify", {
        ...hidden,
        code: codeIn(reset.text),
        password: "my very own new passphrase",
      });
      assert.equal(chosen.status, 303, await chosen.text());
      const later = await new UserAgent(server.url).authorize(
        authorizationUrl(server, spa.clientId, CALLBACK),
        {
          email,
          password: "my very own new passphrase",
        },
      );
      assert.ok(later.searchParams.get("code"));
    });

    it("signs in a user created through the Management API without a password by the code in its e-mail", async () => {
      const email = address();
      const created = await callApi<{ id: string; created: boolean }>(server, "POST", "/api/v1/user", {
        body: {
          profile: { given_name: "Grace" },
          identities: [{ type: "email", details: { email } }],
        },
      });
      assert.equal(created.status, 200);
      assert.equal((await server.services.users.store.findById(created.body.id))!.password_hash, null);
      const browser = new UserAgent(server.url);
      const { hidden } = await open(browser);
      const done = await signInByCode(browser, hidden, email);
      assert.equal(done.status, 303, await done.text());
      const callback = new URL(done.headers.get("location")!);
      assert.equal(`${callback.origin}${callback.pathname}`, CALLBACK);
      assert.ok(callback.searchParams.get("code"));
      assert.equal((await server.services.users.store.findById(created.body.id))!.email_verified, 1);
    });

    it("refuses turning both methods off, and leaves the setting as it was", async () => {
      await setMethods({ password: false, email_code: true });
      const refused = await callApi<ErrorBody>(server, "PUT", PATH, {
        body: { password: false, email_code: false },
      });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.errors[0]!.code, "INVALID_REQUEST");
      assert.match(refused.body.errors[0]!.message, /At least one sign-in method must stay on/);
      const read = await callApi<MethodsBody>(server, "GET", PATH);
      assert.deepEqual(read.body.sign_in_methods, { password: false, email_code: true });
    });

    it("answers bad bodies with 400 in Kinde's error shape, and enforces the scopes", async () => {
      for (const body of [
        { password: true, email_code: true, passkey: true },
        { password: "yes", email_code: true },
        { password: true },
        {},
        [],
      ]) {
        const reply = await callApi<ErrorBody>(server, "PUT", PATH, { body });
        assert.equal(reply.status, 400, JSON.stringify(body));
        assert.ok(reply.body.errors[0]!.code && reply.body.errors[0]!.message, JSON.stringify(reply.body));
      }
      const noBody = await callApi<ErrorBody>(server, "PUT", PATH, {});
      assert.equal(noBody.status, 400);

      const readOnly = await managementToken(server, "read:businesses");
      assert.equal((await callApi(server, "GET", PATH, { token: readOnly })).status, 200);
      const write = await callApi<ErrorBody>(server, "PUT", PATH, {
        token: readOnly,
        body: { password: false, email_code: true },
      });
      assert.equal(write.status, 403);
      const writeOnly = await managementToken(server, "update:businesses");
      assert.equal((await callApi(server, "GET", PATH, { token: writeOnly })).status, 403);
      assert.equal(
        (
          await callApi(server, "PUT", PATH, {
            token: writeOnly,
            body: { password: true, email_code: false },
          })
        ).status,
        200,
      );
      assert.deepEqual((await server.services.business.signInMethods()).password, true);
      assert.deepEqual((await server.services.business.signInMethods()).email_code, false);
    });

    it("is in the OpenAPI document with its scopes", async () => {
      const doc = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as {
        paths: Record<string, Record<string, { "x-scope"?: string }>>;
      };
      assert.equal(doc.paths[PATH]?.get?.["x-scope"], "read:businesses");
      assert.equal(doc.paths[PATH]?.put?.["x-scope"], "update:businesses");
    });

    it("shows a change made anywhere on the very next page, plain SQL included", async () => {
      const browser = new UserAgent(server.url);
      assert.match((await open(browser)).html, /type="password"/);
      // As another instance or an operator would: straight to the database, past this process.
      await server.storage.db.updateTable("business").set({ sign_in_password: 0 }).execute();
      assert.doesNotMatch((await open(browser)).html, /type="password"/);
      await server.storage.db
        .updateTable("business")
        .set({ sign_in_password: 1, sign_in_email_code: 0 })
        .execute();
      const html = (await open(browser)).html;
      assert.match(html, /type="password"/);
      assert.doesNotMatch(html, /Email me a sign-in code/);
      // Both off by hand would lock everyone out: the pages offer both instead.
      await server.storage.db
        .updateTable("business")
        .set({ sign_in_password: 0, sign_in_email_code: 0 })
        .execute();
      const both = (await open(browser)).html;
      assert.match(both, /type="password"/);
      assert.match(both, /Email me a sign-in code/);
    });
  });
}
