// Approving a device is a silent sign-in to the device's application (security review M2): a
// session older than the application's authenticated_session_lifetime, or than the lifetime of the
// organization the approval enters, cannot approve; /device asks the person to sign in again, as
// the authorization endpoint would (src/sign-in/session-lifetime.ts). Server clock moved forward;
// both databases.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, beforeEach, describe, it } from "node:test";
import type { Clock } from "../../src/clock.js";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { backChannel } from "../helpers/tokens.js";
import { UserAgent } from "../helpers/user-agent.js";

const GRANT = "urn:ietf:params:oauth:grant-type:device_code";

for (const { kind, skip } of await databaseKinds()) {
  describe(`device approval within session lifetimes (${kind})`, { skip }, () => {
    let server: TestServer;
    let offset = 0;
    const clock: Clock = { now: () => Math.floor(Date.now() / 1000) + offset };
    before(async () => {
      server = await startTestServer(kind, { clock });
    });
    after(async () => server?.close());
    beforeEach(() => {
      offset = 0;
    });

    const post = async (path: string, fields: Record<string, string>) =>
      (await backChannel<Record<string, string>>(server, path, fields)).body;
    const csrfOf = (html: string) => {
      const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
      assert.ok(csrf, "the page carries a CSRF token");
      return csrf;
    };

    async function signedInAgent(user: { email: string; password: string }): Promise<UserAgent> {
      const agent = new UserAgent(server.url);
      const first = await agent.request("/device");
      assert.equal(first.status, 302);
      const callback = await agent.authorize(new URL(first.headers.get("location")!, server.url), user);
      await agent.redirectFrom(callback);
      return agent;
    }

    /** Starts a device request for `clientId` and answers "approve" with the agent's session. */
    async function approve(agent: UserAgent, clientId: string) {
      const started = await post("/oauth2/device/auth", { client_id: clientId, scope: "openid" });
      const confirm = await agent.request(`/device?user_code=${started.user_code}`);
      assert.equal(confirm.status, 200);
      const answered = await agent.postForm("/device/decision", {
        csrf: csrfOf(await confirm.text()),
        user_code: started.user_code!,
        decision: "approve",
      });
      const html = await answered.text();
      const pending = await post("/oauth2/token", {
        grant_type: GRANT,
        client_id: clientId,
        device_code: started.device_code!,
      });
      return { html, approved: pending.error !== "authorization_pending" };
    }

    it("an application's session lifetime bounds who can approve", async () => {
      const { clientId } = await createApplication(server, "device", { callbackUrls: [], logoutUrls: [] });
      const set = await callApi(server, "PATCH", `/api/v1/applications/${clientId}/tokens`, {
        body: { authenticated_session_lifetime: 600 },
      });
      assert.equal(set.status, 200, JSON.stringify(set.body));
      const user = await createUser(server);
      const agent = await signedInAgent(user);
      offset = 601;
      const late = await approve(agent, clientId);
      assert.match(late.html, /Sign in again/);
      assert.equal(late.approved, false, "nothing was approved");
      offset = 0;
      const young = await approve(agent, clientId);
      assert.match(young.html, /Your device is signed in/);
      assert.equal(young.approved, true);
    });

    it("the entered organization's session lifetime bounds who can approve", async () => {
      const { clientId } = await createApplication(server, "device", { callbackUrls: [], logoutUrls: [] });
      const user = await createUser(server);
      const created = await callApi<{ organization: { code: string } }>(
        server,
        "POST",
        "/api/v1/organization",
        {
          body: { name: `Org ${randomBytes(3).toString("hex")}` },
        },
      );
      const code = created.body.organization.code;
      await callApi(server, "POST", `/api/v1/organizations/${code}/users`, {
        body: { users: [{ id: user.id }] },
      });
      const sessions = await callApi(server, "PATCH", `/api/v1/organizations/${code}/sessions`, {
        body: { is_use_org_authenticated_session_lifetime: true, authenticated_session_lifetime: 900 },
      });
      assert.equal(sessions.status, 200, JSON.stringify(sessions.body));
      const agent = await signedInAgent(user);
      // The organization the approval enters: the one the person last signed into.
      await server.storage.db
        .updateTable("organization_users")
        .set({ last_accessed_at: clock.now() + 10 })
        .where("org_code", "=", code)
        .where("user_id", "=", user.id)
        .execute();
      offset = 901;
      const late = await approve(agent, clientId);
      assert.match(late.html, /Sign in again/);
      assert.equal(late.approved, false);
      offset = 0;
      const young = await approve(agent, clientId);
      assert.equal(young.approved, true);
    });
  });
}
