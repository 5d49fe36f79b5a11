// Issue 15 §1 follow-up, on SQLite and PostgreSQL: the admin dashboard's application is the one
// Latchkey stored, never "whichever front-end application registered <issuer>/admin/callback".
// An application registered (by a machine token holding create:applications) for a future
// ISSUER_URL's dashboard callback does not become the dashboard, nor get its Management API grants,
// when the operator changes ISSUER_URL; the dashboard's own URLs move with the issuer; no other
// application may register URLs in Latchkey's own URL space; and existing installations have their
// dashboard adopted once by migration 0015, from the issuer they last started with.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { issuerSpaceProblem } from "../../src/applications/urls.js";
import { bootstrap } from "../../src/bootstrap.js";
import { SecretBox } from "../../src/crypto/secret-box.js";
import { DASHBOARD_APPLICATION_NAME, findDashboardClientId } from "../../src/dashboard/dashboard-app.js";
import { openStorage, type Storage } from "../../src/storage/database.js";
import { migrateToLatest } from "../../src/storage/migrate.js";
import { dashboardToken } from "../helpers/dashboard.js";
import { databaseKinds, freshDatabase } from "../helpers/databases.js";
import { callApi, managementToken } from "../helpers/management.js";
import { insertApplication, insertInstallation, migrateUpTo } from "../helpers/migrations.js";
import { freePort, startSecondInstance, startTestServer, type TestServer } from "../helpers/server.js";

const ADMIN = { email: "root@example.com", password: "a root password nobody guesses" };
const EVIL = "https://evil.example/cb";

type Errors = { errors: { code: string; message: string }[] };

async function urlsOf(
  storage: Storage,
  applicationId: string,
  kind: "callback" | "logout",
): Promise<string[]> {
  const rows = await storage.db
    .selectFrom("application_urls")
    .select("url")
    .where("application_id", "=", applicationId)
    .where("kind", "=", kind)
    .orderBy("url")
    .execute();
  return rows.map((r) => r.url);
}

/** Whether the application is authorised for the Management API, and which of its scopes it holds. */
async function managementGrants(storage: Storage, applicationId: string) {
  const api = await storage.db
    .selectFrom("apis")
    .select("id")
    .where("is_management_api", "=", 1)
    .executeTakeFirstOrThrow();
  const authorized = await storage.db
    .selectFrom("api_applications")
    .select("application_id")
    .where("api_id", "=", api.id)
    .where("application_id", "=", applicationId)
    .executeTakeFirst();
  const scopes = await storage.db
    .selectFrom("api_application_scopes")
    .select("scope_id")
    .where("api_id", "=", api.id)
    .where("application_id", "=", applicationId)
    .execute();
  return { authorized: authorized !== undefined, scopes: scopes.length };
}

/** A front-end application written straight into the database, as a registration from before the fix. */
async function insertSpa(
  storage: Storage,
  id: string,
  createdAt: number,
  callbacks: string[],
): Promise<void> {
  await insertApplication(storage.db, { id, name: `spa ${id}`, type: "spa", createdAt });
  for (const url of callbacks)
    await storage.db
      .insertInto("application_urls")
      .values({ application_id: id, kind: "callback", url, created_at: createdAt })
      .execute();
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`the dashboard's application is the one Latchkey stored (${kind})`, { skip }, () => {
    let server: TestServer;
    let dashboardId: string;

    before(async () => {
      server = await startTestServer(kind, {
        env: { BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password },
      });
      dashboardId = (await findDashboardClientId(server.storage.db, server.url))!;
      assert.ok(dashboardId);
    });
    after(async () => server?.close());

    it("refuses callback and logout URLs in Latchkey's own URL space for every other application", async () => {
      const token = await managementToken(
        server,
        "create:applications create:applications_redirect_uris create:application_logout_uris update:applications update:applications_redirect_uris update:application_logout_uris",
      );
      const port = new URL(server.url).port;
      const own = [
        `${server.url}/admin/callback`,
        `${server.url}/admin/`,
        `${server.url}/`,
        `${server.url}/anything/else?x=1`,
        // The same listener under another loopback name, upper case, a trailing dot, dot segments.
        `http://localhost:${port}/admin/callback`,
        `http://[::1]:${port}/admin/callback`,
        `HTTP://127.0.0.1:${port}/Admin/callback`,
        `http://127.0.0.1.:${port}/admin/callback`,
        `http://127.0.0.1:${port}/app/../admin/callback`,
      ];
      const created = await callApi<{ application: { id: string } }>(server, "POST", "/api/v1/applications", {
        token,
        body: { name: "Tools", type: "spa" },
      });
      assert.equal(created.status, 201);
      const id = created.body.application.id;
      for (const url of own) {
        const refused = await callApi<Errors>(
          server,
          "POST",
          `/api/v1/applications/${id}/auth_redirect_urls`,
          {
            token,
            body: { urls: [url, EVIL] },
          },
        );
        assert.equal(refused.status, 400, url);
        assert.equal(refused.body.errors[0]!.code, "INVALID_URL", url);
        assert.match(refused.body.errors[0]!.message, /Latchkey/, url);
      }
      for (const [method, path, body] of [
        ["POST", `/api/v1/applications/${id}/auth_redirect_urls`, { urls: [`${server.url}/admin/callback`] }],
        ["PUT", `/api/v1/applications/${id}/auth_redirect_urls`, { urls: [`${server.url}/admin/callback`] }],
        ["POST", `/api/v1/applications/${id}/auth_logout_urls`, { urls: [`${server.url}/admin/`] }],
        ["PUT", `/api/v1/applications/${id}/auth_logout_urls`, { urls: [`${server.url}/admin/`] }],
        ["PATCH", `/api/v1/applications/${id}`, { redirect_uris: [`${server.url}/admin/callback`] }],
        ["PATCH", `/api/v1/applications/${id}`, { logout_uris: [`${server.url}/`] }],
      ] as const) {
        const refused = await callApi<Errors>(server, method, path, { token, body });
        assert.equal(refused.status, 400, `${method} ${path}`);
        assert.equal(refused.body.errors[0]!.code, "INVALID_URL", `${method} ${path}`);
      }
      assert.deepEqual(await urlsOf(server.storage, id, "callback"), []);
      assert.deepEqual(await urlsOf(server.storage, id, "logout"), []);
      // Another port of the same host is another server: allowed.
      const elsewhere = `http://127.0.0.1:${Number(port) === 65_535 ? 1 : Number(port) + 1}/callback`;
      const allowed = await callApi(server, "POST", `/api/v1/applications/${id}/auth_redirect_urls`, {
        token,
        body: { urls: [elsewhere] },
      });
      assert.equal(allowed.status, 200);
      // The CLI's and bootstrap's path (the service) applies the same rule.
      await assert.rejects(
        server.services.applications.create({ type: "reg", name: "x", callbackUrls: [`${server.url}/cb`] }),
        /Latchkey/,
      );
    });

    it("an application registered for a future ISSUER_URL's dashboard does not become the dashboard", async () => {
      const token = await managementToken(server, "create:applications create:applications_redirect_uris");
      const futurePort = await freePort();
      const future = `http://127.0.0.1:${futurePort}`;
      // The attack: a narrow machine token registers the future dashboard callback beside its own.
      // Another origin today, so nothing can tell it from an ordinary URL yet.
      const impostor = await callApi<{ application: { id: string } }>(
        server,
        "POST",
        "/api/v1/applications",
        {
          token,
          body: { name: DASHBOARD_APPLICATION_NAME, type: "spa" },
        },
      );
      assert.equal(impostor.status, 201);
      const impostorId = impostor.body.application.id;
      const registered = await callApi(
        server,
        "POST",
        `/api/v1/applications/${impostorId}/auth_redirect_urls`,
        {
          token,
          body: { urls: [`${future}/admin/callback`, EVIL] },
        },
      );
      assert.equal(registered.status, 200);
      // And one from before this fix, older than the dashboard, holding both dashboards' callbacks.
      const oldImpostorId = `old${randomBytes(8).toString("hex")}`;
      await insertSpa(server.storage, oldImpostorId, 0, [
        `${server.url}/admin/callback`,
        `${future}/admin/callback`,
        EVIL,
      ]);

      // The operator changes ISSUER_URL on the same database.
      const moved = await startSecondInstance(server, { port: futurePort, env: { ISSUER_URL: future } });
      try {
        assert.equal(await findDashboardClientId(moved.storage.db, future), dashboardId);
        const config = (await (await fetch(`${future}/admin/config.json`)).json()) as { clientId: string };
        assert.equal(config.clientId, dashboardId);
        for (const id of [impostorId, oldImpostorId])
          assert.deepEqual(await managementGrants(moved.storage, id), { authorized: false, scopes: 0 }, id);
        assert.equal((await managementGrants(moved.storage, dashboardId)).authorized, true);

        // An administrator who follows the impostor's authorize link hands evil.example a code, and
        // the token it buys reaches nothing in the Management API.
        const stolen = await dashboardToken(moved, ADMIN, "openid", {
          clientId: impostorId,
          redirectUri: EVIL,
        });
        const refused = await callApi<Errors>(moved, "GET", "/api/v1/users", { token: stolen.access_token });
        assert.ok([401, 403].includes(refused.status), String(refused.status));

        // The real dashboard signs the administrator in under the new issuer.
        const admin = await dashboardToken(moved, ADMIN, "openid read:users");
        const users = await callApi(moved, "GET", "/api/v1/users", { token: admin.access_token });
        assert.equal(users.status, 200);
      } finally {
        await moved.close();
      }
    });
  });

  describe(`the dashboard's URLs follow ISSUER_URL (${kind})`, { skip }, () => {
    let server: TestServer;
    after(async () => server?.close());

    it("moves the dashboard's callback and logout URLs to the new issuer, leaving none on the old one", async () => {
      server = await startTestServer(kind);
      const dashboardId = (await findDashboardClientId(server.storage.db, server.url))!;
      const next = "https://id.example.com";
      await bootstrap(server.storage, server.secretBox, { ...server.config, issuerUrl: next });
      assert.equal(await findDashboardClientId(server.storage.db, next), dashboardId);
      assert.deepEqual(await urlsOf(server.storage, dashboardId, "callback"), [`${next}/admin/callback`]);
      assert.deepEqual(await urlsOf(server.storage, dashboardId, "logout"), [`${next}/admin/`]);
      // Idempotent, and back again.
      await bootstrap(server.storage, server.secretBox, { ...server.config, issuerUrl: next });
      await bootstrap(server.storage, server.secretBox, server.config);
      assert.equal(await findDashboardClientId(server.storage.db, server.url), dashboardId);
      assert.deepEqual(await urlsOf(server.storage, dashboardId, "callback"), [
        `${server.url}/admin/callback`,
      ]);
      assert.deepEqual(await urlsOf(server.storage, dashboardId, "logout"), [`${server.url}/admin/`]);
      const spas = await server.storage.db
        .selectFrom("applications")
        .select("id")
        .where("type", "=", "spa")
        .execute();
      assert.deepEqual(
        spas.map((s) => s.id),
        [dashboardId],
      );
      // An issuer that cannot carry a callback (http off localhost) keeps no URL on the old origin.
      const plain = "http://id.internal.example";
      await bootstrap(server.storage, server.secretBox, { ...server.config, issuerUrl: plain });
      assert.equal(await findDashboardClientId(server.storage.db, plain), undefined);
      assert.deepEqual(await urlsOf(server.storage, dashboardId, "callback"), []);
      await bootstrap(server.storage, server.secretBox, server.config);
      assert.equal(await findDashboardClientId(server.storage.db, server.url), dashboardId);
      assert.deepEqual(await urlsOf(server.storage, dashboardId, "callback"), [
        `${server.url}/admin/callback`,
      ]);
    });
  });

  describe(`migration 0015 adopts an existing dashboard (${kind})`, { skip }, () => {
    it("stores the dashboard the last start recognised, and keeps it when ISSUER_URL changes at the upgrade", async () => {
      const database = (await freshDatabase(kind))!;
      const storage = await openStorage(database.target, { poolSize: 2 });
      try {
        await migrateUpTo(storage.db, "0014_role_and_user_api_scopes");
        // An installation from before: last started as `issuer`, with its dashboard, an impostor
        // registered later on the same callback, and one waiting for a future issuer (oldest).
        const issuer = "https://id.example.com";
        const future = "https://login.example.com";
        await insertInstallation(storage.db, issuer);
        await insertSpa(storage, "waiting", 1, [`${future}/admin/callback`, EVIL]);
        await insertSpa(storage, "dashboard", 2, [`${issuer}/admin/callback`]);
        await insertSpa(storage, "later", 3, [`${issuer}/admin/callback`, EVIL]);
        await storage.db
          .updateTable("applications")
          .set({ name: DASHBOARD_APPLICATION_NAME })
          .where("id", "in", ["waiting", "dashboard", "later"])
          .execute();

        await migrateToLatest(storage.db);
        assert.equal(await findDashboardClientId(storage.db, issuer), "dashboard");
        // The upgrade's first start is also the start on a new ISSUER_URL.
        const secretBox = new SecretBox(randomBytes(32));
        await bootstrap(storage, secretBox, { issuerUrl: future, bootstrap: {} });
        assert.equal(await findDashboardClientId(storage.db, future), "dashboard");
        assert.deepEqual(await urlsOf(storage, "dashboard", "callback"), [`${future}/admin/callback`]);
        for (const id of ["waiting", "later"])
          assert.deepEqual(await managementGrants(storage, id), { authorized: false, scopes: 0 }, id);
        assert.equal((await managementGrants(storage, "dashboard")).authorized, true);
      } finally {
        await storage.close();
        await database.drop();
      }
    });

    it("leaves nothing stored when no application was the dashboard; the next start registers one", async () => {
      const database = (await freshDatabase(kind))!;
      const storage = await openStorage(database.target, { poolSize: 2 });
      try {
        await migrateUpTo(storage.db, "0014_role_and_user_api_scopes");
        const issuer = "https://id.example.com";
        await insertInstallation(storage.db, issuer);
        await insertSpa(storage, "other", 1, ["https://app.example.com/admin/callback"]);
        await migrateToLatest(storage.db);
        assert.equal(await findDashboardClientId(storage.db, issuer), undefined);
        // A start on the issuer that other application anticipated: a new dashboard, not it.
        const next = "https://app.example.com";
        await bootstrap(storage, new SecretBox(randomBytes(32)), { issuerUrl: next, bootstrap: {} });
        const dashboardId = await findDashboardClientId(storage.db, next);
        assert.ok(dashboardId && dashboardId !== "other");
        assert.deepEqual(await managementGrants(storage, "other"), { authorized: false, scopes: 0 });
      } finally {
        await storage.close();
        await database.drop();
      }
    });
  });
}

describe("Latchkey's URL space when ISSUER_URL has a path", () => {
  it("is the issuer's path on its origin, not the rest of the origin", () => {
    const issuer = "https://example.com/auth";
    for (const url of [
      "https://example.com/auth",
      "https://example.com/auth/admin/callback",
      "https://EXAMPLE.com./Auth/admin/",
      "https://example.com/auth%2Fadmin/callback",
      "https://example.com:443/app/../auth/cb",
    ])
      assert.ok(issuerSpaceProblem(url, issuer), url);
    for (const url of [
      "https://example.com/app/callback",
      "https://example.com/authors/callback",
      "https://example.com:8443/auth/callback",
      "https://id.example.com/auth/callback",
      "myapp://example.com/auth/callback",
    ])
      assert.equal(issuerSpaceProblem(url, issuer), undefined, url);
  });
});
