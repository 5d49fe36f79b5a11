// Issue 22, passkey assertions at the HTTP level on SQLite and PostgreSQL, answered by a software
// authenticator (soft-authenticator.ts) so that the answers no browser would give can be made: the
// server takes a well-made one (amr [hwk, mfa], or [swk, mfa] for a synced key) and refuses one
// signed for another RP ID or origin, one without user verification, one whose challenge was used
// already or issued to another browser, and one whose counter went backwards (logged as a possible
// clone and recorded as the account's failed sign-in, the stored counter untouched). With the
// passkey policy off the page offers none and the routes refuse. A passkey is also a second factor
// after a password (amr [pwd, hwk, mfa]).
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import type { Clock } from "../../src/clock.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { codeIn, messagesTo } from "../helpers/mail.js";
import { freePort, startTestServer, type TestServer } from "../helpers/server.js";
import { exchangeCode, idTokenClaims, pkcePair } from "../helpers/tokens.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";
import { SoftAuthenticator } from "./soft-authenticator.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`passkey assertions (${kind})`, { skip }, () => {
    let server: TestServer;
    let spa: { clientId: string };
    let rpId: string;
    let origin: string;
    const clock: Clock = { now: () => Math.floor(Date.now() / 1000) };

    before(async () => {
      // WebAuthn wants a domain as RP ID: under an IP address issuer passkeys are off (last test).
      const port = await freePort();
      server = await startTestServer(kind, { clock, port, env: { ISSUER_URL: `http://localhost:${port}` } });
      spa = await createApplication(server, "spa");
      rpId = new URL(server.config.issuerUrl).hostname;
      origin = new URL(server.config.issuerUrl).origin;
    });
    after(async () => server?.close());
    beforeEach(async () => {
      await server.services.mfa.store.setEnvironmentSettings({ policy: "off", passkeyPolicy: "optional" });
      await server.storage.db.deleteFrom("rate_limits").execute();
    });

    /** A sign-in page opened by `agent`: its hidden fields and the PKCE verifier for the token request. */
    async function openSignIn(agent: UserAgent, extra: Record<string, string> = {}) {
      const { verifier, challenge } = pkcePair();
      const url = authorizationUrl(server, spa.clientId, CALLBACK, {
        scope: "openid email",
        code_challenge: challenge,
        ...extra,
      });
      const start = await agent.redirectFrom(url);
      const page = await (await agent.request(new URL(`/auth/sign-in${start.search}`, server.url))).text();
      const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(page)?.[1] ?? "";
      return { page, verifier, request: field("request"), csrf: field("csrf") };
    }

    async function options(agent: UserAgent, path: string, form: { request: string; csrf: string }) {
      const reply = await agent.postForm(path, form);
      const body = (await reply.json()) as { options?: { challenge: string }; error?: string };
      return { status: reply.status, challenge: body.options?.challenge ?? "", body };
    }

    /** The ID token's claims for the code in `location`. */
    const claimsFor = async (location: string, verifier: string) =>
      idTokenClaims(await exchangeCode(server, location, { clientId: spa.clientId, verifier }));

    async function userWithKey(signCount = 0, multiDevice = false) {
      const user = await createUser(server);
      const key = new SoftAuthenticator();
      const passkeyId = await key.saveFor(server, user.id, signCount, multiDevice);
      return { user, key, passkeyId };
    }

    /** Opens the page, asks for options, and posts what `answer` makes of the challenge. */
    async function signInWith(answer: (challenge: string) => string, agent = new UserAgent(server.url)) {
      const opened = await openSignIn(agent);
      const asked = await options(agent, "/auth/passkey/options", opened);
      assert.equal(asked.status, 200, JSON.stringify(asked.body));
      const response = answer(asked.challenge);
      const reply = await agent.postForm("/auth/passkey/sign-in", {
        request: opened.request,
        csrf: opened.csrf,
        response,
      });
      return { reply, opened, agent, response };
    }

    it("signs in with a user-verified passkey alone: amr [hwk, mfa], the counter and last use stored", async () => {
      const { user, key, passkeyId } = await userWithKey(3);
      const { reply, opened, agent } = await signInWith((challenge) =>
        key.assert(user.id, { challenge, rpId, origin, counter: 4 }),
      );
      assert.equal(reply.status, 303, await reply.clone().text());
      assert.ok(agent.cookie("latchkey_session"), "a session");
      const claims = await claimsFor(reply.headers.get("location")!, opened.verifier);
      assert.equal(claims.sub, user.id);
      assert.deepEqual([...(claims.amr as string[])].sort(), ["hwk", "mfa"]);
      const row = await server.storage.db
        .selectFrom("passkeys")
        .select(["sign_count", "last_used_at"])
        .where("id", "=", passkeyId)
        .executeTakeFirstOrThrow();
      assert.equal(Number(row.sign_count), 4);
      assert.ok(row.last_used_at !== null);
      // Only the challenge's hash is kept, and it is spent.
      const challenges = await server.storage.db.selectFrom("passkey_challenges").selectAll().execute();
      assert.ok(challenges.every((c) => !c.challenge_hash.includes(".")));
    });

    it("says swk for a backup-eligible (synced) passkey", async () => {
      const { user, key } = await userWithKey(0, true);
      const { reply, opened } = await signInWith((challenge) =>
        key.assert(user.id, { challenge, rpId, origin, counter: 0, backupEligible: true }),
      );
      assert.equal(reply.status, 303);
      const claims = await claimsFor(reply.headers.get("location")!, opened.verifier);
      assert.deepEqual([...(claims.amr as string[])].sort(), ["mfa", "swk"]);
    });

    it("refuses an assertion for another origin or another RP ID, and one without user verification", async () => {
      const { user, key } = await userWithKey();
      for (const bad of [
        { origin: "https://evil.example", rpId },
        { origin, rpId: "evil.example" },
        { origin: origin.replace(/:\d+$/, ":1"), rpId },
      ]) {
        const { reply, agent } = await signInWith((challenge) =>
          key.assert(user.id, { challenge, counter: 1, ...bad }),
        );
        assert.equal(reply.status, 400, JSON.stringify(bad));
        assert.match(await reply.text(), /That passkey could not be used/);
        assert.equal(agent.cookie("latchkey_session"), undefined, "no session");
      }
      const unverified = await signInWith((challenge) =>
        key.assert(user.id, { challenge, rpId, origin, counter: 1, userVerified: false }),
      );
      assert.equal(unverified.reply.status, 400, "user verification is required for a passkey alone");
      // The same key, well used, still signs in: the refusals above were about what they changed.
      const good = await signInWith((challenge) =>
        key.assert(user.id, { challenge, rpId, origin, counter: 1 }),
      );
      assert.equal(good.reply.status, 303);
    });

    it("accepts a challenge once, and only from the browser it was issued to", async () => {
      const { user, key } = await userWithKey();
      const first = await signInWith((challenge) =>
        key.assert(user.id, { challenge, rpId, origin, counter: 1 }),
      );
      assert.equal(first.reply.status, 303);
      // The same response again, on a new sign-in page of the same browser: its challenge is spent.
      const again = await openSignIn(first.agent);
      const replayed = await first.agent.postForm("/auth/passkey/sign-in", {
        request: again.request,
        csrf: again.csrf,
        response: first.response,
      });
      assert.equal(replayed.status, 400);
      assert.match(await replayed.text(), /expired/);
      // A challenge issued to one browser, answered from another (its own CSRF cookie and page).
      const victim = new UserAgent(server.url);
      const victimPage = await openSignIn(victim);
      const issued = await options(victim, "/auth/passkey/options", victimPage);
      const attacker = new UserAgent(server.url);
      const attackerPage = await openSignIn(attacker);
      const answer = key.assert(user.id, { challenge: issued.challenge, rpId, origin, counter: 2 });
      for (const request of [victimPage.request, attackerPage.request]) {
        const stolen = await attacker.postForm("/auth/passkey/sign-in", {
          request,
          csrf: attackerPage.csrf,
          response: answer,
        });
        assert.equal(stolen.status, 400, "the challenge is bound to the victim's sign-in and browser");
        assert.equal(attacker.cookie("latchkey_session"), undefined);
      }
      // Unspent by those attempts: the browser it was issued to still completes with it.
      const own = await victim.postForm("/auth/passkey/sign-in", {
        request: victimPage.request,
        csrf: victimPage.csrf,
        response: answer,
      });
      assert.equal(own.status, 303);
    });

    it("a forged assertion naming someone's credential, signed by another key: refused, no clone alarm, no failure on the account", async () => {
      const { user, passkeyId } = await userWithKey(10);
      const forger = new SoftAuthenticator();
      const victimCredential = (
        await server.storage.db
          .selectFrom("passkeys")
          .select("credential_id")
          .where("id", "=", passkeyId)
          .executeTakeFirstOrThrow()
      ).credential_id;
      const before = server.logs.lines.length;
      const { reply } = await signInWith((challenge) => {
        const forged = JSON.parse(forger.assert(user.id, { challenge, rpId, origin, counter: 3 })) as Record<
          string,
          unknown
        >;
        return JSON.stringify({ ...forged, id: victimCredential, rawId: victimCredential });
      });
      assert.equal(reply.status, 400);
      const entries = server.logs.lines
        .slice(before)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.ok(!entries.some((e) => e.event === "passkey_possible_clone"), "no clone alarm without the key");
      const failures = await server.storage.db
        .selectFrom("events")
        .select("id")
        .where("user_id", "=", user.id)
        .where("type", "=", "user.authentication_failed")
        .execute();
      assert.equal(failures.length, 0, "nothing counted against the account");
    });

    it("refuses a counter that went backwards or stood still, reports a possible clone, keeps the counter", async () => {
      const { user, key, passkeyId } = await userWithKey(10);
      for (const counter of [5, 10]) {
        const before = server.logs.lines.length;
        const { reply } = await signInWith((challenge) =>
          key.assert(user.id, { challenge, rpId, origin, counter }),
        );
        assert.equal(reply.status, 400, `counter ${counter}`);
        const reported = server.logs.lines
          .slice(before)
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .find((entry) => entry.event === "passkey_possible_clone");
        assert.ok(reported, "logged as a possible clone");
        assert.equal(reported.passkeyId, passkeyId);
        assert.equal(reported.storedCounter, 10);
        assert.equal(reported.presentedCounter, counter);
        assert.equal(reported.level, 40, "a warning");
      }
      const row = await server.storage.db
        .selectFrom("passkeys")
        .select("sign_count")
        .where("id", "=", passkeyId)
        .executeTakeFirstOrThrow();
      assert.equal(Number(row.sign_count), 10);
      const failures = await server.storage.db
        .selectFrom("events")
        .select("id")
        .where("user_id", "=", user.id)
        .where("type", "=", "user.authentication_failed")
        .execute();
      assert.equal(
        failures.length,
        2,
        "each refusal is the account's failed sign-in (its webhooks hear of it)",
      );
      const next = await signInWith((challenge) =>
        key.assert(user.id, { challenge, rpId, origin, counter: 11 }),
      );
      assert.equal(next.reply.status, 303, "the genuine authenticator's next use works");
    });

    it("with the passkey policy off: no button or autofill, and both routes refuse", async () => {
      const { user, key } = await userWithKey();
      const on = await openSignIn(new UserAgent(server.url));
      assert.match(on.page, /Use a passkey/);
      assert.match(on.page, /autocomplete="username webauthn"/);
      assert.match(on.page, /<script type="module" src="\/assets\/passkeys\.js"><\/script>/);
      await server.services.mfa.store.setEnvironmentSettings({ passkeyPolicy: "off" });
      const agent = new UserAgent(server.url);
      const off = await openSignIn(agent);
      assert.doesNotMatch(off.page, /passkey/i);
      assert.match(off.page, /autocomplete="username"/);
      const asked = await options(agent, "/auth/passkey/options", off);
      assert.equal(asked.status, 403);
      // A challenge issued while passkeys were on is no way around it either.
      await server.services.mfa.store.setEnvironmentSettings({ passkeyPolicy: "optional" });
      const issued = await options(agent, "/auth/passkey/options", off);
      await server.services.mfa.store.setEnvironmentSettings({ passkeyPolicy: "off" });
      const reply = await agent.postForm("/auth/passkey/sign-in", {
        request: off.request,
        csrf: off.csrf,
        response: key.assert(user.id, { challenge: issued.challenge, rpId, origin, counter: 1 }),
      });
      assert.equal(reply.status, 403);
      assert.match(await reply.text(), /turned off/);
      assert.equal(agent.cookie("latchkey_session"), undefined);
    });

    it("lets a password add a passkey under 'mandatory' only once the second factor is done", async () => {
      await server.services.mfa.store.setEnvironmentSettings({
        policy: "required",
        enabledFactors: ["mfa:authenticator_app"],
        passkeyPolicy: "mandatory",
      });
      const user = await createUser(server);
      const agent = new UserAgent(server.url);
      const opened = await openSignIn(agent);
      const afterPassword = await agent.postForm("/auth/sign-in", {
        request: opened.request,
        csrf: opened.csrf,
        email: user.email,
        password: user.password,
      });
      assert.match(await afterPassword.text(), /Set up two-step verification/);
      // Skipping ahead to the passkey step: no options, and a registration goes nowhere.
      const form = { request: opened.request, csrf: opened.csrf };
      const asked = await options(agent, "/auth/passkey/register/options", form);
      assert.equal(asked.status, 400);
      const registered = await agent.postForm("/auth/passkey/register", { ...form, response: "{}" });
      assert.equal(registered.status, 400);
      assert.match(await registered.text(), /expired/);
      const count = await server.services.passkeys.store.count(user.id);
      assert.equal(count, 0);
      // With MFA off, the same sign-in reaches the step and is given registration options.
      await server.services.mfa.store.setEnvironmentSettings({ policy: "off" });
      const next = new UserAgent(server.url);
      const page = await openSignIn(next);
      const step = await next.postForm("/auth/sign-in", {
        request: page.request,
        csrf: page.csrf,
        email: user.email,
        password: user.password,
      });
      assert.match(await step.text(), /Create a passkey/);
      const granted = await options(next, "/auth/passkey/register/options", page);
      assert.equal(granted.status, 200);
      assert.equal(next.cookie("latchkey_session"), undefined, "no session until the passkey exists");
    });

    it("follows an organization's passkey policy for a sign-in into it", async () => {
      const { user, key } = await userWithKey();
      const org = await server.services.organizations.create({ name: "No passkeys here" });
      await server.services.mfa.store.setOrganizationSettings(org.code, { passkeyPolicy: "off" });
      const agent = new UserAgent(server.url);
      const into = await openSignIn(agent, { org_code: org.code });
      assert.doesNotMatch(into.page, /passkey/i, "no button for a sign-in into the organization");
      assert.equal((await options(agent, "/auth/passkey/options", into)).status, 403);
      const elsewhere = await openSignIn(agent);
      assert.match(elsewhere.page, /Use a passkey/, "the environment's policy elsewhere");
      const ok = await signInWith((challenge) =>
        key.assert(user.id, { challenge, rpId, origin, counter: 1 }),
      );
      assert.equal(ok.reply.status, 303);
    });

    it("signs in silently under 'mandatory' only a session whose account has a passkey", async () => {
      const user = await createUser(server);
      const agent = new UserAgent(server.url);
      const opened = await openSignIn(agent);
      const signedIn = await agent.postForm("/auth/sign-in", {
        request: opened.request,
        csrf: opened.csrf,
        email: user.email,
        password: user.password,
      });
      assert.equal(signedIn.status, 303, "optional: the password alone signs in");
      const silent = async () =>
        (await agent.redirectFrom(authorizationUrl(server, spa.clientId, CALLBACK, { prompt: "none" })))
          .searchParams;
      assert.ok((await silent()).get("code"), "the session signs in silently");
      await server.services.mfa.store.setEnvironmentSettings({ passkeyPolicy: "mandatory" });
      assert.equal((await silent()).get("error"), "login_required", "no passkey yet: through the pages");
      await new SoftAuthenticator().saveFor(server, user.id);
      assert.ok((await silent()).get("code"), "with a passkey the session is enough again");
    });

    it("drops a passkey added before the account's address was proved, when the mailbox's owner signs in by code", async () => {
      // Someone signed up with another person's address (unverified) and added a passkey of theirs.
      const email = `claimed-${Date.now()}@example.com`;
      const squatted = await server.services.users.create({ email, password: "the squatter's passphrase" });
      const key = new SoftAuthenticator();
      await key.saveFor(server, squatted.id);
      const before = await signInWith((challenge) =>
        key.assert(squatted.id, { challenge, rpId, origin, counter: 1 }),
      );
      assert.equal(before.reply.status, 303, "the passkey signs in while the address is unproved");

      const owner = new UserAgent(server.url);
      const start = await owner.redirectFrom(authorizationUrl(server, spa.clientId, CALLBACK));
      const hidden = await owner.openForm(new URL(`/auth/email-code${start.search}`, server.url));
      assert.equal((await owner.postForm("/auth/email-code", { ...hidden, email })).status, 200);
      const [mail] = await messagesTo(server, email);
      const signedIn = await owner.postForm("/auth/email-code/verify", {
        ...hidden,
        code: codeIn(mail!.text),
      });
      assert.equal(signedIn.status, 303, await signedIn.clone().text());

      const after = await signInWith((challenge) =>
        key.assert(squatted.id, { challenge, rpId, origin, counter: 2 }),
      );
      assert.notEqual(after.reply.status, 303, "the squatter's passkey opens nothing any more");
      const left = await server.storage.db
        .selectFrom("passkeys")
        .select("id")
        .where("user_id", "=", squatted.id)
        .execute();
      assert.deepEqual(left, []);
    });

    it("offers no passkey under an issuer whose host is an IP address (no RP ID a browser accepts)", async () => {
      const byAddress = await startTestServer(kind);
      try {
        assert.match(byAddress.url, /^http:\/\/127\.0\.0\.1:/);
        const agent = new UserAgent(byAddress.url);
        const app = await createApplication(byAddress, "spa");
        const start = await agent.redirectFrom(authorizationUrl(byAddress, app.clientId, CALLBACK));
        const page = await (
          await agent.request(new URL(`/auth/sign-in${start.search}`, byAddress.url))
        ).text();
        assert.match(page, /Sign in/);
        assert.doesNotMatch(page, /passkey/i);
        const request = /name="request" value="([^"]*)"/.exec(page)?.[1] ?? "";
        const csrf = /name="csrf" value="([^"]*)"/.exec(page)?.[1] ?? "";
        const reply = await agent.postForm("/auth/passkey/options", { request, csrf });
        assert.equal(reply.status, 403);
      } finally {
        await byAddress.close();
      }
    });

    it("is a second factor after a password: amr [pwd, hwk, mfa]; another user's passkey is refused", async () => {
      await server.services.mfa.store.setEnvironmentSettings({
        policy: "required",
        enabledFactors: ["mfa:authenticator_app"],
      });
      const { user, key } = await userWithKey(1);
      const other = await userWithKey(1);
      const agent = new UserAgent(server.url);
      const opened = await openSignIn(agent);
      const afterPassword = await agent.postForm("/auth/sign-in", {
        request: opened.request,
        csrf: opened.csrf,
        email: user.email,
        password: user.password,
      });
      assert.equal(afterPassword.status, 200);
      const page = await afterPassword.text();
      assert.match(page, /Two-step verification/);
      assert.match(page, /action="\/auth\/mfa\/passkey"/, "the passkey is offered first");
      assert.equal(agent.cookie("latchkey_session"), undefined, "no session before the second factor");
      const form = { request: opened.request, csrf: opened.csrf };
      const asked = await options(agent, "/auth/mfa/passkey/options", form);
      assert.equal(asked.status, 200);
      const wrong = await agent.postForm("/auth/mfa/passkey", {
        ...form,
        response: other.key.assert(other.user.id, { challenge: asked.challenge, rpId, origin, counter: 2 }),
      });
      assert.equal(wrong.status, 400, "a passkey of another account");
      const again = await options(agent, "/auth/mfa/passkey/options", form);
      const done = await agent.postForm("/auth/mfa/passkey", {
        ...form,
        // Possession is the second factor: user verification is not asked for here.
        response: key.assert(user.id, {
          challenge: again.challenge,
          rpId,
          origin,
          counter: 2,
          userVerified: false,
        }),
      });
      assert.equal(done.status, 303, await done.clone().text());
      const claims = await claimsFor(done.headers.get("location")!, opened.verifier);
      assert.deepEqual([...(claims.amr as string[])].sort(), ["hwk", "mfa", "pwd"]);
    });
  });
}
