import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { createApi, createApplication } from "../helpers/fixtures.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`machine tokens for several APIs (${kind})`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(async () => server?.close());

    it("never carries a scope granted on one API into a token that is also for another", async () => {
      const m2m = await createApplication(server, "m2m");
      await createApi(server, {
        audience: "https://a.example",
        scopes: ["read", "write"],
        grant: { [m2m.clientId]: ["read", "write"] },
      });
      await createApi(server, {
        audience: "https://b.example",
        scopes: ["read", "write"],
        grant: { [m2m.clientId]: ["read"] },
      });
      const token = async (scope?: string) => {
        const body = new URLSearchParams({
          grant_type: "client_credentials",
          client_id: m2m.clientId,
          client_secret: m2m.clientSecret!,
        });
        body.append("audience", "https://a.example");
        body.append("audience", "https://b.example");
        if (scope !== undefined) body.set("scope", scope);
        const response = await fetch(`${server.url}/oauth2/token`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body,
        });
        return (await response.json()) as { scope?: string; error?: string };
      };
      assert.equal(
        (await token("write")).error,
        "invalid_scope",
        "write is granted on A only, but B defines it too",
      );
      assert.equal((await token("read")).scope, "read");
      assert.equal((await token()).scope, "read", "everything = what holds for both APIs");
    });
  });
}
