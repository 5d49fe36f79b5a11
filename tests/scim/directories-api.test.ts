// Kinde's SCIM directory operations (/api/v1/directories): create (201, the token shown once and
// kept only as its SHA-256, Kinde's codes for each missing or wrong field, one per organization,
// an enterprise connection required and chosen), list (page_size + starting_after, has_more,
// organization_code), get, rename, delete (the SCIM endpoint refuses the old token), and scopes
// exactly as Kinde names them. Both databases.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import { databaseKinds } from "../helpers/databases.js";
import { callApi, narrowMachineToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import {
  assertScimError,
  createDirectory,
  enterpriseConnection,
  type Json,
  organizationWithConnection,
  scim,
} from "./scim-helpers.js";

type Errors = { errors: { code: string }[] };
type DirectoryBody = { directory: Json & { id: string } } & Errors;

for (const { kind, skip } of await databaseKinds()) {
  describe(`SCIM directories API (${kind})`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(async () => server?.close());

    const create = (body: Json, token?: string) =>
      callApi<DirectoryBody>(server, "POST", "/api/v1/directories", { body, token });
    const code = (body: Errors) => body.errors?.[0]?.code;

    it("creates a directory: base URL and token once, only the token's hash stored", async () => {
      const { orgCode, connectionId } = await organizationWithConnection(server);
      const { status, body } = await create({
        org_code: orgCode,
        directory_name: "Production Directory",
        provider_code: "entra_id_azure_ad",
      });
      assert.equal(status, 201, JSON.stringify(body));
      const { directory } = body as unknown as { directory: Record<string, string | null>; code: string };
      assert.equal((body as unknown as Json).code, "DIRECTORY_CREATED");
      assert.match(directory.id!, /^directory_[0-9a-f]{32}$/);
      assert.match(directory.directory_endpoint_id!, /^ksde_[0-9a-f]{32}$/);
      assert.match(directory.secret_token!, /^kstkn_[A-Za-z0-9]{48}$/);
      assert.equal(directory.scim_base_url, `${server.url}/scim/v2/${directory.directory_endpoint_id}`);
      assert.equal(directory.status, "Pending");
      assert.equal(directory.organization_code, orgCode);
      assert.equal(directory.enterprise_connection_id, connectionId, "the only connection is chosen");
      assert.equal(directory.enterprise_connection_name, "Company SSO");

      const row = await server.storage.db
        .selectFrom("scim_directories")
        .selectAll()
        .where("id", "=", directory.id!)
        .executeTakeFirstOrThrow();
      assert.equal(row.token_hash, createHash("sha256").update(directory.secret_token!).digest("base64url"));
      assert.ok(!JSON.stringify(row).includes(directory.secret_token!), "the token itself is stored nowhere");

      const read = await callApi<DirectoryBody>(server, "GET", `/api/v1/directories/${directory.id}`);
      assert.equal(read.status, 200);
      assert.equal(read.body.directory.secret_token, undefined, "never shown again");
      assert.equal(read.body.directory.scim_base_url, directory.scim_base_url);

      const again = await create({ org_code: orgCode, directory_name: "Second", provider_code: "okta" });
      assert.equal(again.status, 409);
      assert.equal(code(again.body), "DIRECTORY_EXISTS");
    });

    it("answers Kinde's code for each missing or wrong field", async () => {
      const { orgCode } = await organizationWithConnection(server);
      const bare = (await server.services.organizations.create({ name: "No SSO" })).code;
      const cases: [Json, number, string][] = [
        [{ directory_name: "D", provider_code: "okta" }, 400, "ORGANIZATION_REQUIRED"],
        [{ org_code: orgCode, provider_code: "okta" }, 400, "DIRECTORY_NAME_REQUIRED"],
        [{ org_code: orgCode, directory_name: "   ", provider_code: "okta" }, 400, "DIRECTORY_NAME_REQUIRED"],
        [{ org_code: orgCode, directory_name: "D" }, 400, "PROVIDER_CODE_REQUIRED"],
        [{ org_code: orgCode, directory_name: "D", provider_code: "ldap" }, 400, "INVALID_PROVIDER"],
        [
          { org_code: "org_00000000000", directory_name: "D", provider_code: "okta" },
          400,
          "ORGANIZATION_NOT_FOUND",
        ],
        [{ org_code: bare, directory_name: "D", provider_code: "okta" }, 400, "NO_ENTERPRISE_CONNECTIONS"],
        [
          {
            org_code: orgCode,
            directory_name: "D",
            provider_code: "okta",
            enterprise_connection_id: "conn_x",
          },
          400,
          "INVALID_ENTERPRISE_CONNECTION",
        ],
        [{ org_code: orgCode, directory_name: "D", provider_code: "okta", extra: 1 }, 400, "INVALID_REQUEST"],
        [{ org_code: 5, directory_name: "D", provider_code: "okta" }, 400, "INVALID_REQUEST"],
        [
          { org_code: orgCode, directory_name: "x".repeat(129), provider_code: "okta" },
          400,
          "INVALID_REQUEST",
        ],
        [{ org_code: orgCode, directory_name: "a\u0007b", provider_code: "okta" }, 400, "INVALID_REQUEST"],
      ];
      for (const [body, status, expected] of cases) {
        const response = await create(body);
        assert.equal(response.status, status, `${JSON.stringify(body)} → ${JSON.stringify(response.body)}`);
        assert.equal(code(response.body), expected, JSON.stringify(body));
      }
      // Two enterprise connections: which one must be said.
      const second = await enterpriseConnection(server, orgCode, [
        `second-${orgCode.toLowerCase().replace(/_/g, "-")}.example`,
      ]);
      const ambiguous = await create({ org_code: orgCode, directory_name: "D", provider_code: "okta" });
      assert.equal(code(ambiguous.body), "ENTERPRISE_CONNECTION_REQUIRED");
      const chosen = await create({
        org_code: orgCode,
        directory_name: "D",
        provider_code: "okta",
        enterprise_connection_id: second,
      });
      assert.equal(chosen.status, 201);
      assert.equal(chosen.body.directory.enterprise_connection_id, second);
      const malformed = await fetch(`${server.url}/api/v1/directories`, {
        method: "POST",
        headers: { authorization: `Bearer ${await tokenAll()}`, "content-type": "application/json" },
        body: "{not json",
      });
      assert.equal(malformed.status, 400);
    });
    const tokenAll = async () => (await import("../helpers/management.js")).managementToken(server);

    it("lists with page_size, starting_after and organization_code; renames; deletes", async () => {
      const made = [
        await createDirectory(server),
        await createDirectory(server),
        await createDirectory(server),
      ];
      type Listed = { directories: { id: string; secret_token?: string }[]; has_more: boolean } & Errors;
      const all = await callApi<Listed>(server, "GET", "/api/v1/directories?page_size=500");
      assert.equal(all.status, 200);
      const ids = all.body.directories.map((d) => d.id);
      for (const d of made) assert.ok(ids.includes(d.id));
      assert.ok(all.body.directories.every((d) => d.secret_token === undefined));
      const first = await callApi<Listed>(server, "GET", "/api/v1/directories?page_size=1");
      assert.equal(first.body.directories.length, 1);
      assert.equal(first.body.has_more, true);
      const next = await callApi<Listed>(
        server,
        "GET",
        `/api/v1/directories?page_size=500&starting_after=${first.body.directories[0]!.id}`,
      );
      assert.equal(next.body.directories.length, ids.length - 1);
      assert.equal(next.body.has_more, false);
      const one = await callApi<Listed>(
        server,
        "GET",
        `/api/v1/directories?organization_code=${made[1]!.orgCode}`,
      );
      assert.deepEqual(
        one.body.directories.map((d) => d.id),
        [made[1]!.id],
      );
      assert.equal((await callApi(server, "GET", "/api/v1/directories?page_size=501")).status, 400);
      assert.equal(
        (await callApi(server, "GET", "/api/v1/directories?starting_after=directory_nope")).status,
        400,
      );

      const path = `/api/v1/directories/${made[0]!.id}`;
      const renamed = await callApi<DirectoryBody>(server, "PATCH", path, {
        body: { directory_name: "Okta EU" },
      });
      assert.equal(renamed.status, 200);
      assert.equal(renamed.body.directory.directory_name, "Okta EU");
      type Log = { entries: { target_type: string; target_id: string; target_name: string | null }[] };
      // The audit log's writer records after the answer is sent.
      let logged: Log["entries"][number] | undefined;
      for (let i = 0; i < 50 && !logged; i++) {
        const log = await callApi<Log>(server, "GET", "/api/v1/audit_log?action=directory.updated");
        logged = log.body.entries.find((e) => e.target_id === made[0]!.id);
        if (!logged) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(logged?.target_type, "directory");
      assert.equal(logged?.target_name, "Okta EU", "the audit log names the directory");
      assert.equal(
        code((await callApi<Errors>(server, "PATCH", path, { body: {} })).body),
        "NO_FIELDS_TO_UPDATE",
      );
      const missing = await callApi<Errors>(server, "PATCH", "/api/v1/directories/directory_nope", {
        body: { directory_name: "x" },
      });
      assert.equal(missing.status, 404);
      assert.equal(code(missing.body), "DIRECTORY_NOT_FOUND");

      type Rotated = { code: string; directory: { id: string; secret_token: string; scim_base_url: string } };
      const rotated = await callApi<Rotated>(server, "POST", `${path}/rotate_secret_token`);
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      assert.equal(rotated.body.code, "DIRECTORY_TOKEN_ROTATED");
      assert.equal(rotated.body.directory.scim_base_url, made[0]!.baseUrl, "the endpoint stays");
      assert.match(rotated.body.directory.secret_token, /^kstkn_[A-Za-z0-9]{48}$/);
      assertScimError(await scim(made[0]!, "GET", "/Users"), 401);
      made[0]!.token = rotated.body.directory.secret_token;
      const stored = await server.storage.db
        .selectFrom("scim_directories")
        .select("token_hash")
        .where("id", "=", made[0]!.id)
        .executeTakeFirstOrThrow();
      assert.equal(stored.token_hash, createHash("sha256").update(made[0]!.token).digest("base64url"));
      const read = await callApi<Rotated>(server, "GET", path);
      assert.equal(read.body.directory.secret_token, undefined, "a read never shows the token");
      const nowhere = await callApi<Errors>(
        server,
        "POST",
        "/api/v1/directories/directory_nope/rotate_secret_token",
      );
      assert.equal(nowhere.status, 404);
      assert.equal(code(nowhere.body), "DIRECTORY_NOT_FOUND");
      assert.equal((await scim(made[0]!, "GET", "/Users")).status, 200, "the token works while it exists");
      const deleted = await callApi<Json>(server, "DELETE", path);
      assert.equal(deleted.status, 200);
      assert.deepEqual(deleted.body, {
        code: "DIRECTORY_DELETED",
        message: "SCIM directory deleted successfully",
        directory_id: made[0]!.id,
      });
      assert.equal((await callApi(server, "GET", path)).status, 404);
      assert.equal((await callApi(server, "DELETE", path)).status, 404);
      assertScimError(await scim(made[0]!, "GET", "/Users"), 401);
    });

    it("of two token rotations at once, one answers a working token and the other a conflict", async () => {
      const dir = await createDirectory(server);
      const rotate = () =>
        callApi<{ code?: string; directory?: { secret_token: string } } & Errors>(
          server,
          "POST",
          `/api/v1/directories/${dir.id}/rotate_secret_token`,
        );
      type Answer = Awaited<ReturnType<typeof rotate>>;
      let answers: Answer[];
      if (kind === "postgres") {
        // The row is locked until both rotations have read the current token and wait to write.
        const db = server.storage.db;
        let pending: Promise<Answer[]> | undefined;
        await db.transaction().execute(async (trx) => {
          await sql`select id from scim_directories where id = ${dir.id} for update`.execute(trx);
          pending = Promise.all([rotate(), rotate()]);
          for (let waited = 0; ; waited += 50) {
            const { rows } = await sql<{ n: string }>`select count(*) as n from pg_stat_activity
              where wait_event_type = 'Lock' and datname = current_database()`.execute(db);
            if (Number(rows[0]!.n) >= 2) break;
            assert.ok(waited < 10_000, "both rotations wait for the row");
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        });
        answers = await pending!;
        assert.deepEqual(
          answers.map((a) => a.status).sort(),
          [200, 409],
          JSON.stringify(answers.map((a) => a.body)),
        );
      } else {
        // SQLite runs one writer at a time: the second reads after the first wrote, and both win.
        answers = await Promise.all([rotate(), rotate()]);
      }
      for (const answer of answers.filter((a) => a.status === 409))
        assert.equal(code(answer.body), "DIRECTORY_TOKEN_CONFLICT");
      const tokens = answers.flatMap((a) => (a.status === 200 ? [a.body.directory!.secret_token] : []));
      const working = [];
      for (const token of tokens)
        if ((await scim({ ...dir, token }, "GET", "/Users")).status === 200) working.push(token);
      assert.equal(working.length, 1, "exactly one answered token works");
      assertScimError(await scim(dir, "GET", "/Users"), 401);
    });

    it("checks each operation's scope as Kinde names it", async () => {
      const { token } = await narrowMachineToken(server, ["read:scim_directories"]);
      const { orgCode } = await organizationWithConnection(server);
      assert.equal((await callApi(server, "GET", "/api/v1/directories", { token })).status, 200);
      const refused = await create({ org_code: orgCode, directory_name: "D", provider_code: "okta" }, token);
      assert.equal(refused.status, 403);
      const dir = await createDirectory(server);
      const path = `/api/v1/directories/${dir.id}`;
      assert.equal(
        (await callApi(server, "PATCH", path, { token, body: { directory_name: "x" } })).status,
        403,
      );
      assert.equal((await callApi(server, "DELETE", path, { token })).status, 403);
      assert.equal((await callApi(server, "POST", `${path}/rotate_secret_token`, { token })).status, 403);
      const writer = await narrowMachineToken(server, ["update:scim_directories", "delete:scim_directories"]);
      assert.equal((await callApi(server, "GET", path, { token: writer.token })).status, 403);
      assert.equal(
        (await callApi(server, "PATCH", path, { token: writer.token, body: { directory_name: "y" } })).status,
        200,
      );
      assert.equal(
        (await callApi(server, "POST", `${path}/rotate_secret_token`, { token: writer.token })).status,
        200,
      );
      // Letting its groups grant roles is assigning roles: create:organization_user_roles too.
      const roles = { assignable_role_keys: [] };
      const alone = await callApi(server, "PATCH", path, { token: writer.token, body: roles });
      assert.equal(alone.status, 403);
      assert.match(JSON.stringify(alone.body), /create:organization_user_roles/);
      const both = await narrowMachineToken(server, [
        "update:scim_directories",
        "create:organization_user_roles",
      ]);
      assert.equal((await callApi(server, "PATCH", path, { token: both.token, body: roles })).status, 200);
      assert.equal((await callApi(server, "DELETE", path, { token: writer.token })).status, 200);
    });
  });
}
