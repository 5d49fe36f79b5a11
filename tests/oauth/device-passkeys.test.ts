// /device judges a session as the authorization endpoint judges a silent sign-in
// (session-admission.ts), the passkey rule included: under "mandatory" passkeys a session whose
// account has none cannot approve a device (it is offered a new sign-in, whose last step creates
// one), and the same session can once a passkey exists.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { freePort, startTestServer, type TestServer } from "../helpers/server.js";
import { backChannel } from "../helpers/tokens.js";
import { UserAgent } from "../helpers/user-agent.js";
import { SoftAuthenticator } from "../passkeys/soft-authenticator.js";

const GRANT = "urn:ietf:params:oauth:grant-type:device_code";

for (const { kind, skip } of await databaseKinds()) {
  describe(`device flow under mandatory passkeys (${kind})`, { skip }, () => {
    let server: TestServer;
    let deviceClient: string;

    before(async () => {
      // WebAuthn wants a domain as RP ID: under an IP address issuer passkeys are off.
      const port = await freePort();
      server = await startTestServer(kind, { port, env: { ISSUER_URL: `http://localhost:${port}` } });
      deviceClient = (await createApplication(server, "device", { callbackUrls: [], logoutUrls: [] }))
        .clientId;
    });
    after(async () => server?.close());

    const post = async (path: string, fields: Record<string, string>) =>
      (await backChannel<Record<string, string>>(server, path, fields)).body;
    /** The answer to the device's code on its confirmation page: the page it leads to. */
    const approve = async (agent: UserAgent, userCode: string) => {
      const confirm = await (await agent.request(`/device?user_code=${userCode}`)).text();
      const csrf = /name="csrf" value="([^"]+)"/.exec(confirm)?.[1];
      assert.ok(csrf, `the confirmation carries a CSRF token: ${confirm.slice(0, 300)}`);
      const answered = await agent.postForm("/device/decision", {
        csrf,
        user_code: userCode,
        decision: "approve",
      });
      return answered.text();
    };

    it("a session whose account has no passkey cannot approve; with one it can", async () => {
      await server.services.mfa.store.setEnvironmentSettings({ policy: "off", passkeyPolicy: "optional" });
      const user = await createUser(server);
      const agent = new UserAgent(server.url);
      const first = await agent.request("/device");
      assert.equal(first.status, 302);
      const callback = await agent.authorize(new URL(first.headers.get("location")!, server.url), user);
      // The callback is on the issuer's origin (localhost); this agent keeps its cookies for server.url.
      await agent.redirectFrom(new URL(`${callback.pathname}${callback.search}`, server.url));

      await server.services.mfa.store.setEnvironmentSettings({ passkeyPolicy: "mandatory" });
      const started = await post("/oauth2/device/auth", { client_id: deviceClient, scope: "openid" });
      assert.match(await approve(agent, started.user_code!), /Sign in again/);
      const pending = await post("/oauth2/token", {
        grant_type: GRANT,
        client_id: deviceClient,
        device_code: started.device_code!,
      });
      assert.equal(pending.error, "authorization_pending", "nothing was approved");

      await new SoftAuthenticator().saveFor(server, user.id);
      assert.match(await approve(agent, started.user_code!), /Your device is signed in/);
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
