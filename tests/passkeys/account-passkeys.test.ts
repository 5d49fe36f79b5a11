// Issue 22, /account/passkeys over HTTP on SQLite and PostgreSQL: only the account pages' own
// sign-in of the last 15 minutes, with the second factor the account owns, opens it — not an
// application's session, not a password alone (otherwise the browser goes to the account pages'
// sign-in and nothing changes) — forms need the CSRF token, a passkey is renamed or removed only by
// its owner, and removing one ends the owner's other sessions and their refresh tokens, with a
// passkey.removed event.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import type { Clock } from "../../src/clock.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { freePort, startTestServer, type TestServer } from "../helpers/server.js";
import { signedInUserAgent, UserAgent } from "../helpers/user-agent.js";
import { SoftAuthenticator } from "./soft-authenticator.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`/account/passkeys (${kind})`, { skip }, () => {
    let server: TestServer;
    let spa: { clientId: string };
    let offset = 0;
    const clock: Clock = { now: () => Math.floor(Date.now() / 1000) + offset };

    before(async () => {
      const port = await freePort();
      server = await startTestServer(kind, { clock, port, env: { ISSUER_URL: `http://localhost:${port}` } });
      spa = await createApplication(server, "spa");
    });
    after(async () => server?.close());
    beforeEach(async () => {
      offset = 0;
      await server.services.mfa.store.setEnvironmentSettings({ policy: "off", passkeyPolicy: "optional" });
    });

    /**
     * A person with a passkey, signed in to the account pages with it: /account/passkeys sends the
     * browser through the authorization endpoint, the passkey answers on the sign-in page, and the
     * account pages' callback brings it back.
     */
    async function signedIn() {
      const user = await createUser(server);
      const key = new SoftAuthenticator();
      const passkeyId = await key.saveFor(server, user.id);
      // The issuer is http://localhost:PORT (passkeys need a domain): the browser talks to it there.
      const agent = new UserAgent(server.config.issuerUrl);
      let location = new URL("/account/passkeys", server.config.issuerUrl);
      for (let hop = 0; hop < 4 && location.pathname !== "/auth/sign-in"; hop++)
        location = await agent.redirectFrom(location);
      assert.equal(location.pathname, "/auth/sign-in");
      const page = await (await agent.request(location)).text();
      const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(page)?.[1] ?? "";
      const form = { request: field("request"), csrf: field("csrf") };
      const asked = await agent.postForm("/auth/passkey/options", form);
      const { options } = (await asked.json()) as { options: { challenge: string } };
      const response = key.assert(user.id, {
        challenge: options.challenge,
        rpId: new URL(server.config.issuerUrl).hostname,
        origin: new URL(server.config.issuerUrl).origin,
        counter: 1,
      });
      const done = await agent.postForm("/auth/passkey/sign-in", { ...form, response });
      assert.equal(done.status, 303, await done.clone().text());
      const back = await agent.redirectFrom(new URL(done.headers.get("location")!, server.config.issuerUrl));
      assert.equal(back.pathname, "/account/passkeys");
      return { user, passkeyId, agent };
    }

    async function csrfOf(agent: UserAgent): Promise<string> {
      const page = await (await agent.request("/account/passkeys")).text();
      const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1];
      assert.ok(csrf, "the page carries the CSRF token");
      return csrf;
    }

    const nameOf = async (id: string) =>
      (await server.storage.db.selectFrom("passkeys").select("name").where("id", "=", id).executeTakeFirst())
        ?.name;

    it("lists the passkeys of a recent sign-in, and sends an older one to sign in again without changing anything", async () => {
      const { agent, passkeyId } = await signedIn();
      const page = await agent.request("/account/passkeys");
      assert.equal(page.status, 200);
      const body = await page.text();
      assert.match(body, /Soft key/);
      assert.doesNotMatch(body, /Last used Never/, "the sign-in just used it");
      const csrf = await csrfOf(agent);

      offset = 16 * 60;
      const stale = await agent.request("/account/passkeys");
      assert.equal(stale.status, 302);
      assert.equal(stale.headers.get("location"), "/account/sign-in?return=%2Faccount%2Fpasskeys");
      const removal = await agent.postForm(`/account/passkeys/${passkeyId}/remove`, { csrf });
      assert.equal(removal.status, 303);
      assert.equal(removal.headers.get("location"), "/account/sign-in?return=%2Faccount%2Fpasskeys");
      assert.equal(await nameOf(passkeyId), "Soft key", "not removed");
      const options = await agent.postForm("/account/passkeys/options", { csrf });
      assert.equal(options.status, 400, "no registration options either");
    });

    it("does not open for an application's session, nor for a password alone when the account owns a passkey", async () => {
      const { user, passkeyId } = await signedIn();
      // Signed in to an application (a connection's session would be limited to it): not enough.
      const app = await signedInUserAgent(server, spa.clientId, CALLBACK, user);
      const page = await app.request("/account/passkeys");
      assert.equal(page.status, 302);
      // The account pages' sign-in then asks for the second factor the account owns, policy off.
      let location = new URL(page.headers.get("location")!, server.url);
      for (let hop = 0; hop < 4 && location.pathname !== "/auth/sign-in"; hop++)
        location = await app.redirectFrom(location);
      const hidden = await app.openForm(location);
      const password = await app.postForm("/auth/sign-in", { ...hidden, ...user });
      assert.equal(password.status, 200, "a password alone does not finish this sign-in");
      assert.match(await password.text(), /Two-step verification/);
      assert.equal(await nameOf(passkeyId), "Soft key");
    });

    it("renames only with the CSRF token, only the owner's passkey, and keeps names short and printable", async () => {
      const { agent, passkeyId } = await signedIn();
      const other = await signedIn();
      const csrf = await csrfOf(agent);
      const forged = await agent.postForm(`/account/passkeys/${passkeyId}/rename`, { name: "Forged" });
      assert.equal(forged.status, 403);
      assert.equal(await nameOf(passkeyId), "Soft key");
      const renamed = await agent.postForm(`/account/passkeys/${passkeyId}/rename`, {
        csrf,
        name: ` Work\u0007 laptop ${"x".repeat(200)}`,
      });
      assert.equal(renamed.status, 303);
      assert.equal(renamed.headers.get("location"), "/account/passkeys?done=renamed");
      const name = await nameOf(passkeyId);
      assert.ok(name?.startsWith("Work laptop x"), name);
      assert.equal(name?.length, 100);
      const notMine = await agent.postForm(`/account/passkeys/${other.passkeyId}/rename`, {
        csrf,
        name: "Mine",
      });
      assert.equal(notMine.status, 400);
      assert.equal(await nameOf(other.passkeyId), "Soft key");
      const gone = await agent.postForm(`/account/passkeys/${other.passkeyId}/remove`, { csrf });
      assert.equal(gone.status, 404);
      assert.equal(await nameOf(other.passkeyId), "Soft key", "another account's passkey stays");
    });

    it("removing a passkey ends the other sessions and their refresh tokens, and records passkey.removed", async () => {
      const { user, agent, passkeyId } = await signedIn();
      const elsewhere = await signedInUserAgent(server, spa.clientId, CALLBACK, user);
      await server.storage.db
        .insertInto("grants")
        .values([
          grant("grant_elsewhere", user.id, await sessionOf(elsewhere)),
          grant("grant_here", user.id, await sessionOf(agent)),
        ])
        .execute();
      const csrf = await csrfOf(agent);
      const removed = await agent.postForm(`/account/passkeys/${passkeyId}/remove`, { csrf });
      assert.equal(removed.status, 303);
      assert.equal(await nameOf(passkeyId), undefined);
      assert.equal((await agent.request("/account/passkeys")).status, 200, "this browser stays signed in");
      assert.equal(
        await server.services.sessions.find(elsewhere.cookie("latchkey_session")),
        undefined,
        "the other is signed out",
      );
      const grants = await server.storage.db
        .selectFrom("grants")
        .select(["id", "revoked_at"])
        .where("user_id", "=", user.id)
        .orderBy("id")
        .execute();
      assert.deepEqual(
        grants.map((g) => [g.id, g.revoked_at !== null]),
        [
          ["grant_elsewhere", true],
          ["grant_here", false],
        ],
      );
      const events = await server.storage.db
        .selectFrom("events")
        .select(["type", "source", "data"])
        .where("user_id", "=", user.id)
        .where("type", "like", "passkey.%")
        .execute();
      assert.equal(events.length, 1);
      assert.equal(events[0]!.type, "passkey.removed");
      assert.equal(events[0]!.source, "user");
      assert.deepEqual(JSON.parse(events[0]!.data), {
        user: { id: user.id },
        passkey: { id: passkeyId, name: "Soft key", device_type: "singleDevice", backed_up: false },
      });
    });

    async function sessionOf(agent: UserAgent): Promise<string> {
      const session = await server.services.sessions.find(agent.cookie("latchkey_session"));
      assert.ok(session);
      return session.id;
    }

    function grant(id: string, userId: string, sessionId: string) {
      const now = clock.now();
      return {
        id,
        client_id: spa.clientId,
        user_id: userId,
        session_id: sessionId,
        scope: "openid offline",
        audience: "[]",
        auth_time: now,
        created_at: now,
        revoked_at: null,
        revoked_reason: null,
      };
    }
  });
}
