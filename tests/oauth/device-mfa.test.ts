// /device signs people in through the ordinary sign-in pages, so every step the policy asks
// applies there: with two-step verification required, a session from before the policy cannot
// approve a device (it is offered a new sign-in), and that sign-in asks for the second factor
// before /device sees the person again.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { codeIn, messagesTo } from "../helpers/mail.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { backChannel } from "../helpers/tokens.js";
import { UserAgent } from "../helpers/user-agent.js";

const GRANT = "urn:ietf:params:oauth:grant-type:device_code";

for (const { kind, skip } of await databaseKinds()) {
  describe(`device flow under a second-factor policy (${kind})`, { skip }, () => {
    let server: TestServer;
    let deviceClient: string;

    before(async () => {
      server = await startTestServer(kind);
      deviceClient = (await createApplication(server, "device", { callbackUrls: [], logoutUrls: [] }))
        .clientId;
    });
    after(async () => server?.close());

    const post = async (path: string, fields: Record<string, string>) =>
      (await backChannel<Record<string, string>>(server, path, fields)).body;
    const csrfOf = (html: string) => {
      const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
      assert.ok(csrf, "the page carries a CSRF token");
      return csrf;
    };

    it("a session short of the second factor cannot approve; the new sign-in asks for it", async () => {
      const user = await createUser(server);
      // Signed in at /device while no second factor was asked for.
      const agent = new UserAgent(server.url);
      const first = await agent.request("/device");
      assert.equal(first.status, 302);
      const callback = await agent.authorize(new URL(first.headers.get("location")!, server.url), user);
      await agent.redirectFrom(callback);

      await server.services.mfa.store.setEnvironmentSettings({
        policy: "required",
        enabledFactors: ["mfa:email"],
      });
      const started = await post("/oauth2/device/auth", { client_id: deviceClient, scope: "openid" });
      const confirm = await agent.request(`/device?user_code=${started.user_code}`);
      const confirmHtml = await confirm.text();
      assert.equal(confirm.status, 200);
      const refused = await agent.postForm("/device/decision", {
        csrf: csrfOf(confirmHtml),
        user_code: started.user_code!,
        decision: "approve",
      });
      const again = await refused.text();
      assert.match(again, /Sign in again/);
      const pending = await post("/oauth2/token", {
        grant_type: GRANT,
        client_id: deviceClient,
        device_code: started.device_code!,
      });
      assert.equal(pending.error, "authorization_pending", "nothing was approved");

      // The new sign-in (prompt=login): password, then the code mailed as the second factor.
      const restart = await agent.postForm("/device/sign-in", {
        csrf: csrfOf(again),
        user_code: started.user_code!,
      });
      assert.equal(restart.status, 303);
      const authorize = new URL(restart.headers.get("location")!, server.url);
      assert.equal(authorize.searchParams.get("prompt"), "login");
      const signInPage = await agent.redirectFrom(authorize);
      const hidden = await agent.openForm(signInPage);
      const afterPassword = await agent.postForm("/auth/sign-in", {
        ...hidden,
        email: user.email,
        password: user.password,
      });
      assert.equal(afterPassword.status, 200, "no code yet: the second step's page");
      assert.match(await afterPassword.text(), /Code from your email/);
      const mail = (await messagesTo(server, user.email)).find((m) => m.kind === "mfa_code");
      assert.ok(mail, "a code went out");
      const done = await agent.postForm("/auth/mfa/email/verify", { ...hidden, code: codeIn(mail.text) });
      assert.equal(done.status, 303, await done.text());
      const back = await agent.redirectFrom(new URL(done.headers.get("location")!, server.url));
      assert.equal(back.pathname + back.search, `/device?user_code=${started.user_code}`);

      const confirmed = await (await agent.request(back)).text();
      const approved = await agent.postForm("/device/decision", {
        csrf: csrfOf(confirmed),
        user_code: started.user_code!,
        decision: "approve",
      });
      assert.match(await approved.text(), /Your device is signed in/);
      await server.storage.db.updateTable("device_codes").set({ last_polled_at: null }).execute();
      const tokens = await post("/oauth2/token", {
        grant_type: GRANT,
        client_id: deviceClient,
        device_code: started.device_code!,
      });
      assert.ok(tokens.access_token, JSON.stringify(tokens));
    });
  });
}
