import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`HTTP foundation (${kind})`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(async () => {
      await server?.close();
    });

    it("reports live and ready", async () => {
      const live = await fetch(`${server.url}/health/live`);
      assert.equal(live.status, 200);
      const ready = await fetch(`${server.url}/health/ready`);
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { status: "ready", database: "ok" });
      assert.equal(ready.headers.get("cache-control"), "no-store");
    });

    it("sets security headers on every response and a request id", async () => {
      for (const path of ["/health/live", "/nope", "/api/v1/nope"]) {
        const response = await fetch(`${server.url}${path}`);
        assert.equal(response.headers.get("x-content-type-options"), "nosniff", path);
        assert.equal(response.headers.get("referrer-policy"), "no-referrer", path);
        assert.equal(response.headers.get("x-frame-options"), "DENY", path);
        assert.match(response.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/, path);
      }
      const echoed = await fetch(`${server.url}/health/live`, { headers: { "x-request-id": "trace-123" } });
      assert.equal(echoed.headers.get("x-request-id"), "trace-123");
      const hostile = await fetch(`${server.url}/health/live`, { headers: { "x-request-id": "<script>" } });
      assert.notEqual(hostile.headers.get("x-request-id"), "<script>");
    });

    it("answers unknown routes in each surface's vocabulary", async () => {
      const api = await fetch(`${server.url}/api/v1/does-not-exist`);
      assert.equal(api.status, 404);
      assert.deepEqual(await api.json(), {
        errors: { code: "ROUTE_NOT_FOUND", message: "The requested API route does not exist" },
      });
      const other = await fetch(`${server.url}/does-not-exist`);
      assert.equal(other.status, 404);
      assert.equal(((await other.json()) as { error: string }).error, "not_found");
    });

    it("answers a known endpoint asked with the wrong method with 405 and Allow", async () => {
      for (const [method, path, allow] of [
        ["GET", "/oauth2/token", "POST"],
        ["PUT", "/oauth2/revoke", "POST"],
        ["DELETE", "/oauth2/introspect", "POST"],
        ["POST", "/.well-known/jwks.json", "GET"],
        ["PATCH", "/.well-known/openid-configuration?x=1", "GET"],
      ] as const) {
        const response = await fetch(`${server.url}${path}`, { method });
        assert.equal(response.status, 405, `${method} ${path}`);
        assert.equal(response.headers.get("allow"), allow, `${method} ${path}`);
        assert.equal(((await response.json()) as { error: string }).error, "invalid_request");
      }
    });

    it("answers headers too large for Node's parser with 431 in the surface's vocabulary", async () => {
      const huge = { "x-filler": "a".repeat(20_000) };
      const oauth = await fetch(`${server.url}/oauth2/token`, { method: "POST", headers: huge });
      assert.equal(oauth.status, 431);
      assert.equal(((await oauth.json()) as { error: string }).error, "invalid_request");
      const api = await fetch(`${server.url}/api/v1/users`, { headers: huge });
      assert.equal(api.status, 431);
      assert.equal(((await api.json()) as { errors: { code: string }[] }).errors[0]?.code, "INVALID_REQUEST");
      assert.equal((await fetch(`${server.url}/health/live`)).status, 200, "the server carries on");
    });

    it("rejects malformed and oversized bodies with a 4xx, never a 500", async () => {
      const badJson = await fetch(`${server.url}/api/v1/does-not-exist`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{not json",
      });
      assert.ok(badJson.status >= 400 && badJson.status < 500, String(badJson.status));
      const huge = await fetch(`${server.url}/health/live`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ x: "a".repeat(2 * 1024 * 1024) }),
      });
      assert.ok(huge.status >= 400 && huge.status < 500, String(huge.status));
    });

    it("keeps secrets out of the logs", async () => {
      const secrets = ["Bearer-SECRET-abc", "session=COOKIE-SECRET", "CODE-SECRET-123", "REFRESH-SECRET-456"];
      const urlSecrets = ["INVITATION-SECRET", "TICKET-SECRET", "USERCODE-SECRET"];
      secrets.push(...urlSecrets);
      await fetch(
        `${server.url}/health/live?code=${secrets[2]}&refresh_token=${secrets[3]}&state=visible-state` +
          `&invitation_code=${urlSecrets[0]}&ticket=${urlSecrets[1]}&user_code=${urlSecrets[2]}`,
        {
          headers: { authorization: `Bearer ${secrets[0]}`, cookie: secrets[1]! },
        },
      );
      server.logger.info(
        { client_secret: "CLIENT-SECRET-789", body: { password: "PASSWORD-SECRET" } },
        "probe",
      );
      server.logger.flush();
      const logs = server.logs.text;
      assert.match(logs, /visible-state/, "non-secret query parameters stay readable");
      assert.match(logs, /"reqId":/, "request lines carry a request id");
      for (const secret of [...secrets, "CLIENT-SECRET-789", "PASSWORD-SECRET"]) {
        assert.ok(!logs.includes(secret), `log leaked ${secret}`);
      }
    });
  });
}
