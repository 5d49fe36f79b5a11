// Issue 22, two-step verification from the account page, on SQLite and PostgreSQL: an authenticator
// app set up there (its code computed from the secret on the page) is asked for at the next
// sign-in — the account page's own included; recovery codes replaced there work once each and the
// old ones not at all; removing the app ends every session.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { totpCodeAt } from "../../src/mfa/totp.js";
import { databaseKinds } from "../helpers/databases.js";
import { createUser } from "../helpers/fixtures.js";
import { messagesTo } from "../helpers/mail.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";
import { hiddenFields, type MovableClock, movableClock, signInToAccount } from "./support.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`two-step verification on the account page (${kind})`, { skip }, () => {
    let server: TestServer;
    let clock: MovableClock;

    before(async () => {
      clock = movableClock();
      server = await startTestServer(kind, { clock });
    });
    after(async () => server?.close());
    beforeEach(async () => {
      await server.services.mfa.store.setEnvironmentSettings({
        policy: "optional",
        enabledFactors: ["mfa:authenticator_app"],
        recoveryCodes: true,
      });
    });

    /** Sets up the authenticator app from the account page; its secret and the recovery codes shown. */
    async function enrol(agent: UserAgent, page: string) {
      const started = await agent.postForm("/account/two-step/authenticator", {
        csrf: hiddenFields(page).csrf!,
      });
      const setUp = await started.text();
      assert.equal(started.status, 200, setUp.slice(0, 300));
      const secret = /data-secret="([A-Z2-7]+)"/.exec(setUp)?.[1];
      assert.ok(secret, "the page shows the key");
      assert.match(setUp, /<svg[^>]*viewBox/, "and the QR code, drawn inline");
      const { csrf, sealed } = hiddenFields(setUp);
      const wrong = await agent.postForm("/account/two-step/authenticator/confirm", {
        csrf: csrf!,
        sealed: sealed!,
        code: totpCodeAt(secret, clock.now() - 600),
      });
      assert.equal(wrong.status, 400, "an old code does not confirm it");
      const confirmed = await agent.postForm("/account/two-step/authenticator/confirm", {
        csrf: csrf!,
        sealed: sealed!,
        code: totpCodeAt(secret, clock.now()),
      });
      const shown = await confirmed.text();
      assert.equal(confirmed.status, 200, shown.slice(0, 300));
      const codes = [...shown.matchAll(/<li><code>([A-Z0-9]{5}-[A-Z0-9]{5})<\/code><\/li>/g)].map(
        (m) => m[1]!,
      );
      assert.equal(codes.length, 10);
      return { secret, codes };
    }

    it("asks for the app's code at the next sign-in after it was set up on the account page", async () => {
      const user = await createUser(server);
      const agent = new UserAgent(server.url);
      const first = await signInToAccount(server, agent, user);
      assert.deepEqual(first.asked, ["enrol"], "the optional policy offers it; the person declines");
      assert.match(first.page, /Set up an authenticator app/);
      const { secret } = await enrol(agent, first.page);
      assert.equal((await server.services.mfa.store.factors(user.id)).length, 1);
      assert.ok(
        (await messagesTo(server, user.email)).some((m) => m.kind === "mfa_notice"),
        "the owner is told",
      );

      // The set-up's first code proved the app in this session (its amr records it): the page
      // stays open. A new sign-in asks for the code.
      const stay = await agent.request("/account");
      assert.equal(stay.status, 200);
      assert.match(await stay.text(), /id="factors"[\s\S]*Authenticator app/);
      const session = await server.services.sessions.find(agent.cookie("latchkey_session"));
      assert.deepEqual([...(session?.amr ?? [])].sort(), ["mfa", "otp", "pwd"]);
      clock.advance(30);
      const signedInAgain = new UserAgent(server.url);
      const again = await signInToAccount(server, signedInAgain, user, {
        code: () => totpCodeAt(secret, clock.now()),
      });
      assert.deepEqual(again.asked, ["challenge"]);
      assert.match(again.page, /id="factors"[\s\S]*Authenticator app/);
      assert.match(again.page, /Recovery codes left: 10 of 10/);
      assert.doesNotMatch(again.page, /Set up an authenticator app/, "one app at a time");

      // Any other sign-in asks for it too, and refuses a wrong code.
      const other = new UserAgent(server.url);
      clock.advance(30);
      await assert.rejects(
        signInToAccount(server, other, user, { code: () => "000000" }),
        /sign-in ended with 400/,
      );
      const elsewhere = await signInToAccount(server, new UserAgent(server.url), user, {
        code: () => totpCodeAt(secret, clock.now()),
      });
      assert.deepEqual(elsewhere.asked, ["challenge"]);

      // A second set-up over the first is refused.
      const refused = await signedInAgain.postForm("/account/two-step/authenticator", {
        csrf: hiddenFields(again.page).csrf!,
      });
      assert.equal(refused.status, 409);
    });

    it("replaces the recovery codes: each new one signs in once, the old ones never", async () => {
      const user = await createUser(server);
      await server.services.mfa.dismissOffer(user.id);
      const agent = new UserAgent(server.url);
      const { page } = await signInToAccount(server, agent, user);
      const { codes: old } = await enrol(agent, page);
      // The set-up proved the app in this session: the account page stays open for the change.
      const signedIn = { page: await (await agent.request("/account")).text() };
      const replaced = await agent.postForm("/account/two-step/recovery-codes", {
        csrf: hiddenFields(signedIn.page).csrf!,
      });
      const shown = await replaced.text();
      assert.equal(replaced.status, 200);
      const codes = [...shown.matchAll(/<li><code>([A-Z0-9]{5}-[A-Z0-9]{5})<\/code><\/li>/g)].map(
        (m) => m[1]!,
      );
      assert.equal(codes.length, 10);
      assert.equal(codes.filter((c) => old.includes(c)).length, 0);

      await assert.rejects(
        signInToAccount(server, new UserAgent(server.url), user, { recoveryCode: old[0]! }),
        /sign-in ended with 400/,
        "an old code no longer works",
      );
      const used = await signInToAccount(server, new UserAgent(server.url), user, {
        recoveryCode: codes[0]!,
      });
      assert.deepEqual(used.asked, ["challenge"]);
      assert.match(used.page, /Recovery codes left: 9 of 10/);
      await assert.rejects(
        signInToAccount(server, new UserAgent(server.url), user, { recoveryCode: codes[0]! }),
        /sign-in ended with 400/,
        "a code works once",
      );
      const another = await signInToAccount(server, new UserAgent(server.url), user, {
        recoveryCode: codes[1]!.toLowerCase().replace("-", " "),
      });
      assert.deepEqual(another.asked, ["challenge"], "retyped loosely, a code still works");
    });

    it("removes the app: every session ends, and the next sign-in asks for no code", async () => {
      const user = await createUser(server);
      await server.services.mfa.dismissOffer(user.id);
      const agent = new UserAgent(server.url);
      const { page } = await signInToAccount(server, agent, user);
      const { secret } = await enrol(agent, page);
      const withApp = await (await agent.request("/account")).text();
      clock.advance(30);
      const other = new UserAgent(server.url);
      await signInToAccount(server, other, user, { code: () => totpCodeAt(secret, clock.now()) });

      const { csrf, factor_id } = hiddenFields(withApp);
      assert.ok(factor_id);
      const notMine = await agent.postForm("/account/two-step/remove", {
        csrf: csrf!,
        factor_id: "mfa_nope",
      });
      assert.equal(notMine.status, 404);
      const removed = await agent.postForm("/account/two-step/remove", { csrf: csrf!, factor_id });
      assert.equal(removed.status, 200);
      assert.match(await removed.text(), /every browser signed in to your account is signed out/);
      assert.deepEqual(await server.services.mfa.store.factors(user.id), []);
      assert.equal(await server.services.mfa.store.unusedRecoveryCodes(user.id), 0);
      // Kinde's event source: the person removed it themselves, not an administrator.
      const updated = await server.storage.db
        .selectFrom("events")
        .select("source")
        .where("user_id", "=", user.id)
        .where("type", "=", "user.updated")
        .orderBy("id", "desc")
        .executeTakeFirstOrThrow();
      assert.equal(updated.source, "user");
      for (const browser of [agent, other])
        assert.equal((await browser.redirectFrom("/account")).pathname, "/oauth2/auth", "signed out");
      const after = await signInToAccount(server, new UserAgent(server.url), user);
      assert.deepEqual(after.asked, [], "no code asked (the offer was declined before)");
    });

    it("offers no authenticator app while the policy is off", async () => {
      await server.services.mfa.store.setEnvironmentSettings({ policy: "off" });
      const user = await createUser(server);
      const agent = new UserAgent(server.url);
      const { page } = await signInToAccount(server, agent, user);
      assert.doesNotMatch(page, /Set up an authenticator app/);
      assert.match(page, /href="\/account\/passkeys"/, "passkeys are optional by default");
      const refused = await agent.postForm("/account/two-step/authenticator", {
        csrf: hiddenFields(page).csrf!,
      });
      assert.equal(refused.status, 409);
      await server.services.mfa.store.setEnvironmentSettings({ passkeyPolicy: "off" });
      const { page: without } = await signInToAccount(server, new UserAgent(server.url), user);
      assert.doesNotMatch(without, /\/account\/passkeys/);
      await server.services.mfa.store.setEnvironmentSettings({ passkeyPolicy: "optional" });
    });
  });
}
