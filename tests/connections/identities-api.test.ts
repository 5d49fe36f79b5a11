// Kinde's identities API for identities at connections' providers (issue 17), on SQLite and
// PostgreSQL: GET /api/v1/users/{id}/identities lists them after the e-mail identity, typed by the
// connection's strategy; GET/PATCH/DELETE /api/v1/identities/{identity_id}; a machine token cannot
// unlink an administrator's provider account, an administrator (dashboard) can. Answers are checked
// against the OpenAPI document (callApi).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ExternalIdentitiesStore } from "../../src/users/external-identities.store.js";
import { dashboardToken } from "../helpers/dashboard.js";
import { databaseKinds } from "../helpers/databases.js";
import { createUser } from "../helpers/fixtures.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const ADMIN = { email: "root@example.com", password: "a root password nobody guesses" };

interface Identity {
  id: string;
  type: string;
  is_confirmed: boolean;
  name: string;
  email: string | null;
  connection_id: string | null;
  is_primary: boolean | null;
  total_logins: number | null;
}

async function oidcConnection(server: TestServer): Promise<string> {
  const connection = await server.services.connections.create({
    name: `idp-${Math.random().toString(16).slice(2, 8)}`,
    displayName: "Example IdP",
    strategy: "oidc:custom",
    options: { client_id: "latchkey", client_secret: "s3cret", issuer: "https://idp.example.com" },
  });
  return connection.id;
}

async function link(server: TestServer, userId: string, connectionId: string, subject: string) {
  return new ExternalIdentitiesStore(server.storage.db).insert({
    userId,
    connectionId,
    subject,
    email: "Person@Example.com",
    emailVerified: true,
    claims: { email: "Person@Example.com", given_name: "P", huge: "x".repeat(10_000), nested: { a: 1 } },
    now: server.services.clock.now(),
  });
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`identities at connections (${kind})`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind, {
        env: { BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password },
      });
    });
    after(() => server?.close());

    it("lists, reads, updates and deletes a user's identity at a connection", async () => {
      const user = await createUser(server);
      const connectionId = await oidcConnection(server);
      const row = await link(server, user.id, connectionId, "sub-1");
      assert.deepEqual(Object.keys(JSON.parse(row.claims)).sort(), ["email", "given_name"]);

      const listed = await callApi<{ identities: Identity[]; has_more: boolean }>(
        server,
        "GET",
        `/api/v1/users/${user.id}/identities`,
      );
      assert.equal(listed.status, 200);
      assert.deepEqual(
        listed.body.identities.map((i) => [i.type, i.name, i.connection_id]),
        [
          ["email", user.email, null],
          ["oidc:custom", "Person@Example.com", connectionId],
        ],
      );
      const external = listed.body.identities[1]!;
      assert.equal(external.id, row.id);
      assert.equal(external.is_confirmed, true);
      assert.equal(external.is_primary, false);
      assert.equal(external.total_logins, 1);
      // Paging by id reaches the external identity too.
      const after = await callApi<{ identities: Identity[] }>(
        server,
        "GET",
        `/api/v1/users/${user.id}/identities?starting_after=${listed.body.identities[0]!.id}`,
      );
      assert.deepEqual(
        after.body.identities.map((i) => i.id),
        [row.id],
      );

      const got = await callApi<Identity>(server, "GET", `/api/v1/identities/${row.id}`);
      assert.equal(got.status, 200);
      assert.equal(got.body.type, "oidc:custom");
      assert.equal(got.body.email, "Person@Example.com");

      const notPrimary = await callApi(server, "PATCH", `/api/v1/identities/${row.id}`, {
        body: { is_primary: false },
      });
      assert.equal(notPrimary.status, 200);
      const primary = await callApi<{ errors: { code: string }[] }>(
        server,
        "PATCH",
        `/api/v1/identities/${row.id}`,
        { body: { is_primary: true } },
      );
      assert.equal(primary.status, 400);
      assert.equal(primary.body.errors[0]!.code, "INVALID_REQUEST");

      const deleted = await callApi(server, "DELETE", `/api/v1/identities/${row.id}`);
      assert.equal(deleted.status, 200);
      assert.equal(await new ExternalIdentitiesStore(server.storage.db).find(row.id), undefined);
      const again = await callApi<{ errors: { code: string }[] }>(
        server,
        "DELETE",
        `/api/v1/identities/${row.id}`,
      );
      assert.equal(again.status, 404);
      assert.equal(again.body.errors[0]!.code, "IDENTITY_NOT_FOUND");
    });

    it("answers unknown and malformed identity ids with 404, and needs the scope", async () => {
      for (const id of ["identity_00000000000000000000000000000000", "nope", "%27%20or%201=1"]) {
        const response = await callApi<{ errors: { code: string }[] }>(
          server,
          "GET",
          `/api/v1/identities/${id}`,
        );
        assert.equal(response.status, 404, id);
      }
      const user = await createUser(server);
      const row = await link(server, user.id, await oidcConnection(server), "sub-2");
      const { managementToken } = await import("../helpers/management.js");
      const token = await managementToken(server, "read:users");
      const refused = await callApi(server, "DELETE", `/api/v1/identities/${row.id}`, { token });
      assert.equal(refused.status, 403);
      assert.ok(await new ExternalIdentitiesStore(server.storage.db).find(row.id));
    });

    it("keeps a machine token from unlinking an administrator's provider account; an administrator may", async () => {
      const admin = (await server.services.users.store.findByEmail(ADMIN.email))!;
      const row = await link(server, admin.id, await oidcConnection(server), "admin-sub");
      const refused = await callApi<{ errors: { code: string }[] }>(
        server,
        "DELETE",
        `/api/v1/identities/${row.id}`,
      );
      assert.equal(refused.status, 403);
      assert.equal(refused.body.errors[0]!.code, "ADMINISTRATOR_PROTECTED");
      assert.ok(await new ExternalIdentitiesStore(server.storage.db).find(row.id));

      const { access_token } = await dashboardToken(server, ADMIN, "openid delete:identities");
      const done = await callApi(server, "DELETE", `/api/v1/identities/${row.id}`, { token: access_token });
      assert.equal(done.status, 200);
      assert.equal(await new ExternalIdentitiesStore(server.storage.db).find(row.id), undefined);
    });

    it("goes with its user and with its connection", async () => {
      const user = await createUser(server);
      const connectionId = await oidcConnection(server);
      const row = await link(server, user.id, connectionId, "sub-3");
      await server.services.connections.delete(connectionId);
      assert.equal(await new ExternalIdentitiesStore(server.storage.db).find(row.id), undefined);
      const other = await createUser(server);
      const kept = await link(server, other.id, await oidcConnection(server), "sub-4");
      const removed = await callApi(server, "DELETE", `/api/v1/user?id=${other.id}`);
      assert.equal(removed.status, 200);
      assert.equal(await new ExternalIdentitiesStore(server.storage.db).find(kept.id), undefined);
    });
  });
}
