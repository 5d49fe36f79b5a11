// Issue 16, Kinde's is_temporary_password and is_password_reset_requested, on SQLite and PostgreSQL:
// the account chooses a new password as a step of its next sign-in, before any code is minted; a
// session does not skip the step.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`choosing a new password at sign-in (${kind})`, { skip }, () => {
    let server: TestServer;
    let spa: { clientId: string };

    before(async () => {
      server = await startTestServer(kind);
      spa = await createApplication(server, "spa");
    });
    after(async () => server?.close());

    /** Signs in on the hosted page; the reply to the password form and the form's hidden fields. */
    async function signIn(browser: UserAgent, email: string, password: string) {
      const start = await browser.redirectFrom(authorizationUrl(server, spa.clientId, CALLBACK));
      const hidden = await browser.openForm(new URL(`/auth/sign-in${start.search}`, server.url));
      return { reply: await browser.postForm("/auth/sign-in", { ...hidden, email, password }), hidden };
    }

    it("makes a temporary password be replaced before the sign-in finishes", async () => {
      const user = await createUser(server);
      const temporary = `temporary-${randomBytes(6).toString("hex")}`;
      const set = await callApi(server, "PUT", `/api/v1/users/${user.id}/password`, {
        body: { password: temporary, is_temporary_password: true },
      });
      assert.equal(set.status, 200);
      const browser = new UserAgent(server.url);
      const { reply, hidden } = await signIn(browser, user.email, temporary);
      assert.equal(reply.status, 200);
      assert.match(await reply.text(), /Choose a new password/);
      assert.equal(browser.cookie("latchkey_session"), undefined);

      const weak = await browser.postForm("/auth/choose-password", { ...hidden, password: "password123" });
      assert.equal(weak.status, 400);
      const chosen = `chosen-${randomBytes(6).toString("hex")}`;
      const done = await browser.postForm("/auth/choose-password", { ...hidden, password: chosen });
      assert.equal(done.status, 303, await done.text());
      assert.ok(new URL(done.headers.get("location")!).searchParams.get("code"));

      await assert.rejects(
        new UserAgent(server.url).authorize(authorizationUrl(server, spa.clientId, CALLBACK), {
          email: user.email,
          password: temporary,
        }),
        /expected a redirect/,
      );
      const again = await new UserAgent(server.url).authorize(
        authorizationUrl(server, spa.clientId, CALLBACK),
        {
          email: user.email,
          password: chosen,
        },
      );
      assert.ok(again.searchParams.get("code"), "no step the second time");
    });

    it("asks for a new password after an administrator requests a reset, even of a signed-in browser", async () => {
      const user = await createUser(server);
      const browser = new UserAgent(server.url);
      await browser.authorize(authorizationUrl(server, spa.clientId, CALLBACK), user);
      const requested = await callApi<{ is_password_reset_requested: boolean }>(
        server,
        "PATCH",
        `/api/v1/user?id=${user.id}`,
        { body: { is_password_reset_requested: true } },
      );
      assert.equal(requested.status, 200);
      assert.equal(requested.body.is_password_reset_requested, true);
      const silent = await browser.redirectFrom(
        authorizationUrl(server, spa.clientId, CALLBACK, { prompt: "none" }),
      );
      assert.equal(silent.searchParams.get("error"), "login_required");
      const { reply } = await signIn(new UserAgent(server.url), user.email, user.password);
      assert.match(await reply.text(), /Choose a new password/);
    });

    it("lets only the browser that signed in choose: another one with the request id gets nothing", async () => {
      const user = await createUser(server);
      await server.services.users.update(user.id, {}, undefined, true);
      const { hidden } = await signIn(new UserAgent(server.url), user.email, user.password);
      const other = new UserAgent(server.url);
      await other.openForm(new URL(`/auth/sign-in?request=${hidden.request}`, server.url));
      const reply = await other.postForm("/auth/choose-password", {
        request: hidden.request!,
        csrf: other.cookie("latchkey_csrf")!,
        password: `mine-${randomBytes(6).toString("hex")}`,
      });
      assert.equal(reply.status, 400);
      assert.equal((await server.services.users.store.findById(user.id))!.password_change_required, 1);
    });
  });
}
