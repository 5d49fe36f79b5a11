// Client configuration is cached per instance and trusted only while the database's configuration
// generation has not moved (migration 0009, src/oauth/config-cache.ts). A change made through one
// instance, or by an operator in plain SQL, is honoured by the next request on another instance.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import { databaseKinds } from "../helpers/databases.js";
import { createApi, createApplication } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { startSecondInstance, startTestServer, type TestServer } from "../helpers/server.js";

const AUDIENCE = "https://orders.example.com";

for (const { kind, skip } of await databaseKinds()) {
  describe(`cached client configuration across instances (${kind})`, { skip }, () => {
    let first: TestServer;
    let second: TestServer;
    before(async () => {
      first = await startTestServer(kind);
      second = await startSecondInstance(first);
    });
    after(async () => {
      await second?.close();
      await first?.close();
    });

    const token = async (server: TestServer, clientId: string, clientSecret: string) => {
      const response = await fetch(`${server.url}/oauth2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: clientId,
          client_secret: clientSecret,
          audience: AUDIENCE,
        }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const generation = async () =>
      Number(
        (
          await sql<{ generation: number }>`select generation from config_generation`.execute(
            first.storage.db,
          )
        ).rows[0]!.generation,
      );

    it("honours a rotated secret, a withdrawn scope, an SQL edit and a deletion at once on the other instance", async () => {
      const app = await createApplication(first, "m2m");
      const secret = app.clientSecret!;
      const api = await createApi(first, { audience: AUDIENCE, scopes: ["read", "write"] });
      await first.services.apis.authorizeApplication(api.id, app.clientId);
      await first.services.apis.grantScopes(api.id, app.clientId, ["read", "write"]);

      const issued = await token(second, app.clientId, secret);
      assert.equal(issued.status, 200, JSON.stringify(issued.body));
      assert.equal(issued.body.scope, "read write");

      // Issuing tokens writes nothing the cache depends on: the generation stays put.
      const stable = await generation();
      for (let i = 0; i < 5; i++) assert.equal((await token(second, app.clientId, secret)).status, 200);
      assert.equal(await generation(), stable);

      const management = await managementToken(first);
      const rotated = await callApi<{ application: { client_secret: string } }>(
        first,
        "POST",
        `/api/v1/applications/${app.clientId}/rotate_secret`,
        { token: management },
      );
      assert.equal(rotated.status, 200);
      assert.ok((await generation()) > stable, "the rotation moved the generation");
      const old = await token(second, app.clientId, secret);
      assert.equal(old.status, 401, "the old secret stops working on the other instance at once");
      assert.equal(old.body.error, "invalid_client");
      const newSecret = rotated.body.application.client_secret;
      assert.equal((await token(second, app.clientId, newSecret)).status, 200);

      const scopes = await first.storage.db
        .selectFrom("api_scopes")
        .select(["id", "key"])
        .where("api_id", "=", api.id)
        .execute();
      await first.services.apis.revokeScope(api.id, app.clientId, scopes.find((s) => s.key === "write")!.id);
      assert.equal((await token(second, app.clientId, newSecret)).body.scope, "read");

      // An operator's SQL counts too: the triggers, not the application code, move the generation.
      await first.storage.db
        .updateTable("applications")
        .set({ access_token_lifetime: 123 })
        .where("id", "=", app.clientId)
        .execute();
      assert.equal((await token(second, app.clientId, newSecret)).body.expires_in, 123);

      await first.services.apis.deauthorizeApplication(api.id, app.clientId);
      const unauthorized = await token(second, app.clientId, newSecret);
      assert.equal(unauthorized.status, 400);
      assert.equal(unauthorized.body.error, "invalid_target");

      const deleted = await callApi(first, "DELETE", `/api/v1/applications/${app.clientId}`, {
        token: management,
      });
      assert.equal(deleted.status, 200);
      const gone = await token(second, app.clientId, newSecret);
      assert.equal(gone.status, 401);
      assert.equal(gone.body.error, "invalid_client");
    });

    it("keeps answering correctly while configuration changes under concurrent load", async () => {
      const app = await createApplication(first, "m2m");
      const api = await createApi(first, { audience: `${AUDIENCE}/load`, scopes: ["a", "b"] });
      await first.services.apis.authorizeApplication(api.id, app.clientId);
      await first.services.apis.grantScopes(api.id, app.clientId, ["a"]);
      const request = () =>
        fetch(`${second.url}/oauth2/token`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            grant_type: "client_credentials",
            client_id: app.clientId,
            client_secret: app.clientSecret!,
            audience: `${AUDIENCE}/load`,
          }),
        }).then(async (r) => ((await r.json()) as { scope?: string }).scope);
      const during = await Promise.all([
        ...Array.from({ length: 20 }, request),
        first.services.apis.grantScopes(api.id, app.clientId, ["b"]).then(() => "granted"),
        ...Array.from({ length: 20 }, request),
      ]);
      assert.ok(during.every((scope) => scope === "a" || scope === "a b" || scope === "granted"));
      // Once the grant has committed, every later request sees it.
      const later = await Promise.all(Array.from({ length: 20 }, request));
      assert.deepEqual(new Set(later), new Set(["a b"]));
    });
  });
}
