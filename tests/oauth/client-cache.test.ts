// Client configuration is cached per instance and trusted only while the database's configuration
// generation has not moved (migration 0009, src/oauth/config-cache.ts). A change made through one
// instance, or by an operator in plain SQL, is honoured by the next request on another instance.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { decodeJwt } from "jose";
import { sql } from "kysely";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApi, createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { startSecondInstance, startTestServer, type TestServer } from "../helpers/server.js";
import { backChannel, pkcePair, type TokenResponse } from "../helpers/tokens.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

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
    /** Rotates the application's secret through the first instance; the new secret. */
    const rotateSecret = async (clientId: string, management: string) => {
      const rotated = await callApi<{ application: { client_secret: string } }>(
        first,
        "POST",
        `/api/v1/applications/${clientId}/rotate_secret`,
        { token: management },
      );
      assert.equal(rotated.status, 200);
      return rotated.body.application.client_secret;
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
      const newSecret = await rotateSecret(app.clientId, management);
      assert.ok((await generation()) > stable, "the rotation moved the generation");
      const old = await token(second, app.clientId, secret);
      assert.equal(old.status, 401, "the old secret stops working on the other instance at once");
      assert.equal(old.body.error, "invalid_client");
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

    it("a code exchange and a refresh, whose freshness reading rides on their own read, honour changes at once", async () => {
      // Their code or refresh token read also reads the generation (token-redeem.store.ts): no
      // reading of its own, and still none older than the request.
      const app = await createApplication(first, "reg");
      const user = await createUser(first);
      const { verifier, challenge } = pkcePair();
      const codeFrom = async () => {
        const agent = new UserAgent(second.url);
        const redirect = await agent.authorize(
          authorizationUrl(second, app.clientId, CALLBACK, {
            scope: "openid offline",
            code_challenge: challenge,
          }),
          user,
        );
        return new URL(redirect).searchParams.get("code")!;
      };
      const exchange = (code: string, secret: string) =>
        backChannel<TokenResponse & { error?: string }>(second, "/oauth2/token", {
          grant_type: "authorization_code",
          client_id: app.clientId,
          client_secret: secret,
          code,
          redirect_uri: CALLBACK,
          code_verifier: verifier,
        });
      const refresh = (refreshToken: string, secret: string) =>
        backChannel<TokenResponse & { error?: string }>(second, "/oauth2/token", {
          grant_type: "refresh_token",
          client_id: app.clientId,
          client_secret: secret,
          refresh_token: refreshToken,
        });
      const management = await managementToken(first);
      const rotate = () => rotateSecret(app.clientId, management);

      const [firstCode, secondCode] = [await codeFrom(), await codeFrom()];
      const issued = await exchange(firstCode, app.clientSecret!);
      assert.equal(issued.status, 200, JSON.stringify(issued.body));

      const secret = await rotate();
      const refused = await exchange(secondCode, app.clientSecret!);
      assert.equal(refused.status, 401, "the old secret stops working for a code exchange at once");
      assert.equal(refused.body.error, "invalid_client");
      const exchanged = await exchange(secondCode, secret);
      assert.equal(exchanged.status, 200, "a refused client did not use the code up");

      const newest = await rotate();
      const stale = await refresh(exchanged.body.refresh_token!, secret);
      assert.equal(stale.status, 401, "and for a refresh");
      assert.equal(stale.body.error, "invalid_client");
      await first.storage.db
        .updateTable("applications")
        .set({ access_token_lifetime: 321 })
        .where("id", "=", app.clientId)
        .execute();
      const refreshed = await refresh(exchanged.body.refresh_token!, newest);
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
      assert.equal(refreshed.body.expires_in, 321, "an operator's SQL edit shows in the next refresh");

      // Which properties are public is configuration too, kept in memory once read: made private
      // behind the second instance's back, a built-in leaves the very next refresh's tokens.
      const userProperties = (jwt: string) => decodeJwt(jwt).user_properties as Record<string, unknown>;
      assert.deepEqual(userProperties(refreshed.body.access_token).kp_usr_city, {});
      const privacy = (isPrivate: number) =>
        first.storage.db
          .updateTable("properties")
          .set({ is_private: isPrivate })
          .where("key", "=", "kp_usr_city")
          .execute();
      await privacy(1);
      const hidden = await refresh(refreshed.body.refresh_token!, newest);
      assert.equal(hidden.status, 200, JSON.stringify(hidden.body));
      for (const jwt of [hidden.body.access_token, hidden.body.id_token!])
        assert.ok(
          !("kp_usr_city" in userProperties(jwt)),
          "a property made private leaves the tokens at once",
        );
      await privacy(0);
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
