// Kinde's Connections API (issue 17) on SQLite and PostgreSQL: connections created, read, updated,
// replaced and deleted through /api/v1/connections; paging by id and the home_realm_domain filter;
// enablement per application and per organization and what a sign-in page would offer
// (ConnectionsService.enabledFor); the client secret never answered, sealed at rest and bound to its
// connection; validation 400s and 404s in Kinde's error shape; scopes; and the admin dashboard's
// connections changed only by an administrator. Every answer is also checked against Latchkey's
// OpenAPI document (callApi).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { domainToASCII } from "node:url";
import { storedDashboardClientId } from "../../src/dashboard/dashboard-app.js";
import { ExternalIdentitiesStore } from "../../src/users/external-identities.store.js";
import { dashboardToken } from "../helpers/dashboard.js";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, narrowMachineToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const ADMIN = { email: "root@example.com", password: "a root password nobody guesses" };
/** What the dashboard's connection screens ask for. */
const ADMIN_SCOPES =
  "openid read:connections create:connections update:connections delete:connections " +
  "read:application_connections create:application_connections delete:application_connections";
const CONN_ID = /^conn_[0-9a-f]{32}$/;

type Json = Record<string, unknown>;
type Errors = { errors: { code: string; message: string }[] };
interface Listed {
  connections: { id: string; name: string; display_name: string; strategy: string }[];
  has_more: boolean;
}
interface Read {
  connection: {
    id: string;
    name: string;
    display_name: string;
    strategy: string;
    options: Json;
    has_client_secret: boolean;
    organization_code: string | null;
    enabled_applications: string[];
  };
}

const tag = () => randomBytes(4).toString("hex");

async function create(server: TestServer, body: Json, token?: string): Promise<string> {
  const created = await callApi<{ connection: { id: string } }>(server, "POST", "/api/v1/connections", {
    body,
    token,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.connection.id;
}

const google = (options: Json = {}): Json => ({
  name: `google-${tag()}`,
  display_name: "Google",
  strategy: "oauth2:google",
  options: { client_id: `client-${tag()}.apps.googleusercontent.com`, ...options },
});

const oidc = (options: Json = {}, extra: Json = {}): Json => ({
  name: `oidc-${tag()}`,
  display_name: "Company SSO",
  strategy: "oidc:custom",
  options: { client_id: "latchkey", issuer: "https://idp.example.com/realms/acme", ...options },
  ...extra,
});

async function refused(
  server: TestServer,
  method: string,
  path: string,
  status: number,
  code: string,
  options: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<string> {
  const response = await callApi<Errors>(server, method, path, options);
  assert.equal(
    response.status,
    status,
    `${method} ${path} ${JSON.stringify(options.body)}: ${JSON.stringify(response.body)}`,
  );
  assert.equal(response.body.errors.length, 1);
  assert.equal(response.body.errors[0]!.code, code, JSON.stringify(response.body));
  return response.body.errors[0]!.message;
}

async function rowCount(server: TestServer): Promise<number> {
  const row = await server.storage.db
    .selectFrom("sign_in_connections")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`Connections API (${kind})`, { skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer(kind, {
        env: { BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password },
      });
    });
    after(async () => server?.close());
    let adminToken: string | undefined;
    /** An administrator's token through the dashboard (the only caller that may trust a connection). */
    const admin = async () => {
      adminToken ??= (await dashboardToken(server, ADMIN, ADMIN_SCOPES)).access_token;
      return adminToken;
    };

    it("creates, reads, updates, replaces and deletes a connection; its secret is never answered and sealed at rest", async () => {
      const app = await createApplication(server, "reg");
      const secret = `GOCSPX-${randomBytes(18).toString("base64url")}`;
      const id = await create(
        server,
        {
          ...google({
            client_secret: secret,
            is_trusted: true,
            upstream_params: { prompt: { value: "select_account" } },
          }),
          name: "  google-main  ",
          enabled_applications: [app.clientId],
        },
        await admin(),
      );
      assert.match(id, CONN_ID);

      const read = await callApi<Read>(server, "GET", `/api/v1/connections/${id}`);
      assert.equal(read.status, 200);
      assert.equal(read.body.connection.name, "google-main", "the name is stored trimmed");
      assert.equal(read.body.connection.display_name, "Google");
      assert.equal(read.body.connection.strategy, "oauth2:google");
      assert.equal(read.body.connection.options.is_trusted, true);
      assert.deepEqual(read.body.connection.options.upstream_params, { prompt: { value: "select_account" } });
      assert.equal(read.body.connection.has_client_secret, true);
      assert.deepEqual(read.body.connection.enabled_applications, [app.clientId]);
      assert.ok(!("client_secret" in read.body.connection.options));
      assert.ok(!JSON.stringify(read.body).includes(secret), "GET never carries the secret");
      const listed = await callApi<Listed>(server, "GET", "/api/v1/connections?page_size=500");
      assert.deepEqual(
        listed.body.connections.find((c) => c.id === id),
        { id, name: "google-main", display_name: "Google", strategy: "oauth2:google" },
      );
      assert.ok(!JSON.stringify(listed.body).includes(secret));

      // At rest: sealed, bound to this connection's id, in no other column.
      const row = await server.storage.db
        .selectFrom("sign_in_connections")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirstOrThrow();
      assert.ok(row.client_secret_sealed);
      assert.ok(!JSON.stringify(row).includes(secret), "no column holds the secret in clear");
      assert.equal(
        server.secretBox.open(row.client_secret_sealed, `sign_in_connection_secret:${id}`),
        secret,
      );
      assert.throws(() =>
        server.secretBox.open(row.client_secret_sealed!, "sign_in_connection_secret:conn_other"),
      );
      const connection = (await server.services.connections.find(id))!;
      assert.equal(server.services.connections.openClientSecret(connection), secret);
      assert.ok(
        !JSON.stringify(connection).includes(row.client_secret_sealed),
        "the object carries no ciphertext",
      );

      // PATCH: only what is named changes; options merge; the secret stays.
      const patched = await callApi(server, "PATCH", `/api/v1/connections/${id}`, {
        body: { display_name: "Sign in with Google", options: { is_trusted: false } },
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      const afterPatch = (await server.services.connections.find(id))!;
      assert.equal(afterPatch.displayName, "Sign in with Google");
      assert.equal(afterPatch.name, "google-main");
      assert.equal(afterPatch.options.is_trusted, false);
      assert.equal(afterPatch.options.client_id, connection.options.client_id);
      assert.deepEqual(afterPatch.options.upstream_params, { prompt: { value: "select_account" } });
      assert.equal(server.services.connections.openClientSecret(afterPatch), secret);

      // A new secret replaces the old one.
      const rotated = `GOCSPX-${randomBytes(18).toString("base64url")}`;
      assert.equal(
        (
          await callApi(server, "PATCH", `/api/v1/connections/${id}`, {
            body: { options: { client_secret: rotated } },
          })
        ).status,
        200,
      );
      assert.equal(
        server.services.connections.openClientSecret((await server.services.connections.find(id))!),
        rotated,
      );

      // PUT replaces name, display name and options whole; a secret it does not name is kept while
      // the client id stays, and dropped with a new client id.
      const replaced = await callApi(server, "PUT", `/api/v1/connections/${id}`, {
        body: {
          name: "google-replaced",
          display_name: "Google",
          options: { client_id: connection.options.client_id },
        },
      });
      assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
      const afterPut = (await server.services.connections.find(id))!;
      assert.equal(afterPut.name, "google-replaced");
      assert.deepEqual(afterPut.options, { client_id: connection.options.client_id });
      assert.equal(server.services.connections.openClientSecret(afterPut), rotated);
      assert.deepEqual(
        await server.services.connections.enabledApplications(id),
        [app.clientId],
        "PUT without enabled_applications keeps them",
      );
      await callApi(server, "PUT", `/api/v1/connections/${id}`, {
        body: { name: "google-replaced", display_name: "Google", options: { client_id: "another-client" } },
      });
      const newClient = (await server.services.connections.find(id))!;
      assert.equal(newClient.hasClientSecret, false);
      assert.equal(server.services.connections.openClientSecret(newClient), null);

      // Nothing logged the secrets.
      assert.ok(
        !server.logs.text.includes(secret) && !server.logs.text.includes(rotated),
        "no secret in the log",
      );

      // DELETE: gone, with its enablement; a second DELETE and a read are 404s.
      const deleted = await callApi(server, "DELETE", `/api/v1/connections/${id}`);
      assert.equal(deleted.status, 200);
      await refused(server, "GET", `/api/v1/connections/${id}`, 404, "CONNECTION_NOT_FOUND");
      await refused(server, "DELETE", `/api/v1/connections/${id}`, 404, "CONNECTION_NOT_FOUND");
      await refused(server, "PATCH", `/api/v1/connections/${id}`, 404, "CONNECTION_NOT_FOUND", {
        body: { name: "x" },
      });
      await refused(server, "PUT", `/api/v1/connections/${id}`, 404, "CONNECTION_NOT_FOUND", {
        body: { name: "x", display_name: "x", options: { client_id: "x" } },
      });
      const links = await server.storage.db
        .selectFrom("application_sign_in_connections")
        .selectAll()
        .where("connection_id", "=", id)
        .execute();
      assert.deepEqual(links, []);
    });

    it("drops the client secret when a write re-points the connection without a new one", async () => {
      const connections = server.services.connections;
      const secretOf = async (id: string) => connections.openClientSecret((await connections.find(id))!);
      const hasSecret = async (id: string) =>
        (await callApi<Read>(server, "GET", `/api/v1/connections/${id}`)).body.connection.has_client_secret;
      const patch = async (id: string, body: Json) => {
        const response = await callApi(server, "PATCH", `/api/v1/connections/${id}`, { body });
        assert.equal(response.status, 200, JSON.stringify(response.body));
      };
      const put = async (id: string, options: Json) => {
        const response = await callApi(server, "PUT", `/api/v1/connections/${id}`, {
          body: { name: "sso", display_name: "SSO", options },
        });
        assert.equal(response.status, 200, JSON.stringify(response.body));
      };
      const issuer = "https://idp.example.com/realms/acme";
      const attacker = "https://attacker.example";
      const newSecret = () => `secret-${randomBytes(12).toString("hex")}`;

      // Changes that leave where it points alone keep the secret, the same issuer written again too.
      const secret = newSecret();
      const kept = await create(server, oidc({ client_secret: secret }));
      await patch(kept, { display_name: "Staff SSO", options: { scopes: ["openid", "email"], issuer } });
      await put(kept, { client_id: "latchkey", issuer });
      assert.equal(await secretOf(kept), secret);
      assert.equal(await hasSecret(kept), true);

      // PATCH of the issuer alone: the secret does not follow the connection to the new provider.
      const repointed = await create(server, oidc({ client_secret: newSecret() }));
      await patch(repointed, { options: { issuer: attacker } });
      assert.equal(await secretOf(repointed), null);
      assert.equal(await hasSecret(repointed), false);
      const row = await server.storage.db
        .selectFrom("sign_in_connections")
        .select("client_secret_sealed")
        .where("id", "=", repointed)
        .executeTakeFirstOrThrow();
      assert.equal(row.client_secret_sealed, null, "the sealed secret is gone from the database");

      // PUT with the same client id but another issuer (before, only the client id was compared).
      const replaced = await create(server, oidc({ client_secret: newSecret() }));
      await put(replaced, { client_id: "latchkey", issuer: attacker });
      assert.equal(await secretOf(replaced), null);

      // A new client id, by PATCH.
      const newClient = await create(server, oidc({ client_secret: newSecret() }));
      await patch(newClient, { options: { client_id: "someone-else" } });
      assert.equal(await secretOf(newClient), null);

      // Re-pointed with a new secret in the same request: the new one, never the old.
      const rotated = await create(server, oidc({ client_secret: newSecret() }));
      const fresh = newSecret();
      await patch(rotated, { options: { issuer: attacker, client_secret: fresh } });
      assert.equal(await secretOf(rotated), fresh);
      const freshPut = newSecret();
      await put(rotated, { client_id: "latchkey", issuer, client_secret: freshPut });
      assert.equal(await secretOf(rotated), freshPut);

      // oauth2:custom: each of its three endpoints.
      const endpoints = {
        authorization_endpoint: "https://p.example.com/authorize",
        token_endpoint: "https://p.example.com/token",
        userinfo_endpoint: "https://p.example.com/me",
      };
      for (const endpoint of Object.keys(endpoints)) {
        const custom = await create(server, {
          name: `custom-${tag()}`,
          display_name: "Custom",
          strategy: "oauth2:custom",
          options: {
            client_id: "x",
            client_secret: newSecret(),
            ...endpoints,
            userinfo_mapping: { sub: "id" },
          },
        });
        await patch(custom, { options: { scopes: ["read"] } });
        assert.notEqual(await secretOf(custom), null, "a scope change keeps it");
        await patch(custom, { options: { [endpoint]: `${attacker}/${endpoint}` } });
        assert.equal(await secretOf(custom), null, endpoint);
      }
    });

    it("lets only an administrator trust a connection, or re-point one that is trusted or has accounts linked", async () => {
      const connections = server.services.connections;
      const attacker = "https://attacker.example";
      const issuer = "https://idp.example.com/realms/acme";
      const trustRefused = /Only an administrator.*is_trusted/;

      // A machine token (here with every scope) cannot create a trusted connection, by POST …
      const count = await rowCount(server);
      assert.match(
        await refused(server, "POST", "/api/v1/connections", 403, "FORBIDDEN", {
          body: oidc({ is_trusted: true }),
        }),
        trustRefused,
      );
      assert.equal(await rowCount(server), count, "nothing created");
      // … nor make an untrusted one trusted, by PATCH or PUT.
      const untrusted = await create(server, oidc({ client_secret: "s" }));
      assert.match(
        await refused(server, "PATCH", `/api/v1/connections/${untrusted}`, 403, "FORBIDDEN", {
          body: { options: { is_trusted: true } },
        }),
        trustRefused,
      );
      assert.match(
        await refused(server, "PUT", `/api/v1/connections/${untrusted}`, 403, "FORBIDDEN", {
          body: {
            name: "x",
            display_name: "x",
            options: { client_id: "latchkey", issuer, is_trusted: true },
          },
        }),
        trustRefused,
      );
      assert.equal((await connections.find(untrusted))!.options.is_trusted, undefined);

      // An administrator (through the dashboard) can do both.
      const secret = `secret-${tag()}`;
      const trusted = await create(server, oidc({ client_secret: secret, is_trusted: true }), await admin());
      const patched = await callApi(server, "PATCH", `/api/v1/connections/${untrusted}`, {
        token: await admin(),
        body: { options: { is_trusted: true } },
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.equal((await connections.find(untrusted))!.options.is_trusted, true);

      // A machine cannot re-point a trusted connection, whichever way.
      for (const [method, body, field] of [
        ["PATCH", { options: { issuer: attacker } }, "issuer"],
        ["PATCH", { options: { client_id: "attacker" } }, "client_id"],
        [
          "PUT",
          {
            name: "x",
            display_name: "x",
            options: { client_id: "latchkey", issuer: attacker, is_trusted: true },
          },
          "issuer",
        ],
      ] as [string, Json, string][])
        assert.match(
          await refused(server, method, `/api/v1/connections/${trusted}`, 403, "FORBIDDEN", { body }),
          new RegExp(`trusted: only an administrator.*${field}`),
        );
      const kept = (await connections.find(trusted))!;
      assert.equal(kept.options.issuer, issuer);
      assert.equal(kept.options.client_id, "latchkey");
      assert.equal(connections.openClientSecret(kept), secret, "nothing changed, the secret included");

      // oauth2:custom: its endpoints and how it reads the address from userinfo are its source too.
      const custom = await create(
        server,
        {
          name: `custom-${tag()}`,
          display_name: "Custom",
          strategy: "oauth2:custom",
          options: {
            client_id: "x",
            authorization_endpoint: "https://p.example.com/authorize",
            token_endpoint: "https://p.example.com/token",
            userinfo_endpoint: "https://p.example.com/me",
            userinfo_mapping: { sub: "id", email: "email", email_verified: "verified" },
            is_trusted: true,
          },
        },
        await admin(),
      );
      for (const options of [
        { userinfo_mapping: { sub: "id", email: "bio", email_verified: "verified" } },
        { token_endpoint: `${attacker}/token` },
      ])
        await refused(server, "PATCH", `/api/v1/connections/${custom}`, 403, "FORBIDDEN", {
          body: { options },
        });
      // The same mapping written in another order is no change.
      const reordered = await callApi(server, "PATCH", `/api/v1/connections/${custom}`, {
        body: { options: { userinfo_mapping: { email_verified: "verified", email: "email", sub: "id" } } },
      });
      assert.equal(reordered.status, 200, JSON.stringify(reordered.body));

      // What leaves who vouches alone stays open to machines: other fields, the settings written
      // back as GET read them, and making the connection untrusted.
      const renamed = await callApi(server, "PATCH", `/api/v1/connections/${trusted}`, {
        body: { display_name: "Staff SSO", options: { scopes: ["openid", "email"] } },
      });
      assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
      const read = (await callApi<Read>(server, "GET", `/api/v1/connections/${trusted}`)).body.connection;
      const { home_realm_domains: _domains, ...readOptions } = read.options;
      const rewritten = await callApi(server, "PUT", `/api/v1/connections/${trusted}`, {
        body: { name: read.name, display_name: read.display_name, options: readOptions },
      });
      assert.equal(rewritten.status, 200, JSON.stringify(rewritten.body));
      assert.equal(connections.openClientSecret((await connections.find(trusted))!), secret);
      const distrusted = await callApi(server, "PATCH", `/api/v1/connections/${trusted}`, {
        body: { options: { is_trusted: false } },
      });
      assert.equal(distrusted.status, 200, JSON.stringify(distrusted.body));

      // Accounts linked through a connection: its provider's `sub` signs in as them, trusted or not.
      const user = await createUser(server);
      await new ExternalIdentitiesStore(server.storage.db).insert({
        userId: user.id,
        connectionId: trusted,
        subject: "employee-1",
        email: user.email,
        emailVerified: true,
        claims: {},
        now: server.services.clock.now(),
      });
      assert.match(
        await refused(server, "PATCH", `/api/v1/connections/${trusted}`, 403, "FORBIDDEN", {
          body: { options: { issuer: attacker } },
        }),
        /Accounts are linked to this connection.*issuer/,
      );
      assert.equal((await connections.find(trusted))!.options.issuer, issuer);
      // Without linked accounts an untrusted connection may be re-pointed (its secret stays behind).
      const free = await callApi(server, "PATCH", `/api/v1/connections/${untrusted}`, {
        body: { options: { is_trusted: false } },
      });
      assert.equal(free.status, 200, JSON.stringify(free.body));
      const moved = await callApi(server, "PATCH", `/api/v1/connections/${untrusted}`, {
        body: { options: { issuer: attacker } },
      });
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
      assert.equal((await connections.find(untrusted))!.hasClientSecret, false);
      // The administrator may re-point the linked one.
      const byAdmin = await callApi(server, "PATCH", `/api/v1/connections/${trusted}`, {
        token: await admin(),
        body: { options: { issuer: "https://idp.example.org/realms/acme" } },
      });
      assert.equal(byAdmin.status, 200, JSON.stringify(byAdmin.body));
    });

    it("pages by id with starting_after and ending_before, and filters by home_realm_domain", async () => {
      const before = (await callApi<Listed>(server, "GET", "/api/v1/connections?page_size=500")).body
        .connections;
      const t = tag();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++)
        ids.push(await create(server, oidc({ home_realm_domains: [`@Team${i}-${t}.Example.com`] })));
      const all = (await callApi<Listed>(server, "GET", "/api/v1/connections?page_size=500")).body;
      assert.equal(all.has_more, false);
      assert.deepEqual(
        all.connections.map((c) => c.id),
        [...before.map((c) => c.id), ...ids],
        "listed in creation order, by id",
      );
      const page = async (query: string) => {
        const response = await callApi<Listed>(server, "GET", `/api/v1/connections?${query}`);
        assert.equal(response.status, 200, JSON.stringify(response.body));
        return { ids: response.body.connections.map((c) => c.id), more: response.body.has_more };
      };
      const base = before.length ? `starting_after=${before.at(-1)!.id}&` : "";
      assert.deepEqual(await page(`${base}page_size=2`), { ids: ids.slice(0, 2), more: true });
      assert.deepEqual(await page(`starting_after=${ids[1]}&page_size=2`), {
        ids: ids.slice(2, 4),
        more: true,
      });
      assert.deepEqual(await page(`starting_after=${ids[3]}&page_size=2`), {
        ids: ids.slice(4),
        more: false,
      });
      assert.deepEqual(await page(`ending_before=${ids[4]}&page_size=2`), {
        ids: ids.slice(2, 4),
        more: true,
      });
      assert.deepEqual(await page(`ending_before=${ids[1]}&page_size=2`), {
        ids: [...before.map((c) => c.id), ids[0]!].slice(-2),
        more: before.length > 1,
      });
      const first = await page("page_size=1");
      assert.equal(first.ids.length, 1);
      assert.equal(first.more, true);
      assert.equal((await page("")).ids.length, Math.min(10, all.connections.length), "10 by default");

      // The filter finds the one connection owning a domain, however it is written.
      for (const spelling of [
        `team2-${t}.example.com`,
        `@TEAM2-${t}.example.com.`,
        ` team2-${t}.EXAMPLE.com `,
      ])
        assert.deepEqual(await page(`home_realm_domain=${encodeURIComponent(spelling)}`), {
          ids: [ids[2]],
          more: false,
        });
      assert.deepEqual(await page("home_realm_domain=nobody.example.org"), { ids: [], more: false });
      const stored = (await server.services.connections.find(ids[3]!))!;
      assert.deepEqual(stored.homeRealmDomains, [`team3-${t}.example.com`]);
      assert.equal(
        (await server.services.connections.byHomeRealmDomain(`TEAM3-${t}.example.com`))?.id,
        ids[3],
      );
      assert.equal(await server.services.connections.byHomeRealmDomain("nobody.example.org"), undefined);

      // Internationalised domains are kept as A-labels: both spellings find the connection.
      const idn = await create(server, oidc({ home_realm_domains: [`bücher-${t}.example`] }));
      assert.equal(
        (await server.services.connections.byHomeRealmDomain(domainToASCII(`bücher-${t}.example`)))?.id,
        idn,
      );
      assert.deepEqual(await page(`home_realm_domain=${encodeURIComponent(`BÜCHER-${t}.example`)}`), {
        ids: [idn],
        more: false,
      });

      // A domain belongs to one connection only.
      const count = await rowCount(server);
      await refused(server, "POST", "/api/v1/connections", 409, "HOME_REALM_DOMAIN_TAKEN", {
        body: oidc({ home_realm_domains: [`TEAM1-${t}.example.com`] }),
      });
      assert.equal(await rowCount(server), count, "the refused connection was not created");
      await refused(server, "PATCH", `/api/v1/connections/${ids[0]}`, 409, "HOME_REALM_DOMAIN_TAKEN", {
        body: { options: { home_realm_domains: [`team0-${t}.example.com`, `team4-${t}.example.com`] } },
      });
      assert.deepEqual((await server.services.connections.find(ids[0]!))!.homeRealmDomains, [
        `team0-${t}.example.com`,
      ]);
      // A connection's own domains may be written again, and moved once freed.
      assert.equal(
        (
          await callApi(server, "PATCH", `/api/v1/connections/${ids[4]}`, {
            body: { options: { home_realm_domains: [] } },
          })
        ).status,
        200,
      );
      assert.equal(
        (
          await callApi(server, "PATCH", `/api/v1/connections/${ids[0]}`, {
            body: { options: { home_realm_domains: [`team0-${t}.example.com`, `team4-${t}.example.com`] } },
          })
        ).status,
        200,
      );
      assert.equal(
        (await server.services.connections.byHomeRealmDomain(`team4-${t}.example.com`))?.id,
        ids[0],
      );

      await refused(server, "GET", "/api/v1/connections?page_size=501", 400, "PAGE_SIZE_LIMIT_EXCEEDED");
      await refused(server, "GET", "/api/v1/connections?page_size=0", 400, "INVALID_REQUEST");
      await refused(server, "GET", "/api/v1/connections?starting_after=42", 400, "INVALID_REQUEST");
      await refused(server, "GET", "/api/v1/connections?ending_before=conn_x", 400, "INVALID_REQUEST");
      await refused(
        server,
        "GET",
        "/api/v1/connections?home_realm_domain=not%20a%20domain",
        400,
        "INVALID_REQUEST",
      );
    });

    it("answers bad input with a 400 in Kinde's error shape and creates nothing", async () => {
      const reg = await createApplication(server, "reg");
      const m2m = await createApplication(server, "m2m");
      const count = await rowCount(server);
      const secret = `do-not-echo-${tag()}`;
      const cases: [Json, string, RegExp?][] = [
        [{ ...google(), strategy: "oauth2:myspace" }, "INVALID_STRATEGY"],
        [
          { ...google(), strategy: "saml:okta", options: { saml_entity_id: "https://idp" } },
          "STRATEGY_NOT_SUPPORTED",
          /not supported yet/,
        ],
        [{ ...google(), strategy: "wsfed:azure_ad" }, "STRATEGY_NOT_SUPPORTED", /not supported yet/],
        [
          google({ issuer: "https://accounts.google.com" }),
          "INVALID_CONNECTION_OPTIONS",
          /does not take option issuer/,
        ],
        [google({ saml_entity_id: "x" }), "INVALID_CONNECTION_OPTIONS", /saml_entity_id/],
        [{ ...google(), options: { client_secret: secret } }, "INVALID_CONNECTION_OPTIONS", /client_id/],
        [google({ upstream_params: { state: { value: "fixed" } } }), "INVALID_CONNECTION_OPTIONS", /state/],
        [google({ upstream_params: { prompt: "login" } }), "INVALID_CONNECTION_OPTIONS", /prompt/],
        [google({ client_id: "a\u0007b" }), "INVALID_CONNECTION_OPTIONS", /control characters/],
        [oidc({ issuer: "http://idp.example.com" }), "INVALID_CONNECTION_OPTIONS", /https/],
        [oidc({ issuer: "https://127.0.0.1/realm" }), "INVALID_CONNECTION_OPTIONS", /private/],
        [oidc({ issuer: "https://idp.local/x" }), "INVALID_CONNECTION_OPTIONS", /local/],
        [oidc({ issuer: "https://idp.example.com/?tenant=1" }), "INVALID_CONNECTION_OPTIONS", /query/],
        [oidc({ issuer: "https://user:pw@idp.example.com" }), "INVALID_CONNECTION_OPTIONS", /user name/],
        [oidc({ issuer: "not a url" }), "INVALID_CONNECTION_OPTIONS"],
        [oidc({ scopes: ["profile", "email"] }), "INVALID_CONNECTION_OPTIONS", /openid/],
        [oidc({ scopes: ['bad"scope'] }), "INVALID_CONNECTION_OPTIONS"],
        [oidc({ home_realm_domains: ["not a domain"] }), "INVALID_CONNECTION_OPTIONS", /not a domain/],
        [oidc({ home_realm_domains: ["localhost"] }), "INVALID_CONNECTION_OPTIONS"],
        [{ ...oidc(), options: { client_id: "x" } }, "INVALID_CONNECTION_OPTIONS", /issuer/],
        [
          {
            name: "custom",
            display_name: "Custom",
            strategy: "oauth2:custom",
            options: {
              client_id: "x",
              authorization_endpoint: "https://p.example.com/authorize",
              token_endpoint: "https://p.example.com/token",
              userinfo_endpoint: "https://p.example.com/me",
            },
          },
          "INVALID_CONNECTION_OPTIONS",
          /userinfo_mapping/,
        ],
        [
          {
            name: "custom",
            display_name: "Custom",
            strategy: "oauth2:custom",
            options: {
              client_id: "x",
              authorization_endpoint: "https://p.example.com/authorize",
              token_endpoint: "https://p.example.com/token",
              userinfo_endpoint: "https://p.example.com/me",
              userinfo_mapping: { sub: "id; drop table", email: "email" },
            },
          },
          "INVALID_CONNECTION_OPTIONS",
          /JSON path/,
        ],
        [
          { name: "entra", display_name: "Entra", strategy: "oauth2:azure_ad", options: { client_id: "x" } },
          "INVALID_CONNECTION_OPTIONS",
          /entra_id_domain/,
        ],
        [
          { ...google(), strategy: "oauth2:apple", options: { client_id: "x", apple_team_id: "short" } },
          "INVALID_CONNECTION_OPTIONS",
        ],
        [google({ unknown_option: true }), "INVALID_REQUEST"],
        [{ ...google(), name: "   " }, "INVALID_REQUEST", /blank/],
        [{ ...google(), name: 5 }, "INVALID_REQUEST"],
        [{ ...google(), display_name: "" }, "INVALID_REQUEST"],
        [{ ...google(), organization_code: "org_123" }, "INVALID_REQUEST", /enterprise/],
        [oidc({}, { organization_code: "org_00000000000" }), "ORGANIZATION_INVALID"],
        [{ ...google(), enabled_applications: ["0".repeat(32)] }, "APPLICATION_NOT_FOUND"],
        [{ ...google(), enabled_applications: [m2m.clientId] }, "APPLICATION_TYPE_NOT_SUPPORTED"],
        [{ ...google(), enabled_applications: [reg.clientId, "0".repeat(32)] }, "APPLICATION_NOT_FOUND"],
      ];
      for (const [body, code, message] of cases) {
        const text = await refused(server, "POST", "/api/v1/connections", 400, code, { body });
        if (message) assert.match(text, message, JSON.stringify(body));
        assert.ok(!text.includes(secret), "an error never echoes the secret");
      }
      assert.equal(await rowCount(server), count, "no refused request created anything");
      assert.deepEqual(
        await server.services.connections.forApplication(reg.clientId),
        [],
        "the half-valid enabled_applications enabled nothing",
      );

      // Updates are checked against the connection's strategy, whole.
      const id = await create(server, google());
      await refused(server, "PATCH", `/api/v1/connections/${id}`, 400, "NO_FIELDS_TO_UPDATE", { body: {} });
      await refused(server, "PATCH", `/api/v1/connections/${id}`, 400, "INVALID_CONNECTION_OPTIONS", {
        body: { options: { entra_id_domain: "example.com" } },
      });
      await refused(server, "PUT", `/api/v1/connections/${id}`, 400, "INVALID_CONNECTION_OPTIONS", {
        body: { name: "n", display_name: "d" },
      });
      await refused(server, "PUT", `/api/v1/connections/${id}`, 400, "INVALID_REQUEST", {
        body: { display_name: "d", options: { client_id: "x" } },
      });
      await refused(server, "PATCH", `/api/v1/connections/${id}`, 400, "INVALID_REQUEST", {
        body: { strategy: "oauth2:github" },
      });
      const unchanged = (await server.services.connections.find(id))!;
      assert.equal(unchanged.strategy, "oauth2:google");
      await refused(
        server,
        "GET",
        "/api/v1/connections/conn_00000000000000000000000000000000",
        404,
        "CONNECTION_NOT_FOUND",
      );
      await refused(server, "GET", `/api/v1/connections/${"x".repeat(101)}`, 400, "INVALID_REQUEST");
    });

    it("replays a create retried with the same Idempotency-Key, enablement included", async () => {
      const app = await createApplication(server, "spa");
      const key = `create-${tag()}`;
      const body = { ...google({ client_secret: "s" }), enabled_applications: [app.clientId] };
      const first = await callApi<{ connection: { id: string } }>(server, "POST", "/api/v1/connections", {
        body,
        headers: { "idempotency-key": key },
      });
      assert.equal(first.status, 201, JSON.stringify(first.body));
      const count = await rowCount(server);
      const again = await callApi<{ connection: { id: string } }>(server, "POST", "/api/v1/connections", {
        body,
        headers: { "idempotency-key": key },
      });
      assert.equal(again.status, 201);
      assert.equal(again.headers.get("idempotent-replayed"), "true");
      assert.equal(again.body.connection.id, first.body.connection.id);
      assert.equal(await rowCount(server), count, "one connection");
      assert.deepEqual(
        (await server.services.connections.forApplication(app.clientId)).map((c) => c.id),
        [first.body.connection.id],
      );
      // A refused create under a key commits nothing, and the key may not be reused for another body.
      const refusedKey = `refused-${tag()}`;
      await refused(server, "POST", "/api/v1/connections", 400, "APPLICATION_NOT_FOUND", {
        body: { ...google(), enabled_applications: ["0".repeat(32)] },
        headers: { "idempotency-key": refusedKey },
      });
      assert.equal(await rowCount(server), count);
    });

    it("takes Latchkey's oidc:custom and oauth2:custom and Kinde's enterprise options", async () => {
      const oidcId = await create(server, oidc({ client_secret: "s", is_create_missing_user: true }));
      const stored = (await server.services.connections.find(oidcId))!;
      assert.deepEqual(stored.options.scopes, ["openid", "profile", "email"], "OpenID's default scopes");
      assert.equal(stored.options.issuer, "https://idp.example.com/realms/acme");
      const custom = await create(server, {
        name: "custom",
        display_name: "Custom OAuth",
        strategy: "oauth2:custom",
        options: {
          client_id: "x",
          authorization_endpoint: "https://p.example.com/oauth/authorize?audience=api",
          token_endpoint: "https://p.example.com/oauth/token",
          userinfo_endpoint: "https://p.example.com/api/me",
          scopes: ["read:user", "user:email", "read:user"],
          userinfo_mapping: { sub: "id", email: "emails[0].value", given_name: "name.first" },
        },
      });
      const read = await callApi<Read>(server, "GET", `/api/v1/connections/${custom}`);
      assert.deepEqual(read.body.connection.options.userinfo_mapping, {
        sub: "id",
        email: "emails[0].value",
        given_name: "name.first",
      });
      assert.deepEqual(read.body.connection.options.scopes, ["read:user", "user:email"]);
      assert.equal(read.body.connection.has_client_secret, false);
      const entra = await create(server, {
        name: "entra",
        display_name: "Microsoft Entra ID",
        strategy: "oauth2:azure_ad",
        options: {
          client_id: "x",
          client_secret: "y",
          entra_id_domain: "Contoso.onmicrosoft.com",
          home_realm_domains: ["@contoso-corp.example"],
          is_retrieve_provider_user_groups: false,
          is_use_common_endpoint: false,
        },
      });
      const entraRead = (await callApi<Read>(server, "GET", `/api/v1/connections/${entra}`)).body.connection;
      assert.equal(entraRead.options.entra_id_domain, "contoso.onmicrosoft.com");
      assert.deepEqual(entraRead.options.home_realm_domains, ["contoso-corp.example"]);
      assert.equal(entraRead.options.is_retrieve_provider_user_groups, false);
    });

    it("enables a connection per application, and the sign-in page offers what is enabled", async () => {
      const app = await createApplication(server, "spa");
      const other = await createApplication(server, "reg");
      const m2m = await createApplication(server, "m2m");
      const c1 = await create(server, google());
      const c2 = await create(server, google());
      const path = (appId: string, connId: string) => `/api/v1/applications/${appId}/connections/${connId}`;

      assert.deepEqual(
        (await callApi<Listed>(server, "GET", `/api/v1/applications/${app.clientId}/connections`)).body,
        { code: "OK", message: "Success", connections: [], has_more: false },
      );
      for (const id of [c2, c1, c1])
        assert.equal((await callApi(server, "POST", path(app.clientId, id))).status, 200);
      const listed = await callApi<Listed>(server, "GET", `/api/v1/applications/${app.clientId}/connections`);
      assert.deepEqual(
        listed.body.connections.map((c) => c.id),
        [c1, c2],
        "each once, in creation order",
      );
      assert.deepEqual(
        (await server.services.connections.enabledFor(app.clientId, null)).map((c) => c.id),
        [c1, c2],
      );
      assert.deepEqual(await server.services.connections.enabledFor(other.clientId, null), []);
      assert.deepEqual(await server.services.connections.enabledFor("0".repeat(32), null), []);
      const read = (await callApi<Read>(server, "GET", `/api/v1/connections/${c1}`)).body.connection;
      assert.deepEqual(read.enabled_applications, [app.clientId]);

      assert.equal((await callApi(server, "DELETE", path(app.clientId, c2))).status, 200);
      await refused(server, "DELETE", path(app.clientId, c2), 404, "CONNECTION_NOT_FOUND");
      assert.deepEqual(
        (await server.services.connections.enabledFor(app.clientId, null)).map((c) => c.id),
        [c1],
      );

      // enabled_applications on PATCH is the complete list.
      await callApi(server, "PATCH", `/api/v1/connections/${c2}`, {
        body: { enabled_applications: [app.clientId, other.clientId] },
      });
      assert.deepEqual(
        (await server.services.connections.enabledApplications(c2)).sort(),
        [app.clientId, other.clientId].sort(),
      );
      await callApi(server, "PATCH", `/api/v1/connections/${c2}`, {
        body: { enabled_applications: [other.clientId] },
      });
      assert.deepEqual(await server.services.connections.enabledApplications(c2), [other.clientId]);

      await refused(
        server,
        "GET",
        `/api/v1/applications/${"0".repeat(32)}/connections`,
        400,
        "APPLICATION_NOT_FOUND",
      );
      await refused(server, "POST", path("0".repeat(32), c1), 400, "APPLICATION_NOT_FOUND");
      await refused(server, "DELETE", path("0".repeat(32), c1), 400, "APPLICATION_NOT_FOUND");
      await refused(
        server,
        "POST",
        path(app.clientId, "conn_00000000000000000000000000000000"),
        404,
        "CONNECTION_NOT_FOUND",
      );
      await refused(server, "POST", path(m2m.clientId, c1), 400, "APPLICATION_TYPE_NOT_SUPPORTED");

      // An application's deletion takes its enablement with it.
      assert.equal((await callApi(server, "DELETE", `/api/v1/applications/${app.clientId}`)).status, 200);
      assert.deepEqual(await server.services.connections.enabledApplications(c1), []);
    });

    it("enables connections per organization: an organization's own list narrows its sign-in", async () => {
      const newOrg = async () => {
        const created = await callApi<{ organization: { code: string } }>(
          server,
          "POST",
          "/api/v1/organization",
          {
            body: { name: `Org ${tag()}` },
          },
        );
        assert.equal(created.status, 200, JSON.stringify(created.body));
        return created.body.organization.code;
      };
      const orgA = await newOrg();
      const orgB = await newOrg();
      const app = await createApplication(server, "reg");
      const social1 = await create(server, google());
      const social2 = await create(server, google());
      // An enterprise connection orgA manages: enabled for orgA at once, and only ever there.
      const sso = await create(server, oidc({}, { organization_code: orgA }));
      for (const id of [social1, social2, sso])
        assert.equal(
          (await callApi(server, "POST", `/api/v1/applications/${app.clientId}/connections/${id}`)).status,
          200,
        );
      const orgPath = (org: string, id?: string) =>
        `/api/v1/organizations/${org}/connections${id ? `/${id}` : ""}`;
      const offered = async (org: string | null) =>
        (await server.services.connections.enabledFor(app.clientId, org)).map((c) => c.id);

      assert.deepEqual(
        (await callApi<Listed>(server, "GET", orgPath(orgA))).body.connections.map((c) => c.id),
        [sso],
      );
      assert.equal(
        (await callApi<Read>(server, "GET", `/api/v1/connections/${sso}`)).body.connection.organization_code,
        orgA,
      );
      assert.deepEqual(
        await offered(null),
        [social1, social2],
        "an organization's own connection only on its sign-in",
      );
      assert.deepEqual(await offered(orgA), [sso], "orgA's list narrows its sign-in");
      assert.deepEqual(await offered(orgB), [social1, social2], "orgB has no list: the application's");

      assert.equal((await callApi(server, "POST", orgPath(orgA, social1))).status, 200);
      assert.equal(
        (await callApi(server, "POST", orgPath(orgA, social1))).status,
        200,
        "enabling twice is fine",
      );
      assert.deepEqual(await offered(orgA), [social1, sso]);
      assert.equal((await callApi(server, "POST", orgPath(orgB, social2))).status, 200);
      assert.deepEqual(await offered(orgB), [social2]);
      assert.match(
        await refused(server, "POST", orgPath(orgB, sso), 400, "INVALID_REQUEST"),
        /managed by organization/,
      );

      // Disabling its last connection leaves orgB's sign-in with none: narrowing never widens it
      // back to the application's.
      assert.equal((await callApi(server, "DELETE", orgPath(orgB, social2))).status, 200);
      await refused(server, "DELETE", orgPath(orgB, social2), 404, "CONNECTION_NOT_FOUND");
      assert.deepEqual((await callApi<Listed>(server, "GET", orgPath(orgB))).body.connections, []);
      assert.deepEqual(await offered(orgB), [], "orgB chose its list, now empty");
      assert.equal((await callApi(server, "POST", orgPath(orgB, social1))).status, 200);
      assert.deepEqual(await offered(orgB), [social1]);
      // Nor does deleting the connection itself.
      const orgC = await newOrg();
      const social3 = await create(server, google());
      assert.equal(
        (await callApi(server, "POST", `/api/v1/applications/${app.clientId}/connections/${social3}`)).status,
        200,
      );
      assert.deepEqual(
        await offered(orgC),
        [social1, social2, social3],
        "orgC never chose: the application's",
      );
      assert.equal((await callApi(server, "POST", orgPath(orgC, social3))).status, 200);
      assert.deepEqual(await offered(orgC), [social3]);
      assert.equal((await callApi(server, "DELETE", `/api/v1/connections/${social3}`)).status, 200);
      assert.deepEqual(await offered(orgC), [], "its only connection deleted: none, not the application's");
      assert.deepEqual(await offered(null), [social1, social2]);
      await refused(server, "GET", orgPath("org_00000000000"), 404, "ORGANIZATION_NOT_FOUND");
      await refused(server, "POST", orgPath("org_00000000000", social1), 404, "ORGANIZATION_NOT_FOUND");
      await refused(
        server,
        "POST",
        orgPath(orgA, "conn_00000000000000000000000000000000"),
        404,
        "CONNECTION_NOT_FOUND",
      );

      // The organization's deletion takes its own connection with it.
      assert.equal((await callApi(server, "DELETE", `/api/v1/organization/${orgA}`)).status, 200);
      assert.equal(await server.services.connections.find(sso), undefined);
      assert.ok(await server.services.connections.find(social1));
    });

    it("asks for each operation's scope, and the enablement scopes for enabled_applications", async () => {
      const app = await createApplication(server, "reg");
      const reader = await narrowMachineToken(server, ["read:connections"]);
      await refused(server, "POST", "/api/v1/connections", 403, "FORBIDDEN", {
        body: google(),
        token: reader.token,
      });
      const id = await create(server, google());
      assert.equal(
        (await callApi(server, "GET", `/api/v1/connections/${id}`, { token: reader.token })).status,
        200,
      );
      for (const [method, path, body] of [
        ["PATCH", `/api/v1/connections/${id}`, { name: "x" }],
        ["PUT", `/api/v1/connections/${id}`, { name: "x", display_name: "x", options: { client_id: "x" } }],
        ["DELETE", `/api/v1/connections/${id}`],
        ["GET", `/api/v1/applications/${app.clientId}/connections`],
        ["POST", `/api/v1/applications/${app.clientId}/connections/${id}`],
        ["DELETE", `/api/v1/applications/${app.clientId}/connections/${id}`],
      ] as [string, string, Json?][])
        await refused(server, method, path, 403, "FORBIDDEN", { body, token: reader.token });

      // create:connections alone creates, but does not reach what create:application_connections guards.
      const creator = await narrowMachineToken(server, ["create:connections", "update:connections"]);
      const count = await rowCount(server);
      assert.match(
        await refused(server, "POST", "/api/v1/connections", 403, "FORBIDDEN", {
          body: { ...google(), enabled_applications: [app.clientId] },
          token: creator.token,
        }),
        /create:application_connections/,
      );
      assert.equal(await rowCount(server), count);
      const own = await create(server, google(), creator.token);
      await refused(server, "PATCH", `/api/v1/connections/${own}`, 403, "FORBIDDEN", {
        body: { enabled_applications: [app.clientId] },
        token: creator.token,
      });
      assert.deepEqual(await server.services.connections.enabledApplications(own), []);

      // Home realm domains are also what a SCIM directory may make accounts for: create:users too.
      const t = Date.now();
      const enterprise = await create(server, oidc(), creator.token);
      assert.match(
        await refused(server, "PATCH", `/api/v1/connections/${enterprise}`, 403, "FORBIDDEN", {
          body: { options: { home_realm_domains: [`gmail-${t}.example`] } },
          token: creator.token,
        }),
        /create:users/,
      );
      await refused(server, "POST", "/api/v1/connections", 403, "FORBIDDEN", {
        body: oidc({ home_realm_domains: [`gmail-${t}.example`] }),
        token: creator.token,
      });
      const widened = await narrowMachineToken(server, ["update:connections", "create:users"]);
      const patched = await callApi(server, "PATCH", `/api/v1/connections/${enterprise}`, {
        body: { options: { home_realm_domains: [`corp-${t}.example`] } },
        token: widened.token,
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      // Writing them back unchanged needs nothing more.
      const same = await callApi(server, "PATCH", `/api/v1/connections/${enterprise}`, {
        body: { display_name: "Renamed", options: { home_realm_domains: [`corp-${t}.example`] } },
        token: creator.token,
      });
      assert.equal(same.status, 200, JSON.stringify(same.body));
    });

    it("lets only an administrator change the admin dashboard's connections", async () => {
      const dashboard = (await storedDashboardClientId(server.storage.db))!;
      assert.ok(dashboard, "the dashboard is registered");
      const id = await create(server, oidc());
      const path = `/api/v1/applications/${dashboard}/connections/${id}`;

      // A machine token with every scope cannot offer a connection on the administrators' sign-in.
      await refused(server, "POST", path, 403, "DASHBOARD_APPLICATION_PROTECTED");
      const count = await rowCount(server);
      await refused(server, "POST", "/api/v1/connections", 403, "DASHBOARD_APPLICATION_PROTECTED", {
        body: { ...oidc(), enabled_applications: [dashboard] },
      });
      assert.equal(await rowCount(server), count, "nothing created");
      await refused(server, "PATCH", `/api/v1/connections/${id}`, 403, "DASHBOARD_APPLICATION_PROTECTED", {
        body: { enabled_applications: [dashboard] },
      });
      assert.deepEqual(await server.services.connections.enabledFor(dashboard, null), []);

      // An administrator can, deliberately.
      const admin = await dashboardToken(
        server,
        ADMIN,
        "openid read:connections update:connections delete:connections create:application_connections delete:application_connections read:application_connections",
      );
      assert.equal((await callApi(server, "POST", path, { token: admin.access_token })).status, 200);
      assert.deepEqual(
        (await server.services.connections.enabledFor(dashboard, null)).map((c) => c.id),
        [id],
      );

      // Now the connection is the administrators' sign-in: a machine can neither repoint, nor
      // replace, nor delete, nor disable it.
      const issuer = "https://attacker.example.net";
      await refused(server, "PATCH", `/api/v1/connections/${id}`, 403, "DASHBOARD_APPLICATION_PROTECTED", {
        body: { options: { issuer } },
      });
      await refused(server, "PUT", `/api/v1/connections/${id}`, 403, "DASHBOARD_APPLICATION_PROTECTED", {
        body: { name: "x", display_name: "x", options: { client_id: "x", issuer } },
      });
      await refused(server, "DELETE", `/api/v1/connections/${id}`, 403, "DASHBOARD_APPLICATION_PROTECTED");
      await refused(server, "DELETE", path, 403, "DASHBOARD_APPLICATION_PROTECTED");
      const kept = (await server.services.connections.find(id))!;
      assert.equal(kept.options.issuer, "https://idp.example.com/realms/acme");
      assert.deepEqual(await server.services.connections.enabledApplications(id), [dashboard]);

      // The administrator can change and disable it.
      const changed = await callApi(server, "PATCH", `/api/v1/connections/${id}`, {
        token: admin.access_token,
        body: { display_name: "Staff SSO" },
      });
      assert.equal(changed.status, 200, JSON.stringify(changed.body));
      assert.equal((await callApi(server, "DELETE", path, { token: admin.access_token })).status, 200);
      assert.deepEqual(await server.services.connections.enabledFor(dashboard, null), []);
    });

    it("keeps a weaker machine from changing how people sign in to a stronger application", async () => {
      // A sign-in application that was granted a Management API scope the caller lacks.
      const strong = await createApplication(server, "reg");
      const api = (await server.services.apis.store.findManagementApi())!;
      await server.services.apis.authorizeApplication(api.id, strong.clientId);
      await server.services.apis.grantScopes(api.id, strong.clientId, ["read:users"]);
      const weak = await narrowMachineToken(server, [
        "create:connections",
        "update:connections",
        "create:application_connections",
        "delete:application_connections",
      ]);
      const id = await create(server, google());
      await refused(
        server,
        "POST",
        `/api/v1/applications/${strong.clientId}/connections/${id}`,
        403,
        "FORBIDDEN",
        {
          token: weak.token,
        },
      );
      assert.equal(
        (await callApi(server, "POST", `/api/v1/applications/${strong.clientId}/connections/${id}`)).status,
        200,
      );
      await refused(server, "PATCH", `/api/v1/connections/${id}`, 403, "FORBIDDEN", {
        token: weak.token,
        body: { options: { client_id: "attacker" } },
      });
      await refused(
        server,
        "DELETE",
        `/api/v1/applications/${strong.clientId}/connections/${id}`,
        403,
        "FORBIDDEN",
        {
          token: weak.token,
        },
      );
      // An ordinary application it may change.
      const plain = await createApplication(server, "reg");
      assert.equal(
        (
          await callApi(server, "POST", `/api/v1/applications/${plain.clientId}/connections/${id}`, {
            token: weak.token,
          })
        ).status,
        200,
      );
    });
  });
}
