import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "./helpers/databases.js";
import { createApplication } from "./helpers/fixtures.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`CORS (${kind})`, { skip }, () => {
    let server: TestServer;
    const spaOrigin = "https://spa.example.com";
    before(async () => {
      server = await startTestServer(kind);
      await createApplication(server, "spa", { callbackUrls: [`${spaOrigin}/callback`] });
      await createApplication(server, "reg", { callbackUrls: ["https://backend.example.com/callback"] });
    });
    after(async () => server?.close());

    it("lets a registered front-end origin call the token endpoint with credentials", async () => {
      const preflight = await fetch(`${server.url}/oauth2/token`, {
        method: "OPTIONS",
        headers: {
          origin: spaOrigin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type, kinde-sdk",
        },
      });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get("access-control-allow-origin"), spaOrigin);
      assert.equal(preflight.headers.get("access-control-allow-credentials"), "true");
      assert.match(preflight.headers.get("access-control-allow-headers") ?? "", /kinde-sdk/);
      const post = await fetch(`${server.url}/oauth2/token`, {
        method: "POST",
        headers: { origin: spaOrigin, "content-type": "application/x-www-form-urlencoded" },
        body: "grant_type=refresh_token&client_id=x&refresh_token=y",
      });
      assert.equal(post.headers.get("access-control-allow-origin"), spaOrigin);
    });

    it("gives other origins — including back-end apps' — nothing", async () => {
      for (const origin of ["https://evil.example.com", "https://backend.example.com", "null"]) {
        const preflight = await fetch(`${server.url}/oauth2/token`, {
          method: "OPTIONS",
          headers: { origin, "access-control-request-method": "POST" },
        });
        assert.equal(preflight.headers.get("access-control-allow-origin"), null, origin);
      }
    });

    it("serves discovery and JWKS to any origin, and never the authorization endpoint", async () => {
      for (const path of ["/.well-known/openid-configuration", "/.well-known/jwks.json"]) {
        const response = await fetch(`${server.url}${path}`, {
          headers: { origin: "https://anyone.example" },
        });
        assert.equal(response.headers.get("access-control-allow-origin"), "*", path);
      }
      const authorize = await fetch(`${server.url}/oauth2/auth?client_id=x`, {
        headers: { origin: spaOrigin },
      });
      assert.equal(authorize.headers.get("access-control-allow-origin"), null);
    });
  });
}
