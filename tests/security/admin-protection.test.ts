// Issue 15 §1–2, on SQLite and PostgreSQL: no machine scope, however it is combined, reaches
// administrator power. A machine token cannot re-password, suspend, delete, give identities to or
// sign out an administrator; an administrator in the dashboard can. The dashboard's application
// refuses every change through the API. Bootstrap never promotes an account it did not create, and
// promoting one is an operator's command that refuses an address nobody verified.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { accountClientId } from "../../src/account/account-app.js";
import { BOOTSTRAP_APPLICATION_NAME, bootstrap } from "../../src/bootstrap.js";
import { SecretBox } from "../../src/crypto/secret-box.js";
import { findDashboardClientId } from "../../src/dashboard/dashboard-app.js";
import { openStorage } from "../../src/storage/database.js";
import { migrateToLatest } from "../../src/storage/migrate.js";
import { dashboardToken } from "../helpers/dashboard.js";
import { databaseKinds, freshDatabase } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, narrowMachineToken } from "../helpers/management.js";
import { insertApplication, insertInstallation, migrateUpTo } from "../helpers/migrations.js";
import { runCli } from "../helpers/process.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const ADMIN = { email: "root@example.com", password: "a root password nobody guesses" };

type Errors = { errors: { code: string; message: string }[] };

/** Whether the dashboard still signs the administrator in with this password. */
async function adminSignsIn(server: TestServer, password: string): Promise<boolean> {
  try {
    await dashboardToken(server, { email: ADMIN.email, password }, "openid read:users");
    return true;
  } catch {
    return false;
  }
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`administrator power stays with administrators (${kind})`, { skip }, () => {
    let server: TestServer;
    let adminId: string;

    before(async () => {
      server = await startTestServer(kind, {
        env: { BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password },
      });
      adminId = (await server.services.users.store.findByEmail(ADMIN.email))!.id;
    });
    after(async () => server?.close());

    it("refuses every change to an administrator through a machine token, whatever its scopes", async () => {
      const { token } = await narrowMachineToken(server, [
        "read:users",
        "update:users",
        "delete:users",
        "update:user_passwords",
        "create:user_identities",
        "delete:user_sessions",
      ]);
      const attempts: [string, string, unknown?][] = [
        ["PUT", `/api/v1/users/${adminId}/password`, { password: "the attacker's own password" }],
        ["PATCH", `/api/v1/user?id=${adminId}`, { is_suspended: true }],
        ["PATCH", `/api/v1/user?id=${adminId}`, { given_name: "Mallory" }],
        ["POST", `/api/v1/users/${adminId}/identities`, { type: "username", value: "mallory" }],
        ["DELETE", `/api/v1/users/${adminId}/sessions`],
        ["DELETE", `/api/v1/user?id=${adminId}`],
      ];
      for (const [method, path, body] of attempts) {
        const refused = await callApi<Errors>(server, method, path, { token, body });
        assert.equal(refused.status, 403, `${method} ${path}: ${JSON.stringify(refused.body)}`);
        assert.equal(refused.body.errors[0]!.code, "ADMINISTRATOR_PROTECTED");
      }
      // Nothing changed: the administrator exists, is not suspended, and signs in as before.
      const admin = (await server.services.users.store.findById(adminId))!;
      assert.equal(admin.is_suspended, 0);
      assert.equal(admin.given_name, null);
      assert.equal(admin.username, null);
      assert.ok(await adminSignsIn(server, ADMIN.password));
      assert.ok(!(await adminSignsIn(server, "the attacker's own password")));

      // The same token still does its job on everyone else.
      const person = await createUser(server);
      const set = await callApi(server, "PUT", `/api/v1/users/${person.id}/password`, {
        token,
        body: { password: "another long passphrase" },
      });
      assert.equal(set.status, 200);
      const suspended = await callApi(server, "PATCH", `/api/v1/user?id=${person.id}`, {
        token,
        body: { is_suspended: true },
      });
      assert.equal(suspended.status, 200);
    });

    it("lets an administrator in the dashboard change an administrator account", async () => {
      const { access_token } = await dashboardToken(server, ADMIN, "openid update:users");
      const renamed = await callApi(server, "PATCH", `/api/v1/user?id=${adminId}`, {
        token: access_token,
        body: { given_name: "Grace" },
      });
      assert.equal(renamed.status, 200);
      assert.equal((await server.services.users.store.findById(adminId))!.given_name, "Grace");
    });

    it("refuses every change to the dashboard's application, even token lifetimes", async () => {
      const clientId = (await findDashboardClientId(server.storage.db, server.url))!;
      const before = (await server.services.applications.store.findById(clientId))!;
      const { token } = await narrowMachineToken(server, [
        "update:application_tokens",
        "update:applications",
        "update:apis",
      ]);
      const managementApi = (await server.services.apis.store.findManagementApi())!;
      for (const [method, path, body] of [
        ["PATCH", `/api/v1/applications/${clientId}/tokens`, { access_token_lifetime: 31_536_000 }],
        ["PATCH", `/api/v1/applications/${clientId}`, { name: "Not the dashboard" }],
        [
          "PATCH",
          `/api/v1/apis/${managementApi.id}/applications`,
          { applications: [{ id: clientId, operation: "delete" }] },
        ],
      ] as const) {
        const refused = await callApi<Errors>(server, method, path, { token, body });
        assert.equal(refused.status, 403, `${method} ${path}: ${JSON.stringify(refused.body)}`);
        assert.equal(refused.body.errors[0]!.code, "DASHBOARD_APPLICATION_PROTECTED");
      }
      const after = (await server.services.applications.store.findById(clientId))!;
      assert.equal(after.access_token_lifetime, before.access_token_lifetime);
      assert.equal(after.name, before.name);
      assert.ok(await server.services.apis.store.isAuthorized(managementApi.id, clientId));
    });

    it("a machine grants Management API scopes only among those it holds", async () => {
      const api = (await server.services.apis.store.findManagementApi())!;
      const { token, clientId } = await narrowMachineToken(server, [
        "create:api_application_scopes",
        "update:apis",
      ]);
      const scopeId = async (key: string) =>
        (await server.services.apis.store.scopes(api.id)).find((s) => s.key === key)!.id;
      const grant = (key: string) =>
        scopeId(key).then((id) =>
          callApi<Errors>(server, "POST", `/api/v1/apis/${api.id}/applications/${clientId}/scopes/${id}`, {
            token,
          }),
        );
      const refused = await grant("read:applications");
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.equal(refused.body.errors[0]!.code, "FORBIDDEN");
      assert.ok(
        !(await server.services.apis.store.grantedScopes(clientId, [api.audience])).has("read:applications"),
      );
      // A twin it authorises gets nothing beyond what it holds either.
      const twin = await createApplication(server, "m2m");
      const authorized = await callApi(server, "PATCH", `/api/v1/apis/${api.id}/applications`, {
        token,
        body: { applications: [{ id: twin.clientId }] },
      });
      assert.equal(authorized.status, 200);
      assert.equal((await server.services.apis.store.grantedScopes(twin.clientId, [api.audience])).size, 0);
      const held = await callApi(
        server,
        "POST",
        `/api/v1/apis/${api.id}/applications/${twin.clientId}/scopes/${await scopeId("update:apis")}`,
        { token },
      );
      assert.equal(held.status, 200);
    });

    it("a machine learns or rotates only the secrets of applications no stronger than itself", async () => {
      const { token } = await narrowMachineToken(server, ["read:applications", "update:applications"]);
      const bootstrapApp = server.management.clientId;
      type Read = { application: { client_secret: string | null } };
      const hidden = await callApi<Read>(server, "GET", `/api/v1/applications/${bootstrapApp}`, { token });
      assert.equal(hidden.status, 200);
      assert.equal(hidden.body.application.client_secret, null);
      const rotated = await callApi<Errors>(
        server,
        "POST",
        `/api/v1/applications/${bootstrapApp}/rotate_secret`,
        {
          token,
        },
      );
      assert.equal(rotated.status, 403, JSON.stringify(rotated.body));
      assert.equal(
        server.services.applications.revealSecret(
          (await server.services.applications.store.findById(bootstrapApp))!,
        ),
        server.management.clientSecret,
      );
      // An application without Management API grants is no stronger: its secret reads as in Kinde.
      const ordinary = await createApplication(server, "reg");
      const shown = await callApi<Read>(server, "GET", `/api/v1/applications/${ordinary.clientId}`, {
        token,
      });
      assert.equal(shown.body.application.client_secret, ordinary.clientSecret);
      // The bootstrap application holds every scope, so it sees every secret.
      const all = await callApi<Read>(server, "GET", `/api/v1/applications/${bootstrapApp}`);
      assert.equal(all.body.application.client_secret, server.management.clientSecret);
    });

    it("a scope taken from a machine stops counting at once, in every rule that weighs its scopes", async () => {
      const api = (await server.services.apis.store.findManagementApi())!;
      const { token, clientId } = await narrowMachineToken(server, [
        "create:api_application_scopes",
        "delete:users",
      ]);
      const deleteUsers = (await server.services.apis.store.scopes(api.id)).find(
        (s) => s.key === "delete:users",
      )!;
      // The administrator takes delete:users away; the machine's token still lists it.
      await server.services.apis.revokeScope(api.id, clientId, deleteUsers.id);
      const twin = await createApplication(server, "m2m");
      await server.services.apis.authorizeApplication(api.id, twin.clientId);
      const regranted = await callApi<Errors>(
        server,
        "POST",
        `/api/v1/apis/${api.id}/applications/${twin.clientId}/scopes/${deleteUsers.id}`,
        { token },
      );
      assert.equal(regranted.status, 403, JSON.stringify(regranted.body));
      assert.equal((await server.services.apis.store.grantedScopes(twin.clientId, [api.audience])).size, 0);
    });

    it("a machine cannot change an application stronger than itself", async () => {
      const { token } = await narrowMachineToken(server, [
        "delete:applications",
        "update:application_tokens",
        "update:apis",
        "delete:apis_application_scopes",
      ]);
      const bootstrapApp = server.management.clientId;
      const api = (await server.services.apis.store.findManagementApi())!;
      const scope = (await server.services.apis.store.scopes(api.id))[0]!;
      for (const [method, path, body] of [
        ["PATCH", `/api/v1/applications/${bootstrapApp}/tokens`, { access_token_lifetime: 31_536_000 }],
        [
          "PATCH",
          `/api/v1/apis/${api.id}/applications`,
          { applications: [{ id: bootstrapApp, operation: "delete" }] },
        ],
        ["DELETE", `/api/v1/apis/${api.id}/applications/${bootstrapApp}/scopes/${scope.id}`],
        ["DELETE", `/api/v1/applications/${bootstrapApp}`],
      ] as const) {
        const refused = await callApi<Errors>(server, method, path, { token, ...(body ? { body } : {}) });
        assert.equal(refused.status, 403, `${method} ${path}: ${JSON.stringify(refused.body)}`);
        assert.equal(refused.body.errors[0]!.code, "FORBIDDEN");
      }
      assert.ok(await server.services.applications.store.findById(bootstrapApp));
      assert.ok(
        (await server.services.apis.store.grantedScopes(bootstrapApp, [api.audience])).has(scope.key),
      );
      // An ordinary application it may still change.
      const ordinary = await createApplication(server, "reg");
      const changed = await callApi(server, "PATCH", `/api/v1/applications/${ordinary.clientId}/tokens`, {
        token,
        body: { access_token_lifetime: 3600 },
      });
      assert.equal(changed.status, 200);
    });

    it("no organization change locks an administrator out of the dashboard or ends its session", async () => {
      const { token } = await narrowMachineToken(server, [
        "create:organizations",
        "create:organization_users",
        "delete:organization_users",
        "update:organizations",
      ]);
      const dashboard = await dashboardToken(server, ADMIN, "openid read:users");
      const created = await callApi<{ organization: { code: string } }>(
        server,
        "POST",
        "/api/v1/organization",
        {
          token,
          body: { name: "Trap" },
        },
      );
      const trap = created.body.organization.code;
      const defaultOrg = (await server.services.organizations.store.findDefault())!.code;
      const steps: [string, string, unknown?][] = [
        ["POST", `/api/v1/organizations/${trap}/users`, { users: [{ id: adminId }] }],
        ["DELETE", `/api/v1/organizations/${defaultOrg}/users/${adminId}`],
        ["PATCH", `/api/v1/organization/${trap}`, { is_suspended: true }],
      ];
      for (const [method, path, body] of steps) {
        const done = await callApi(server, method, path, { token, body });
        assert.ok(done.status < 300, `${method} ${path}: ${done.status} ${JSON.stringify(done.body)}`);
      }
      // The session signed in before still works, and a new dashboard sign-in succeeds.
      const users = await callApi(server, "GET", "/api/v1/users", { token: dashboard.access_token });
      assert.equal(users.status, 200);
      assert.ok(await adminSignsIn(server, ADMIN.password));
    });

    it("bootstrap grants every scope only to the application it generated, not to one given its name", async () => {
      const generating = {
        ...server.config,
        bootstrap: { ...server.config.bootstrap, m2mClientId: undefined, m2mClientSecret: undefined },
      };
      const api = (await server.services.apis.store.findManagementApi())!;
      const authorizedM2m = await server.storage.db
        .selectFrom("api_applications")
        .innerJoin("applications", "applications.id", "api_applications.application_id")
        .select("applications.id")
        .where("api_applications.api_id", "=", api.id)
        .where("applications.type", "=", "m2m")
        .execute();
      // With no machine application authorised, a start generates one.
      for (const { id } of authorizedM2m) await server.services.apis.deauthorizeApplication(api.id, id);
      const generated = (await bootstrap(server.storage, server.secretBox, generating))
        .generatedManagementClient!;
      assert.ok(generated);
      // A machine allowed only to update applications names its own as bootstrap's…
      const { token, clientId } = await narrowMachineToken(server, ["update:applications"]);
      const renamed = await callApi(server, "PATCH", `/api/v1/applications/${clientId}`, {
        token,
        body: { name: BOOTSTRAP_APPLICATION_NAME },
      });
      assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
      // …and the administrator deauthorises the generated one. The next start grants nothing new.
      await server.services.apis.deauthorizeApplication(api.id, generated.clientId);
      const again = await bootstrap(server.storage, server.secretBox, generating);
      assert.equal(again.generatedManagementClient, undefined);
      const scopes = await server.storage.db
        .selectFrom("api_application_scopes")
        .innerJoin("api_scopes", "api_scopes.id", "api_application_scopes.scope_id")
        .select("api_scopes.key")
        .where("api_application_scopes.application_id", "=", clientId)
        .execute();
      assert.deepEqual(
        scopes.map((s) => s.key),
        ["update:applications"],
      );
      for (const { id } of authorizedM2m) await server.services.apis.authorizeApplication(api.id, id);
    });

    it("migration 0046 adopts the oldest application of bootstrap's name, not a younger impostor", async () => {
      const database = (await freshDatabase(kind))!;
      const storage = await openStorage(database.target, { poolSize: 2 });
      try {
        await migrateUpTo(storage.db, "0045_claims_cache");
        const issuer = "https://id.example.com";
        await insertInstallation(storage.db, issuer);
        for (const [id, createdAt] of [
          ["genuine", 1],
          ["impostor", 2],
        ] as const) {
          await insertApplication(storage.db, {
            id,
            name: BOOTSTRAP_APPLICATION_NAME,
            type: "m2m",
            createdAt,
          });
          await storage.db
            .insertInto("api_applications")
            .values({ api_id: "api_1", application_id: id, created_at: createdAt })
            .execute();
        }
        await migrateToLatest(storage.db);
        const stored = await storage.db
          .selectFrom("business")
          .select("bootstrap_client_id")
          .executeTakeFirst();
        assert.equal(stored?.bootstrap_client_id, "genuine");
        await bootstrap(storage, new SecretBox(randomBytes(32)), { issuerUrl: issuer, bootstrap: {} });
        const held = async (id: string) =>
          (
            await storage.db
              .selectFrom("api_application_scopes")
              .select("scope_id")
              .where("application_id", "=", id)
              .execute()
          ).length;
        assert.ok((await held("genuine")) > 50, "the generated application keeps every scope");
        assert.equal(await held("impostor"), 0);
      } finally {
        await storage.close();
        await database.drop();
      }
    });

    it("neither changes Latchkey's own applications nor shows their secrets", async () => {
      // The account pages register theirs at first use.
      await fetch(`${server.url}/account`, { redirect: "manual" });
      const own = await accountClientId(server.services);
      assert.ok(await server.services.applications.store.findById(own), "registered");
      const { token } = await narrowMachineToken(server, [
        "read:applications",
        "update:applications",
        "create:applications_redirect_uris",
      ]);
      const read = await callApi<{ application: { client_secret: string | null } }>(
        server,
        "GET",
        `/api/v1/applications/${own}`,
        { token },
      );
      assert.equal(read.status, 200);
      assert.equal(read.body.application.client_secret, null);
      for (const [method, path, body] of [
        [
          "POST",
          `/api/v1/applications/${own}/auth_redirect_urls`,
          { urls: ["https://collector.example/cb"] },
        ],
        ["PATCH", `/api/v1/applications/${own}`, { name: "Renamed" }],
        ["POST", `/api/v1/applications/${own}/rotate_secret`, undefined],
      ] as const) {
        const refused = await callApi(server, method, path, { token, body });
        assert.equal(refused.status, 403, `${method} ${path}`);
      }
      const urls = await server.storage.db
        .selectFrom("application_urls")
        .select("url")
        .where("application_id", "=", own)
        .execute();
      assert.ok(
        urls.every((u) => u.url.startsWith(server.url)),
        JSON.stringify(urls),
      );
    });

    it("bootstrap creates the administrator only when nobody has the address", async () => {
      // A stranger signed up with the address (spelled differently) before the variable was set.
      const stranger = await server.services.users.create({
        email: "Boss@Example.COM.",
        password: "the stranger's password",
      });
      const config = {
        ...server.config,
        bootstrap: {
          ...server.config.bootstrap,
          adminEmail: "boss@example.com",
          adminPassword: "whatever it is",
        },
      };
      const first = await bootstrap(server.storage, server.secretBox, config);
      const second = await bootstrap(server.storage, server.secretBox, config);
      assert.deepEqual(first.adminNotCreated, { userId: stranger.id });
      assert.deepEqual(second.adminNotCreated, { userId: stranger.id });
      const after = (await server.services.users.store.findById(stranger.id))!;
      assert.equal(after.is_admin, 0);
      assert.equal(after.password_hash, stranger.password_hash);
      assert.equal((await server.services.users.store.listAdmins()).length, 1);
    });
  });
}

describe("latchkey admins grant / revoke", () => {
  it("promotes only verified addresses unless forced, and never leaves no administrator unasked", async () => {
    const server = await startTestServer("sqlite", {
      env: { BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password },
    });
    const unverified = await server.services.users.create({
      email: "new@example.com",
      password: "pass phrase one",
    });
    const verified = await createUser(server);
    const env = {
      DATABASE_URL: `sqlite:${server.database.target.kind === "sqlite" ? server.database.target.path : ""}`,
      LATCHKEY_MASTER_KEY: server.config.masterKey!.toString("base64"),
      ISSUER_URL: server.url,
    };
    await server.app.close();
    const cli = async (...args: string[]) => {
      const run = runCli(args, { env });
      const { code } = await run.exited;
      return { code, output: run.output() };
    };
    try {
      const refused = await cli("admins", "grant", "--email", "NEW@example.com");
      assert.notEqual(refused.code, 0);
      assert.match(refused.output, /not verified/);
      assert.equal((await server.services.users.store.findById(unverified.id))!.is_admin, 0);

      const forced = await cli("admins", "grant", "--email", "new@example.com", "--force");
      assert.equal(forced.code, 0, forced.output);
      assert.equal((await server.services.users.store.findById(unverified.id))!.is_admin, 1);
      const granted = await cli("admins", "grant", "--email", verified.email);
      assert.equal(granted.code, 0, granted.output);

      const listed = await cli("admins", "list");
      assert.equal(listed.code, 0, listed.output);
      assert.equal(JSON.parse(listed.output.slice(listed.output.indexOf("["))).length, 3);

      for (const email of ["new@example.com", verified.email]) {
        const revoked = await cli("admins", "revoke", "--email", email);
        assert.equal(revoked.code, 0, revoked.output);
      }
      const last = await cli("admins", "revoke", "--email", ADMIN.email);
      assert.notEqual(last.code, 0);
      assert.match(last.output, /last administrator/);
      assert.equal((await server.services.users.store.listAdmins()).length, 1);
      const nobody = await cli(
        "admins",
        "grant",
        "--email",
        `nobody-${randomBytes(4).toString("hex")}@example.com`,
      );
      assert.notEqual(nobody.code, 0);
      assert.match(nobody.output, /no account/);
    } finally {
      await server.storage.close();
      await server.database.drop();
    }
  });
});
