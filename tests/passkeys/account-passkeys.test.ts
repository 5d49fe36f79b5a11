// Issue 22, /account/passkeys over HTTP on SQLite and PostgreSQL: only a sign-in of the last 15
// minutes that meets today's MFA policy opens it (otherwise the browser goes to the account pages'
// sign-in and nothing changes), forms need the CSRF token, a passkey is renamed or removed only by
// its owner, and removing one ends the owner's other sessions and their refresh tokens, with a
// passkey.removed event.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import type { Clock } from "../../src/clock.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { freePort, startTestServer, type TestServer } from "../helpers/server.js";
import { signedInUserAgent, type UserAgent } from "../helpers/user-agent.js";
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

    async function signedIn() {
      const user = await createUser(server);
      const passkeyId = await new SoftAuthenticator().saveFor(server, user.id);
      const agent = await signedInUserAgent(server, spa.clientId, CALLBACK, user);
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
      assert.match(body, /Last used Never/);
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

    it("sends a session that no longer meets the MFA policy to sign in again", async () => {
      const { agent } = await signedIn();
      assert.equal((await agent.request("/account/passkeys")).status, 200);
      await server.services.mfa.store.setEnvironmentSettings({
        policy: "required",
        enabledFactors: ["mfa:authenticator_app"],
      });
      const page = await agent.request("/account/passkeys");
      assert.equal(page.status, 302, "a password-only session, and the policy now asks for a second factor");
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
      assert.equal((await elsewhere.request("/account/passkeys")).status, 302, "the other is signed out");
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
