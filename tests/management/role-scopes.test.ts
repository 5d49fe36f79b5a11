// Kinde's role scopes (GET/POST /api/v1/roles/{role_id}/scopes, DELETE …/scopes/{scope_id}) and
// organization-user API scopes (POST/DELETE /api/v1/organizations/{org_code}/users/{user_id}/apis/
// {api_id}/scopes/{scope_id}): shapes (checked against Latchkey's OpenAPI document by callApi and
// against Kinde's own response schemas here), scopes required, errors in Kinde's shape, the rows
// cleaned up with whatever they hang on, and @kinde/management-api-js driving them. Both databases.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import { parse } from "yaml";
import { databaseKinds } from "../helpers/databases.js";
import { createApi, createUser } from "../helpers/fixtures.js";
import { runKindeScript } from "../helpers/kinde-script.js";
import { type ApiResponse, callApi, managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { selfSignedCertificate } from "../helpers/tls.js";

type Json = Record<string, unknown>;

/** Kinde's response schemas, from the specification kept as test data. */
const kindeSpec = parse(
  readFileSync(fileURLToPath(new URL("../fixtures/kinde-mgmt-api-specs.yaml", import.meta.url)), "utf8"),
) as Json;
const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
ajv.addSchema(kindeSpec, "kinde");
function assertKindeShape(schema: string, body: unknown): void {
  const validate = ajv.getSchema(`kinde#/components/schemas/${schema}`)!;
  assert.ok(validate(body), `${schema}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`);
}

const errorCode = (response: ApiResponse) =>
  (response.body as unknown as { errors: { code: string }[] }).errors[0]!.code;

for (const { kind, skip } of await databaseKinds()) {
  describe(`role scopes and organization-user API scopes (${kind})`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(async () => server?.close());

    const api = <T = Json>(method: string, path: string, body?: unknown) =>
      callApi<T>(server, method, path, body === undefined ? {} : { body });

    async function setUp() {
      const tag = randomBytes(3).toString("hex");
      const { id: apiId } = await createApi(server, {
        audience: `https://reports-${tag}.example.com`,
        scopes: ["read:reports", "write:reports"],
      });
      const { id: otherApiId } = await createApi(server, {
        audience: `https://other-${tag}.example.com`,
        scopes: ["other"],
      });
      let scopes = await server.services.apis.store.scopes(apiId);
      // Kinde's scope has a description string (Latchkey answers null where there is none).
      for (const scope of scopes)
        await server.services.apis.store.updateScope(apiId, scope.id, { description: `Can ${scope.key}` });
      scopes = await server.services.apis.store.scopes(apiId);
      const scopeId = Object.fromEntries(scopes.map((s) => [s.key, s.id])) as Record<string, string>;
      const otherScopeId = (await server.services.apis.store.scopes(otherApiId))[0]!.id;
      const role = (
        await api<{ role: { id: string } }>("POST", "/api/v1/roles", {
          key: `reporter-${tag}`,
          name: "Reporter",
        })
      ).body.role.id;
      const org = (
        await api<{ organization: { code: string } }>("POST", "/api/v1/organization", { name: `Org ${tag}` })
      ).body.organization.code;
      const user = await createUser(server);
      await api("POST", `/api/v1/organizations/${org}/users`, {
        users: [{ id: user.id, roles: [`reporter-${tag}`] }],
      });
      return { tag, apiId, otherApiId, scopeId, otherScopeId, role, org, user };
    }

    it("lists, adds and removes a role's scopes in Kinde's shapes", async () => {
      const { apiId, scopeId, role } = await setUp();
      const empty = await api("GET", `/api/v1/roles/${role}/scopes`);
      assert.equal(empty.status, 200);
      assert.deepEqual(empty.body, { code: "OK", message: "Success", scopes: [] });
      assertKindeShape("role_scopes_response", empty.body);

      const added = await api("POST", `/api/v1/roles/${role}/scopes`, { scope_id: scopeId["write:reports"] });
      assert.equal(added.status, 201, JSON.stringify(added.body));
      assert.deepEqual(added.body, { code: "ROLE_SCOPE_ADDED", message: "Scope added to role" });
      assertKindeShape("add_role_scope_response", added.body);
      // Adding what the role already has changes nothing and is not an error.
      assert.equal(
        (await api("POST", `/api/v1/roles/${role}/scopes`, { scope_id: scopeId["write:reports"] })).status,
        201,
      );
      await api("POST", `/api/v1/roles/${role}/scopes`, { scope_id: scopeId["read:reports"] });

      const listed = await api<{ scopes: Json[] }>("GET", `/api/v1/roles/${role}/scopes`);
      assertKindeShape("role_scopes_response", listed.body);
      assert.deepEqual(listed.body.scopes, [
        { id: scopeId["read:reports"], key: "read:reports", description: "Can read:reports", api_id: apiId },
        {
          id: scopeId["write:reports"],
          key: "write:reports",
          description: "Can write:reports",
          api_id: apiId,
        },
      ]);

      const deleted = await api("DELETE", `/api/v1/roles/${role}/scopes/${scopeId["write:reports"]}`);
      assert.equal(deleted.status, 200);
      assert.deepEqual(deleted.body, { code: "SCOPE_DELETED", message: "Scope deleted from role" });
      assertKindeShape("delete_role_scope_response", deleted.body);
      const after = await api<{ scopes: Json[] }>("GET", `/api/v1/roles/${role}/scopes`);
      assert.deepEqual(
        after.body.scopes.map((s) => s.key),
        ["read:reports"],
      );
    });

    it("answers unknown or malformed ids with Kinde's errors, never a 500", async () => {
      const { apiId, otherApiId, scopeId, otherScopeId, role, org, user } = await setUp();
      const missingRole = "00000000-0000-4000-8000-000000000000";
      const missingScope = "api_scope_00000000000000000000000000000000";
      const cases: [string, string, unknown, number, string][] = [
        ["GET", `/api/v1/roles/${missingRole}/scopes`, undefined, 404, "ROLE_NOT_FOUND"],
        [
          "POST",
          `/api/v1/roles/${missingRole}/scopes`,
          { scope_id: scopeId["read:reports"] },
          404,
          "ROLE_NOT_FOUND",
        ],
        ["POST", `/api/v1/roles/${role}/scopes`, { scope_id: missingScope }, 404, "SCOPE_NOT_FOUND"],
        ["POST", `/api/v1/roles/${role}/scopes`, {}, 400, "INVALID_REQUEST"],
        ["POST", `/api/v1/roles/${role}/scopes`, { scope_id: "" }, 400, "INVALID_REQUEST"],
        ["POST", `/api/v1/roles/${role}/scopes`, { scope_id: 7 }, 400, "INVALID_REQUEST"],
        ["POST", `/api/v1/roles/${role}/scopes`, { scope_id: "x".repeat(5000) }, 400, "INVALID_REQUEST"],
        [
          "DELETE",
          `/api/v1/roles/${missingRole}/scopes/${scopeId["read:reports"]}`,
          undefined,
          404,
          "ROLE_NOT_FOUND",
        ],
        ["DELETE", `/api/v1/roles/${role}/scopes/${missingScope}`, undefined, 404, "SCOPE_NOT_FOUND"],
      ];
      const member = (o: string, u: string, a: string, s: string) =>
        `/api/v1/organizations/${o}/users/${u}/apis/${a}/scopes/${s}`;
      const stranger = await createUser(server);
      for (const method of ["POST", "DELETE"]) {
        cases.push(
          [
            method,
            member("org_00000000000", user.id, apiId, scopeId["read:reports"]!),
            undefined,
            404,
            "ORGANIZATION_NOT_FOUND",
          ],
          [
            method,
            member(org, stranger.id, apiId, scopeId["read:reports"]!),
            undefined,
            404,
            "ORGANIZATION_USER_NOT_FOUND",
          ],
          [
            method,
            member(org, "kp_missing", apiId, scopeId["read:reports"]!),
            undefined,
            404,
            "ORGANIZATION_USER_NOT_FOUND",
          ],
          [
            method,
            member(org, user.id, "0".repeat(32), scopeId["read:reports"]!),
            undefined,
            404,
            "API_NOT_FOUND",
          ],
          [method, member(org, user.id, apiId, missingScope), undefined, 404, "SCOPE_NOT_FOUND"],
          // A scope id of another API is not a scope of this one.
          [method, member(org, user.id, apiId, otherScopeId), undefined, 404, "SCOPE_NOT_FOUND"],
          [
            method,
            member(org, user.id, otherApiId, scopeId["read:reports"]!),
            undefined,
            404,
            "SCOPE_NOT_FOUND",
          ],
          [method, member(org, user.id, apiId, "x".repeat(500)), undefined, 400, "INVALID_REQUEST"],
        );
      }
      for (const [method, path, body, status, code] of cases) {
        const response = await api(method, path, body);
        assert.equal(response.status, status, `${method} ${path}: ${JSON.stringify(response.body)}`);
        assert.equal(errorCode(response), code, `${method} ${path}`);
      }
    });

    it("gives and takes a member's API scope in one organization", async () => {
      const { apiId, scopeId, org, user } = await setUp();
      const path = `/api/v1/organizations/${org}/users/${user.id}/apis/${apiId}/scopes/${scopeId["read:reports"]}`;
      const added = await api("POST", path);
      assert.equal(added.status, 200, JSON.stringify(added.body));
      assert.equal((await api("POST", path)).status, 200, "again: no change, no error");
      const rows = () =>
        server.storage.db
          .selectFrom("organization_user_api_scopes")
          .selectAll()
          .where("user_id", "=", user.id)
          .execute();
      assert.deepEqual(
        (await rows()).map((r) => [r.org_code, r.scope_id]),
        [[org, scopeId["read:reports"]]],
      );
      const deleted = await api("DELETE", path);
      assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
      assert.deepEqual(await rows(), []);
      assert.equal((await api("DELETE", path)).status, 200, "removing what is not there is not an error");
    });

    it("requires Kinde's scope for each operation", async () => {
      const { apiId, scopeId, role, org, user } = await setUp();
      const member = `/api/v1/organizations/${org}/users/${user.id}/apis/${apiId}/scopes/${scopeId["read:reports"]}`;
      const operations: [string, string, string, unknown?][] = [
        ["GET", `/api/v1/roles/${role}/scopes`, "read:role_scopes"],
        ["POST", `/api/v1/roles/${role}/scopes`, "create:role_scopes", { scope_id: scopeId["read:reports"] }],
        ["DELETE", `/api/v1/roles/${role}/scopes/${scopeId["read:reports"]}`, "delete:role_scopes"],
        ["POST", member, "create:organization_user_api_scopes"],
        ["DELETE", member, "delete:organization_user_api_scopes"],
      ];
      for (const [method, path, scope, body] of operations) {
        const wrong = scope === "read:roles" ? "read:role_permissions" : "read:roles";
        const forbidden = await callApi(server, method, path, {
          token: await managementToken(server, wrong),
          body,
        });
        assert.equal(forbidden.status, 403, `${method} ${path} with ${wrong}`);
        assert.equal(errorCode(forbidden), "FORBIDDEN");
        const allowed = await callApi(server, method, path, {
          token: await managementToken(server, scope),
          body,
        });
        assert.ok(allowed.status < 300, `${method} ${path} with ${scope}: ${JSON.stringify(allowed.body)}`);
      }
    });

    it("cleans up with the role, the scope, the API, the membership, the user and the organization", async () => {
      const db = server.storage.db;
      /** Rows of the table whose `column` is `value` (tables of a few rows: read and counted here). */
      const count = async (
        table: "role_scopes" | "organization_user_api_scopes",
        column: "role_id" | "user_id" | "org_code",
        value: string,
      ) =>
        (await db.selectFrom(table).selectAll().execute()).filter(
          (row) => (row as Record<string, string>)[column] === value,
        ).length;
      const give = async (s: Awaited<ReturnType<typeof setUp>>) => {
        for (const id of Object.values(s.scopeId)) {
          await api("POST", `/api/v1/roles/${s.role}/scopes`, { scope_id: id });
          await api("POST", `/api/v1/organizations/${s.org}/users/${s.user.id}/apis/${s.apiId}/scopes/${id}`);
        }
        assert.equal(await count("role_scopes", "role_id", s.role), 2);
        assert.equal(await count("organization_user_api_scopes", "user_id", s.user.id), 2);
      };

      const one = await setUp();
      await give(one);
      assert.equal(
        (await api("DELETE", `/api/v1/apis/${one.apiId}/scopes/${one.scopeId["read:reports"]}`)).status,
        200,
      );
      assert.equal(await count("role_scopes", "role_id", one.role), 1, "a deleted scope leaves its roles");
      assert.equal(await count("organization_user_api_scopes", "user_id", one.user.id), 1);
      assert.equal((await api("DELETE", `/api/v1/apis/${one.apiId}`)).status, 200);
      assert.equal(await count("role_scopes", "role_id", one.role), 0, "a deleted API takes its scopes");
      assert.equal(await count("organization_user_api_scopes", "user_id", one.user.id), 0);

      const two = await setUp();
      await give(two);
      assert.equal((await api("DELETE", `/api/v1/roles/${two.role}`)).status, 200);
      assert.equal(await count("role_scopes", "role_id", two.role), 0, "a deleted role takes its scopes");
      assert.equal(
        (await api("DELETE", `/api/v1/organizations/${two.org}/users/${two.user.id}`)).status,
        200,
      );
      assert.equal(
        await count("organization_user_api_scopes", "user_id", two.user.id),
        0,
        "leaving takes them",
      );

      const three = await setUp();
      await give(three);
      assert.equal((await api("DELETE", `/api/v1/user?id=${three.user.id}`)).status, 200);
      assert.equal(
        await count("organization_user_api_scopes", "user_id", three.user.id),
        0,
        "so does deletion",
      );

      const four = await setUp();
      await give(four);
      assert.equal((await api("DELETE", `/api/v1/organization/${four.org}`)).status, 200);
      assert.equal(
        await count("organization_user_api_scopes", "org_code", four.org),
        0,
        "and the organization's",
      );
    });
  });

  describe(`@kinde/management-api-js drives role and organization-user API scopes (${kind})`, {
    skip,
  }, () => {
    const certificate = selfSignedCertificate();
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind, { tls: certificate });
    });
    after(async () => {
      await server?.close();
      certificate.remove();
    });

    it("runs every step unchanged", async () => {
      const { id: apiId } = await createApi(server, {
        audience: "https://kinde-js.example.com",
        scopes: ["read"],
      });
      const scopeId = (await server.services.apis.store.scopes(apiId))[0]!.id;
      const role = await server.services.roles.createRole({
        key: "kinde-js",
        name: "Kinde JS",
        description: null,
        isDefault: false,
        assignmentPermissionId: null,
      });
      const user = await createUser(server);
      const org = (await server.services.organizations.store.findDefault())!.code;
      const { ok, steps } = await runKindeScript(
        server,
        certificate,
        "tests/management/kinde-management-role-scopes.ts",
        [role.id, scopeId, apiId, org, user.id],
      );
      assert.deepEqual(ok("getRoleScopes:empty").scopes, []);
      assert.equal(ok("addRoleScope").code, "ROLE_SCOPE_ADDED");
      assert.deepEqual(ok("getRoleScopes").scopes, [
        { id: scopeId, key: "read", description: null, api_id: apiId },
      ]);
      assert.equal(steps.get("addRoleScope:unknown")?.error?.status, 404);
      assert.equal(ok("deleteRoleScope").code, "SCOPE_DELETED");
      assert.deepEqual(ok("getRoleScopes:deleted").scopes, []);
      ok("addOrganizationUserApiScope");
      ok("deleteOrganizationUserApiScope");
    });
  });
}
