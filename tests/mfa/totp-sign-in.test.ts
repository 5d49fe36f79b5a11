// Issue 22, the authenticator app as a second factor at sign-in, on SQLite and PostgreSQL: under
// "required" a user without a factor sets one up before any code is issued (the code computed from
// the secret on the page), keeps recovery codes shown once, and from then on every sign-in asks
// for a current code — a replayed one is refused, a recovery code works once, guessing is throttled
// — and the ID token's amr says what was proved. A session made before the policy changed does
// not sign in silently, and no route finishes a sign-in that skipped the second step.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, beforeEach, describe, it } from "node:test";
import type { Clock } from "../../src/clock.js";
import { totpCodeAt } from "../../src/mfa/totp.js";
import { MFA_ACR } from "../../src/oauth/authorize.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { codeIn, messagesTo } from "../helpers/mail.js";
import { callApi, narrowMachineToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { exchangeCode, idTokenClaims, pkcePair } from "../helpers/tokens.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`authenticator app at sign-in (${kind})`, { skip }, () => {
    let server: TestServer;
    let spa: { clientId: string };
    let offset = 0;
    const clock: Clock = { now: () => Math.floor(Date.now() / 1000) + offset };

    before(async () => {
      server = await startTestServer(kind, { clock });
      spa = await createApplication(server, "spa");
    });
    after(async () => server?.close());
    beforeEach(async () => {
      await server.services.mfa.store.setEnvironmentSettings({
        policy: "required",
        enabledFactors: ["mfa:authenticator_app"],
        recoveryCodes: true,
      });
      await server.storage.db.deleteFrom("rate_limits").execute();
    });

    /** Starts a sign-in with a verifier kept for the token request; the password form's reply. */
    async function signIn(browser: UserAgent, user: { email: string; password: string }) {
      const { verifier, challenge } = pkcePair();
      const hidden = await browser.openSignIn(
        authorizationUrl(server, spa.clientId, CALLBACK, {
          scope: "openid email",
          code_challenge: challenge,
        }),
      );
      const reply = await browser.postForm("/auth/sign-in", { ...hidden, ...user });
      return { reply, hidden, verifier };
    }

    /** The ID token's claims for the code in `location`. */
    const claimsFor = async (location: string, verifier: string) =>
      idTokenClaims(await exchangeCode(server, location, { clientId: spa.clientId, verifier }));

    /** Enrols an authenticator for `user` through the sign-in step; the secret and recovery codes. */
    async function enrol(user: { email: string; password: string }) {
      const browser = new UserAgent(server.url);
      const { reply, hidden, verifier } = await signIn(browser, user);
      assert.equal(reply.status, 200);
      const page = await reply.text();
      assert.match(page, /Set up two-step verification/);
      assert.match(page, /<svg/, "the QR code is inline SVG");
      assert.doesNotMatch(page, /<img|<script/i, "nothing loaded from elsewhere");
      const secret = /data-secret="([A-Z2-7]+)"/.exec(page)?.[1];
      assert.ok(secret, "the key is on the page");
      assert.equal(browser.cookie("latchkey_session"), undefined, "no session before the second step");
      assert.doesNotMatch(page, /Not now/, "required: no way to decline");

      const wrong = await browser.postForm("/auth/mfa/enroll", { ...hidden, code: "000000" });
      assert.equal(wrong.status, 400);
      const confirmed = await browser.postForm("/auth/mfa/enroll", {
        ...hidden,
        code: totpCodeAt(secret, clock.now()),
      });
      assert.equal(confirmed.status, 200);
      const codesPage = await confirmed.text();
      const recoveryCodes = [...codesPage.matchAll(/<code>([A-Z0-9]{5}-[A-Z0-9]{5})<\/code>/g)].map(
        (m) => m[1]!,
      );
      assert.equal(recoveryCodes.length, 10);
      const done = await browser.postForm("/auth/mfa/continue", hidden);
      assert.equal(done.status, 303);
      const claims = await claimsFor(done.headers.get("location")!, verifier);
      assert.deepEqual([...(claims.amr as string[])].sort(), ["mfa", "otp", "pwd"]);
      return { secret, recoveryCodes, browser };
    }

    it("makes a user without a factor set one up before the code, with recovery codes", async () => {
      const user = await createUser(server);
      await enrol(user);
      const rows = await server.storage.db
        .selectFrom("mfa_factors")
        .selectAll()
        .where("user_id", "=", user.id)
        .execute();
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.type, "mfa:authenticator_app");
      assert.ok(rows[0]!.secret_sealed && !rows[0]!.secret_sealed.includes("="), "sealed");
      const stored = await server.storage.db
        .selectFrom("mfa_recovery_codes")
        .select("code_hash")
        .where("user_id", "=", user.id)
        .execute();
      assert.equal(stored.length, 10, "recovery codes stored (hashed)");
      const notice = (await messagesTo(server, user.email)).find((m) => m.kind === "mfa_notice");
      assert.ok(notice, "the owner hears that a factor was added");
      const events = await server.storage.db
        .selectFrom("events")
        .select(["type", "source"])
        .where("user_id", "=", user.id)
        .where("type", "=", "user.updated")
        .execute();
      assert.deepEqual(events, [{ type: "user.updated", source: "user" }], "webhooks hear of it");
    });

    it("still asks an administrator for their authenticator after a machine turns MFA off or narrows it", async () => {
      const admin = await createUser(server);
      const { secret } = await enrol(admin);
      await server.services.users.setAdmin(admin.id, true);
      const member = await createUser(server);
      await enrol(member);
      offset += 30; // the enrolment used this step's code
      const { token } = await narrowMachineToken(server, ["update:mfa"]);
      for (const body of [
        { policy: "off", enabled_factors: [] },
        { policy: "required", enabled_factors: ["mfa:email"] },
      ]) {
        const changed = await callApi(server, "PUT", "/api/v1/mfa", { token, body });
        assert.equal(changed.status, 200, JSON.stringify(changed.body));
        const browser = new UserAgent(server.url);
        const { reply, hidden, verifier } = await signIn(browser, admin);
        const page = await reply.text();
        assert.equal(reply.status, 200, `${JSON.stringify(body)}: ${page.slice(0, 200)}`);
        assert.match(page, /authenticator app/i);
        assert.doesNotMatch(page, /name="method" value="email"/, "not an e-mailed code instead");
        const done = await browser.postForm("/auth/mfa/verify", {
          ...hidden,
          code: totpCodeAt(secret, clock.now()),
        });
        assert.equal(done.status, 303, await done.clone().text());
        const claims = await claimsFor(done.headers.get("location")!, verifier);
        assert.deepEqual([...(claims.amr as string[])].sort(), ["mfa", "otp", "pwd"]);
        offset += 30;
      }
      // Everyone else follows the settings: with the policy off, the password alone signs in.
      await callApi(server, "PUT", "/api/v1/mfa", { token, body: { policy: "off", enabled_factors: [] } });
      const { reply } = await signIn(new UserAgent(server.url), member);
      assert.equal(reply.status, 303);
    });

    it("changes a password reset by e-mail code only once the authenticator is proved too", async () => {
      const user = await createUser(server);
      const { secret, browser: signedIn } = await enrol(user);
      offset += 30; // the enrolment used this step's code
      const passwordOf = async () =>
        (
          await server.storage.db
            .selectFrom("users")
            .select("password_hash")
            .where("id", "=", user.id)
            .executeTakeFirst()
        )?.password_hash;
      const before = await passwordOf();
      const resetting = new UserAgent(server.url);
      const { verifier, challenge } = pkcePair();
      const start = await resetting.redirectFrom(
        authorizationUrl(server, spa.clientId, CALLBACK, {
          scope: "openid email",
          code_challenge: challenge,
        }),
      );
      const hidden = await resetting.openForm(new URL(`/auth/forgot-password${start.search}`, server.url));
      assert.equal(
        (await resetting.postForm("/auth/forgot-password", { ...hidden, email: user.email })).status,
        200,
      );
      const mail = (await messagesTo(server, user.email)).find((m) => m.kind === "password_reset_code")!;
      const code = codeIn(mail.text);
      const asked = await resetting.postForm("/auth/forgot-password/verify", {
        ...hidden,
        code,
        password: "a brand new passphrase",
      });
      // The mailbox alone changes nothing: the authenticator is asked first.
      assert.equal(asked.status, 200);
      assert.match(await asked.text(), /Two-step verification/);
      assert.equal(await passwordOf(), before, "the password is unchanged");
      const silent = await signedIn.redirectFrom(
        authorizationUrl(server, spa.clientId, CALLBACK, { prompt: "none" }),
      );
      assert.ok(silent.searchParams.get("code"), "the owner's session still stands");

      const done = await resetting.postForm("/auth/mfa/verify", {
        ...hidden,
        code: totpCodeAt(secret, clock.now()),
      });
      assert.equal(done.status, 303, await done.clone().text());
      const claims = await claimsFor(done.headers.get("location")!, verifier);
      assert.deepEqual([...(claims.amr as string[])].sort(), ["email", "mfa", "otp"]);
      assert.notEqual(await passwordOf(), before, "set once the factor is proved");
      const ended = await signedIn.redirectFrom(
        authorizationUrl(server, spa.clientId, CALLBACK, { prompt: "none" }),
      );
      assert.equal(
        ended.searchParams.get("error"),
        "login_required",
        "the other session ended with the old password",
      );
      const signIn2 = await signIn(new UserAgent(server.url), {
        email: user.email,
        password: "a brand new passphrase",
      });
      assert.equal(signIn2.reply.status, 200, "the new password signs in (to the authenticator step)");
      offset += 30;
    });

    it("sets a waiting reset password for no one else who signs in on the same request", async () => {
      const resetter = await createUser(server);
      await enrol(resetter);
      offset += 30;
      const other = await createUser(server);
      const hashOf = async (id: string) =>
        (
          await server.storage.db
            .selectFrom("users")
            .select("password_hash")
            .where("id", "=", id)
            .executeTakeFirst()
        )?.password_hash;
      const [resetterBefore, otherBefore] = [await hashOf(resetter.id), await hashOf(other.id)];
      const resetting = new UserAgent(server.url);
      const start = await resetting.redirectFrom(authorizationUrl(server, spa.clientId, CALLBACK));
      const hidden = await resetting.openForm(new URL(`/auth/forgot-password${start.search}`, server.url));
      await resetting.postForm("/auth/forgot-password", { ...hidden, email: resetter.email });
      const mail = (await messagesTo(server, resetter.email)).find((m) => m.kind === "password_reset_code")!;
      const asked = await resetting.postForm("/auth/forgot-password/verify", {
        ...hidden,
        code: codeIn(mail.text),
        password: "a password someone else chose",
      });
      assert.match(await asked.text(), /Two-step verification/);
      // Someone else is sent to sign in on that request, and does.
      const elsewhere = new UserAgent(server.url);
      const form = await elsewhere.openForm(new URL(`/auth/sign-in${start.search}`, server.url));
      const signedIn = await elsewhere.postForm("/auth/sign-in", {
        ...form,
        email: other.email,
        password: other.password,
      });
      assert.equal(signedIn.status, 200, "on to setting up their own authenticator");
      assert.equal(await hashOf(other.id), otherBefore, "their password is theirs");
      assert.equal(await hashOf(resetter.id), resetterBefore, "and the resetter's waits for the factor");
    });

    it("asks for a current code at every sign-in and refuses a replayed one", async () => {
      const user = await createUser(server);
      const { secret } = await enrol(user);
      offset += 30; // the enrolment used this step's code
      const browser = new UserAgent(server.url);
      const first = await signIn(browser, user);
      assert.equal(first.reply.status, 200);
      assert.match(await first.reply.text(), /Two-step verification/);
      assert.equal(browser.cookie("latchkey_session"), undefined);
      const code = totpCodeAt(secret, clock.now());
      const ok = await browser.postForm("/auth/mfa/verify", { ...first.hidden, code });
      assert.equal(ok.status, 303, await ok.text());
      const claims = await claimsFor(ok.headers.get("location")!, first.verifier);
      assert.deepEqual([...(claims.amr as string[])].sort(), ["mfa", "otp", "pwd"]);

      // The same code again, in another browser within its 30 seconds: refused (RFC 6238 §5.2).
      const other = new UserAgent(server.url);
      const second = await signIn(other, user);
      const replay = await other.postForm("/auth/mfa/verify", { ...second.hidden, code });
      assert.equal(replay.status, 400);
      assert.match(await replay.text(), /used already/);
      // The step before is older than the last one used: refused too.
      const older = totpCodeAt(secret, clock.now() - 30);
      assert.equal((await other.postForm("/auth/mfa/verify", { ...second.hidden, code: older })).status, 400);
      offset += 30;
      const next = await other.postForm("/auth/mfa/verify", {
        ...second.hidden,
        code: totpCodeAt(secret, clock.now()),
      });
      assert.equal(next.status, 303);
    });

    it("takes each recovery code once", async () => {
      const user = await createUser(server);
      const { recoveryCodes } = await enrol(user);
      const browser = new UserAgent(server.url);
      const { hidden } = await signIn(browser, user);
      const used = await browser.postForm("/auth/mfa/recovery", {
        ...hidden,
        code: recoveryCodes[3]!.toLowerCase(),
      });
      assert.equal(used.status, 303, "typed in lower case, still the code");
      const again = new UserAgent(server.url);
      const second = await signIn(again, user);
      const reused = await again.postForm("/auth/mfa/recovery", {
        ...second.hidden,
        code: recoveryCodes[3]!,
      });
      assert.equal(reused.status, 400);
      const notices = (await messagesTo(server, user.email)).filter((m) => m.kind === "mfa_notice");
      assert.ok(notices.some((m) => /recovery code was used/i.test(m.text)));
      // Another user's code is no code for this one.
      const stranger = await createUser(server);
      const theirs = await enrol(stranger);
      const third = new UserAgent(server.url);
      const { hidden: thirdHidden } = await signIn(third, user);
      const foreign = await third.postForm("/auth/mfa/recovery", {
        ...thirdHidden,
        code: theirs.recoveryCodes[0]!,
      });
      assert.equal(foreign.status, 400);
    });

    it("throttles guessing: the sixth wrong code in 15 minutes is refused without being checked", async () => {
      const user = await createUser(server);
      const { secret } = await enrol(user);
      offset += 30;
      const browser = new UserAgent(server.url);
      const { hidden } = await signIn(browser, user);
      for (let i = 0; i < 5; i++) {
        const wrong = await browser.postForm("/auth/mfa/verify", { ...hidden, code: "123456" });
        assert.equal(wrong.status, 400);
      }
      const right = await browser.postForm("/auth/mfa/verify", {
        ...hidden,
        code: totpCodeAt(secret, clock.now()),
      });
      assert.equal(right.status, 429, "even the right code waits");
      assert.ok(Number(right.headers.get("retry-after")) > 0);
    });

    it("cannot be skipped: no session, no code, and the other routes lead back to the step", async () => {
      const user = await createUser(server);
      await enrol(user);
      const browser = new UserAgent(server.url);
      const { reply, hidden } = await signIn(browser, user);
      assert.equal(reply.status, 200);
      // Finishing steps that do not apply: each answers with the step again or an expired page.
      for (const path of [
        "/auth/mfa/continue",
        "/auth/choose-password",
        "/auth/mfa/skip",
        "/auth/mfa/enroll",
      ]) {
        const attempt = await browser.postForm(path, { ...hidden, code: "000000", password: "x".repeat(12) });
        assert.notEqual(attempt.status, 303, `${path} must not finish the sign-in`);
        assert.equal(attempt.headers.get("location"), null);
      }
      assert.equal(browser.cookie("latchkey_session"), undefined);
      // Enrolling a new authenticator with the password alone would replace the owner's: refused.
      const factors = await server.storage.db
        .selectFrom("mfa_factors")
        .select("id")
        .where("user_id", "=", user.id)
        .execute();
      assert.equal(factors.length, 1);
    });

    it("re-asks a session made before the policy required a second factor", async () => {
      await server.services.mfa.store.setEnvironmentSettings({ policy: "off" });
      const user = await createUser(server);
      const browser = new UserAgent(server.url);
      const plain = await signIn(browser, user);
      assert.equal(plain.reply.status, 303, "policy off: no second step");
      assert.ok(browser.cookie("latchkey_session"));
      await server.services.mfa.store.setEnvironmentSettings({ policy: "required" });
      const silent = await browser.redirectFrom(
        authorizationUrl(server, spa.clientId, CALLBACK, { prompt: "none" }),
      );
      assert.equal(silent.searchParams.get("error"), "login_required");
    });

    it("offers set-up under 'optional' and remembers 'Not now'", async () => {
      await server.services.mfa.store.setEnvironmentSettings({ policy: "optional" });
      const user = await createUser(server);
      const browser = new UserAgent(server.url);
      const { reply, hidden } = await signIn(browser, user);
      assert.equal(reply.status, 200);
      assert.match(await reply.text(), /Not now/);
      const skipped = await browser.postForm("/auth/mfa/skip", hidden);
      assert.equal(skipped.status, 303);
      const again = await signIn(new UserAgent(server.url), user);
      assert.equal(again.reply.status, 303, "not offered again right away");
    });

    it("steps up on acr_values (OpenID PAPE multi-factor) whatever the policy, and says so in acr", async () => {
      await server.services.mfa.store.setEnvironmentSettings({ policy: "off" });
      const user = await createUser(server);
      const browser = new UserAgent(server.url);
      const plain = await signIn(browser, user);
      assert.equal(plain.reply.status, 303, "policy off: a password is enough");
      const plainClaims = await claimsFor(plain.reply.headers.get("location")!, plain.verifier);
      assert.equal(plainClaims.acr, undefined);
      // The signed-in browser asks again for the same application, now with acr_values.
      const { verifier, challenge } = pkcePair();
      const stepUp = authorizationUrl(server, spa.clientId, CALLBACK, {
        scope: "openid",
        code_challenge: challenge,
        acr_values: MFA_ACR,
      });
      const silent = await browser.redirectFrom(new URL(`${stepUp.href}&prompt=none`));
      assert.equal(
        silent.searchParams.get("error"),
        "login_required",
        "the session did not prove two factors",
      );
      const hidden = await browser.openSignIn(stepUp);
      const reply = await browser.postForm("/auth/sign-in", { ...hidden, ...user });
      assert.equal(reply.status, 200);
      const page = await reply.text();
      const secret = /data-secret="([A-Z2-7]+)"/.exec(page)?.[1];
      assert.ok(secret, "an account without a factor sets one up");
      const confirmed = await browser.postForm("/auth/mfa/enroll", {
        ...hidden,
        code: totpCodeAt(secret, clock.now()),
      });
      assert.equal(confirmed.status, 200);
      const done = await browser.postForm("/auth/mfa/continue", hidden);
      const claims = await claimsFor(done.headers.get("location")!, verifier);
      assert.equal(claims.acr, MFA_ACR);
      const discovery = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as {
        acr_values_supported: string[];
      };
      assert.deepEqual(discovery.acr_values_supported, [MFA_ACR]);
    });

    it("never offers set-up to an account that has a factor, even where this sign-in's settings leave it out", async () => {
      const user = await createUser(server);
      const { secret } = await enrol(user);
      const org = await server.services.organizations.create({
        name: `Texts ${randomBytes(3).toString("hex")}`,
      });
      await server.services.organizations.addMembers(org.code, [{ id: user.id }]);
      // The organization lists only texts: the account's authenticator app is not among them.
      await server.services.mfa.store.setOrganizationSettings(org.code, { enabledFactors: ["mfa:sms"] });
      const browser = new UserAgent(server.url);
      const hidden = await browser.openSignIn(
        authorizationUrl(server, spa.clientId, CALLBACK, { org_code: org.code }),
      );
      const reply = await browser.postForm("/auth/sign-in", { ...hidden, ...user });
      assert.equal(reply.status, 200);
      const page = await reply.text();
      assert.match(page, /Code from your authenticator app/, "the owned factor is asked for");
      assert.doesNotMatch(page, /Set up two-step verification/);
      // A crafted set-up with the password alone replaces nothing.
      const crafted = await browser.postForm("/auth/mfa/enroll", { ...hidden, code: "123456" });
      assert.notEqual(crafted.status, 303);
      const factors = await server.storage.db
        .selectFrom("mfa_factors")
        .select("secret_sealed")
        .where("user_id", "=", user.id)
        .execute();
      assert.equal(factors.length, 1);
      offset += 30;
      const proved = await browser.postForm("/auth/mfa/verify", {
        ...hidden,
        code: totpCodeAt(secret, clock.now()),
      });
      assert.equal(proved.status, 303, "the owner's own code still works");
    });

    it("asks for the factor before a new password an administrator requested", async () => {
      const user = await createUser(server);
      const { secret } = await enrol(user);
      await server.storage.db
        .updateTable("users")
        .set({ password_change_required: 1 })
        .where("id", "=", user.id)
        .execute();
      const browser = new UserAgent(server.url);
      const { reply, hidden } = await signIn(browser, user);
      assert.equal(reply.status, 200);
      assert.match(await reply.text(), /Two-step verification/, "the factor first");
      const crafted = await browser.postForm("/auth/choose-password", {
        ...hidden,
        password: "a brand new long password",
      });
      assert.notEqual(crafted.status, 303);
      assert.doesNotMatch(await crafted.text(), /Choose a new password/);
      const stored = await server.services.users.store.findByEmail(user.email);
      assert.ok(
        await server.services.users.verifyPassword(stored, user.password),
        "the password was not changed",
      );
      offset += 30;
      const proved = await browser.postForm("/auth/mfa/verify", {
        ...hidden,
        code: totpCodeAt(secret, clock.now()),
      });
      assert.equal(proved.status, 200);
      assert.match(await proved.text(), /Choose a new password/, "then the new password");
    });

    it("lets an organization that enforces MFA require it when the environment does not", async () => {
      await server.services.mfa.store.setEnvironmentSettings({ policy: "off" });
      const user = await createUser(server);
      const org = await server.services.organizations.create({
        name: `Strict ${randomBytes(3).toString("hex")}`,
      });
      await server.services.organizations.addMembers(org.code, [{ id: user.id }]);
      await server.services.mfa.store.setOrganizationSettings(org.code, { enforced: true });
      const browser = new UserAgent(server.url);
      const { reply } = await signIn(browser, user);
      assert.equal(reply.status, 200, "a member of an enforcing organization");
      assert.match(await reply.text(), /Set up two-step verification/);
    });
  });
}
