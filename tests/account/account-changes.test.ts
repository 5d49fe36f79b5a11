// Issue 22, the account page's changes, on SQLite and PostgreSQL: a new password (the current one
// needed and throttled) ends every session and refresh token and tells the owner; "sign out
// everywhere" does what it says, even from a sign-in too old for other changes; a connected app is
// disconnected by its owner only.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { messagesTo } from "../helpers/mail.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";
import { hiddenFields, type MovableClock, movableClock, signInToAccount } from "./support.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`account page changes (${kind})`, { skip }, () => {
    let server: TestServer;
    let clock: MovableClock;
    let spa: { clientId: string };

    before(async () => {
      clock = movableClock();
      server = await startTestServer(kind, { clock });
      spa = await createApplication(server, "spa");
    });
    after(async () => server?.close());

    /** Whether a browser still signs in to the application without a form (its session lives). */
    async function signedIn(agent: UserAgent): Promise<boolean> {
      const silent = await agent.redirectFrom(
        authorizationUrl(server, spa.clientId, CALLBACK, { prompt: "none" }),
      );
      return silent.searchParams.has("code");
    }

    it("changes the password with the current one, and ends every session", async () => {
      const user = await createUser(server);
      const agent = new UserAgent(server.url);
      const { page } = await signInToAccount(server, agent, user);
      const other = new UserAgent(server.url);
      await other.authorize(authorizationUrl(server, spa.clientId, CALLBACK), user);
      assert.ok(await signedIn(other));
      const { csrf } = hiddenFields(page);
      const chosen = `new-${randomBytes(8).toString("hex")}`;

      const weak = await agent.postForm("/account/password", {
        csrf: csrf!,
        current_password: user.password,
        new_password: "password",
      });
      assert.equal(weak.status, 400);
      assert.match(await weak.text(), /id="password-error"/);
      const wrong = await agent.postForm("/account/password", {
        csrf: csrf!,
        current_password: "not-the-password",
        new_password: chosen,
      });
      assert.equal(wrong.status, 400);
      assert.match(await wrong.text(), /current password is not right/);

      const changed = await agent.postForm("/account/password", {
        csrf: csrf!,
        current_password: user.password,
        new_password: chosen,
      });
      assert.equal(changed.status, 200);
      assert.match(await changed.text(), /Password changed/);
      assert.equal(agent.cookie("latchkey_session"), undefined, "this browser's session cookie is gone");
      assert.equal(await signedIn(other), false, "the other browser is signed out");
      assert.equal((await agent.redirectFrom("/account")).pathname, "/oauth2/auth");
      assert.ok((await messagesTo(server, user.email)).some((m) => m.kind === "password_changed"));

      await assert.rejects(
        signInToAccount(server, new UserAgent(server.url), user),
        /sign-in ended with 401/,
      );
      const { page: again } = await signInToAccount(server, new UserAgent(server.url), {
        email: user.email,
        password: chosen,
      });
      assert.match(again, /<h1>Your account<\/h1>/);
    });

    it("stops guessing the current password after a handful of tries", async () => {
      const user = await createUser(server);
      const agent = new UserAgent(server.url);
      const { page } = await signInToAccount(server, agent, user);
      const { csrf } = hiddenFields(page);
      const attempt = (current: string) =>
        agent.postForm("/account/password", {
          csrf: csrf!,
          current_password: current,
          new_password: `new-${randomBytes(8).toString("hex")}`,
        });
      for (let i = 0; i < 5; i++) assert.equal((await attempt(`guess-${i}`)).status, 400);
      const throttled = await attempt(user.password);
      assert.equal(throttled.status, 429, "even the right one waits");
      assert.ok(Number(throttled.headers.get("retry-after")) > 0);
      assert.equal((await agent.request("/account")).status, 200, "still signed in with the old password");
    });

    it("signs out everywhere, even from a sign-in too old for other changes", async () => {
      const user = await createUser(server);
      const agent = new UserAgent(server.url);
      const { page } = await signInToAccount(server, agent, user);
      const other = new UserAgent(server.url);
      await other.authorize(authorizationUrl(server, spa.clientId, CALLBACK), user);
      assert.match(page, /id="sessions"[\s\S]*\(this browser\)/);
      clock.advance(60 * 60);
      const out = await agent.postForm("/account/sessions/sign-out-everywhere", {
        csrf: hiddenFields(page).csrf!,
      });
      assert.equal(out.status, 200);
      assert.match(await out.text(), /Signed out everywhere/);
      assert.equal(await signedIn(other), false);
      assert.equal(await signedIn(agent), false);
    });

    it("disconnects the person's own connected app, and only theirs", async () => {
      const ref = `drive-${randomBytes(3).toString("hex")}`;
      await server.services.connectedApps.create({
        key_code_ref: ref,
        provider: "oauth2",
        name: "Team Drive",
        client_id: "client",
        client_secret: "secret",
        callback_url: "https://app.example.com/connected",
        settings: {
          authorization_url: "https://provider.example.com/authorize",
          token_url: "https://provider.example.com/token",
        },
      });
      const owner = await createUser(server);
      const stranger = await createUser(server);
      const connect = async (userId: string) => {
        const id = `conn_${randomBytes(8).toString("hex")}`;
        const now = clock.now();
        await server.storage.db
          .insertInto("connections")
          .values({
            id,
            key_code_ref: ref,
            user_id: userId,
            status: "connected",
            start_token_hash: `unused-${id}`,
            callback_url: "https://app.example.com/connected",
            created_at: now,
            expires_at: now + 600,
            updated_at: now,
          })
          .execute();
        return id;
      };
      const mine = await connect(owner.id);
      const theirs = await connect(stranger.id);
      const agent = new UserAgent(server.url);
      const { page } = await signInToAccount(server, agent, owner);
      assert.match(page, /id="connected-apps"[\s\S]*Team Drive/);
      const { csrf } = hiddenFields(page);

      const refused = await agent.postForm("/account/connected-apps/revoke", { csrf: csrf!, id: theirs });
      assert.equal(refused.status, 404);
      const done = await agent.postForm("/account/connected-apps/revoke", { csrf: csrf!, id: mine });
      assert.equal(done.status, 303);
      assert.equal(done.headers.get("location"), "/account?done=app_disconnected");
      const status = async (id: string) =>
        (
          await server.storage.db
            .selectFrom("connections")
            .select("status")
            .where("id", "=", id)
            .executeTakeFirst()
        )?.status;
      assert.equal(await status(mine), "revoked");
      assert.equal(await status(theirs), "connected");
      assert.doesNotMatch(await (await agent.request("/account")).text(), /Team Drive/);
    });
  });
}
