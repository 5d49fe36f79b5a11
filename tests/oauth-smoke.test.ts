import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "./helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "./helpers/fixtures.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { UserAgent } from "./helpers/user-agent.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`smoke: code flow with PKCE (${kind})`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(async () => server?.close());

    it("signs in and exchanges the code", async () => {
      const app = await createApplication(server, "spa");
      const user = await createUser(server);
      const verifier = randomBytes(32).toString("base64url");
      const challenge = createHash("sha256").update(verifier).digest("base64url");
      const url = new URL("/oauth2/auth", server.url);
      for (const [k, v] of Object.entries({
        response_type: "code",
        client_id: app.clientId,
        redirect_uri: CALLBACK,
        scope: "openid profile email offline",
        state: "xyz",
        code_challenge: challenge,
        code_challenge_method: "S256",
      }))
        url.searchParams.set(k, v);
      const browser = new UserAgent(server.url);
      const callback = await browser.authorize(url, user);
      assert.equal(callback.searchParams.get("state"), "xyz");
      assert.equal(callback.searchParams.get("iss"), server.url);
      const response = await fetch(`${server.url}/oauth2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "authorization_code",
          client_id: app.clientId,
          code: callback.searchParams.get("code")!,
          redirect_uri: CALLBACK,
          code_verifier: verifier,
        }),
      });
      const body = (await response.json()) as Record<string, unknown>;
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.ok(body.access_token && body.id_token && body.refresh_token);
    });
  });
}
