import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { signedInUserAgent } from "../helpers/user-agent.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`a demanded fresh sign-in cannot be skipped (${kind})`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(async () => server?.close());

    it("prompt=login and max_age requests are not completed with the older session via /auth/continue", async () => {
      const spa = await createApplication(server, "spa");
      const user = await createUser(server);
      const browser = await signedInUserAgent(server, spa.clientId, CALLBACK, user);
      const fresh: Record<string, string>[] = [{ prompt: "login" }, { max_age: "0" }];
      for (const extra of fresh) {
        const url = new URL("/oauth2/auth", server.url);
        url.search = new URLSearchParams({
          response_type: "code",
          client_id: spa.clientId,
          redirect_uri: CALLBACK,
          scope: "openid",
          code_challenge: createHash("sha256")
            .update(randomBytes(32).toString("base64url"))
            .digest("base64url"),
          code_challenge_method: "S256",
          ...extra,
        }).toString();
        const signIn = await browser.redirectFrom(url);
        assert.equal(signIn.pathname, "/auth/sign-in");
        const skipped = await browser.request(`/auth/continue${signIn.search}`);
        assert.equal(skipped.status, 400, `no code without signing in again (${JSON.stringify(extra)})`);
        assert.equal(skipped.headers.get("location"), null);
      }
    });
  });
}
