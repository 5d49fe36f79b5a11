// Issue 22, a code by e-mail as the second factor, on SQLite and PostgreSQL: with only mfa:email
// enabled under "required", a password sign-in mails a code (the mfa_code message) and finishes
// only with it (amr pwd, email, mfa); a wrong code does not; a sign-in by e-mailed code is not
// asked for a second code to the same mailbox — with no other factor it must set up an
// authenticator app.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { codeIn, messagesTo } from "../helpers/mail.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`e-mail code as a second factor (${kind})`, { skip }, () => {
    let server: TestServer;
    let spa: { clientId: string };

    before(async () => {
      server = await startTestServer(kind);
      spa = await createApplication(server, "spa");
    });
    after(async () => server?.close());
    beforeEach(async () => {
      await server.services.mfa.store.setEnvironmentSettings({
        policy: "required",
        enabledFactors: ["mfa:email", "mfa:authenticator_app"],
      });
      await server.storage.db.deleteFrom("rate_limits").execute();
    });

    const open = (browser: UserAgent) => browser.openSignIn(authorizationUrl(server, spa.clientId, CALLBACK));

    it("mails a code after the password and finishes only with it", async () => {
      const user = await createUser(server);
      const browser = new UserAgent(server.url);
      const hidden = await open(browser);
      const reply = await browser.postForm("/auth/sign-in", {
        ...hidden,
        email: user.email,
        password: user.password,
      });
      assert.equal(reply.status, 200);
      const page = await reply.text();
      assert.match(page, /Code from your email/);
      assert.doesNotMatch(
        page,
        /Use your authenticator app|Use a recovery code/,
        "no method the account lacks",
      );
      const mail = (await messagesTo(server, user.email)).find((m) => m.kind === "mfa_code");
      assert.ok(mail, "an mfa_code message was queued");
      const wrong = await browser.postForm("/auth/mfa/email/verify", { ...hidden, code: "000000" });
      assert.equal(wrong.status, 400);
      assert.equal(browser.cookie("latchkey_session"), undefined);
      // A TOTP form posted for an account without an authenticator does not finish anything.
      const viaApp = await browser.postForm("/auth/mfa/verify", { ...hidden, code: "123456" });
      assert.notEqual(viaApp.status, 303);
      const done = await browser.postForm("/auth/mfa/email/verify", { ...hidden, code: codeIn(mail.text) });
      assert.equal(done.status, 303, await done.text());
      const session = await server.storage.db
        .selectFrom("browser_sessions")
        .select("amr")
        .where("user_id", "=", user.id)
        .executeTakeFirstOrThrow();
      assert.deepEqual(JSON.parse(session.amr).sort(), ["email", "mfa", "pwd"]);
      const factor = await server.storage.db
        .selectFrom("mfa_factors")
        .select(["type", "usage_count"])
        .where("user_id", "=", user.id)
        .executeTakeFirstOrThrow();
      assert.deepEqual(
        { ...factor, usage_count: Number(factor.usage_count) },
        { type: "mfa:email", usage_count: 1 },
      );
    });

    it("does not count a second e-mailed code after a passwordless sign-in", async () => {
      const user = await createUser(server);
      const browser = new UserAgent(server.url);
      const hidden = await open(browser);
      const asked = await browser.postForm("/auth/email-code", { ...hidden, email: user.email });
      assert.equal(asked.status, 200);
      const mail = (await messagesTo(server, user.email)).find((m) => m.kind === "sign_in_code");
      assert.ok(mail);
      const signedIn = await browser.postForm("/auth/email-code/verify", {
        ...hidden,
        code: codeIn(mail.text),
      });
      assert.equal(signedIn.status, 200);
      const page = await signedIn.text();
      assert.match(page, /Set up two-step verification/, "the mailbox was proved already: an app is needed");
      assert.equal((await messagesTo(server, user.email)).filter((m) => m.kind === "mfa_code").length, 0);
      const crafted = await browser.postForm("/auth/mfa/email", hidden);
      assert.notEqual(crafted.status, 303);
      assert.equal((await messagesTo(server, user.email)).filter((m) => m.kind === "mfa_code").length, 0);
    });
  });
}
