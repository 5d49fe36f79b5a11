// Kinde's API key operations (/api/v1/api_keys): create (201, the key shown once, only its SHA-256
// stored), list (page_size + starting_after, has_more, filters), get, rotate (201, the old key
// refused), delete, scopes and bad bodies; and the public POST /api/v1/api_keys/verify: a live key
// answers 200 with its scopes and owner, a wrong, rotated or deleted one 401, and a network that
// keeps presenting keys that are not keys is answered 429. Both databases.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { FAILED_VERIFY_LIMIT } from "../../src/api-keys/api-keys.routes.js";
import { databaseKinds } from "../helpers/databases.js";
import { createApi, createUser } from "../helpers/fixtures.js";
import { callApi, narrowMachineToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

type Json = Record<string, unknown>;
type Errors = { errors: { code: string }[] };

for (const { kind, skip } of await databaseKinds()) {
  describe(`API keys (${kind})`, { skip }, () => {
    let server: TestServer;
    let apiId: string;
    let scopeIds: Record<string, string>;
    let otherApiScopeId: string;
    let user: { id: string };
    let orgCode: string;
    before(async () => {
      server = await startTestServer(kind);
      apiId = (
        await createApi(server, {
          audience: "https://orders.example",
          scopes: ["read:orders", "write:orders"],
        })
      ).id;
      scopeIds = Object.fromEntries(
        (await server.services.apis.store.scopes(apiId)).map((scope) => [scope.key, scope.id]),
      );
      const other = await createApi(server, { audience: "https://billing.example", scopes: ["read:bills"] });
      otherApiScopeId = (await server.services.apis.store.scopes(other.id))[0]!.id;
      user = await createUser(server);
      orgCode = (await server.services.organizations.create({ name: "Key holders" })).code;
    });
    after(async () => server?.close());

    const create = (body: Json) =>
      callApi<{ code: string; message: string; api_key: { id: string; key: string } } & Errors>(
        server,
        "POST",
        "/api/v1/api_keys",
        { body },
      );
    const userKey = async (scopes = ["read:orders"]) => {
      const { status, body } = await create({
        name: "Orders reader",
        type: "user",
        api_id: apiId,
        scope_ids: scopes.map((s) => scopeIds[s]),
        user_id: user.id,
      });
      assert.equal(status, 201, JSON.stringify(body));
      return body.api_key;
    };
    /** The public verification, as a customer's API calls it: no token. */
    const verify = async (apiKey: unknown, headers: Record<string, string> = {}) => {
      const response = await fetch(`${server.url}/api/v1/api_keys/verify`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ api_key: apiKey }),
      });
      return {
        status: response.status,
        headers: response.headers,
        body: (await response.json()) as Json & Errors,
      };
    };

    it("creates a key shown once, stored as its hash, and reads it back without the key", async () => {
      const { status, body } = await create({
        name: "Orders reader",
        type: "user",
        api_id: apiId,
        scope_ids: [scopeIds["read:orders"]],
        user_id: user.id,
      });
      assert.equal(status, 201);
      assert.equal(body.code, "API_KEY_CREATED");
      const { id, key } = body.api_key;
      assert.match(id, /^api_key_[0-9a-f]{32}$/);
      assert.match(key, /^lk_[0-9a-f]{16}_[A-Za-z0-9]{43}$/);
      const row = await server.storage.db
        .selectFrom("api_keys")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirstOrThrow();
      assert.ok(!Object.values(row).includes(key), "the key itself is not stored");
      assert.equal(row.key_hash, createHash("sha256").update(key).digest("base64url"));

      const read = await callApi<{ api_key: Json }>(server, "GET", `/api/v1/api_keys/${id}`);
      assert.equal(read.status, 200);
      const shown = read.body.api_key;
      assert.equal(shown.key, undefined);
      assert.equal(shown.key_prefix, key.slice(0, 19));
      assert.equal(shown.key_suffix, key.slice(-4));
      assert.equal(shown.type, "user");
      assert.equal(shown.status, "active");
      assert.equal(shown.user_id, user.id);
      assert.equal(shown.organization_id, null);
      assert.deepEqual(shown.api_ids, [apiId]);
      assert.deepEqual(shown.scopes, ["read:orders"]);
      assert.equal(shown.verification_count, 0);
      assert.equal(shown.last_verified_on, null);
      assert.equal(typeof shown.created_by, "string", "the creating application's name");
    });

    it("verifies a live key publicly: 200 with its scopes and owner, counted with the caller's address", async () => {
      const { id, key } = await userKey(["read:orders", "write:orders"]);
      const first = await verify(key);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.equal(first.body.code, "API_KEY_VERIFIED");
      assert.equal(first.body.is_valid, true);
      assert.equal(first.body.key_id, id);
      assert.equal(first.body.status, "active");
      assert.deepEqual(first.body.scopes, ["read:orders", "write:orders"]);
      assert.equal(first.body.user_id, user.id);
      assert.equal(first.body.org_code, null);
      assert.deepEqual(first.body.api_ids, [apiId]);
      assert.equal(first.body.verification_count, 1);
      assert.ok(first.body.last_verified_on);
      // A bearer token (valid or not) neither helps nor hurts: the operation takes none.
      const second = await verify(key, { authorization: "Bearer not-a-token" });
      assert.equal(second.status, 200);
      assert.equal(second.body.verification_count, 2);
      const read = await callApi<{ api_key: Json }>(server, "GET", `/api/v1/api_keys/${id}`);
      assert.equal(read.body.api_key.verification_count, 2);
      assert.equal(read.body.api_key.last_verified_ip, "127.0.0.1");
    });

    it("refuses wrong, rotated and deleted keys with 401", async () => {
      const { id, key } = await userKey();
      const wrongSecret = `${key.slice(0, 20)}${"x".repeat(43)}`;
      for (const bad of [wrongSecret, `lk_0000000000000000_${"A".repeat(43)}`, "not a key"]) {
        const refused = await verify(bad);
        assert.equal(refused.status, 401, bad);
        assert.equal(refused.body.errors[0]?.code, "API_KEY_INVALID");
      }

      const rotated = await callApi<{ code: string; api_key: { id: string; key: string } }>(
        server,
        "PUT",
        `/api/v1/api_keys/${id}`,
      );
      assert.equal(rotated.status, 201);
      assert.equal(rotated.body.code, "API_KEY_ROTATED");
      assert.equal(rotated.body.api_key.id, id);
      assert.notEqual(rotated.body.api_key.key, key);
      assert.equal((await verify(key)).status, 401, "the old key stops working");
      const fresh = await verify(rotated.body.api_key.key);
      assert.equal(fresh.status, 200);
      assert.deepEqual(fresh.body.scopes, ["read:orders"], "same scopes after rotation");

      const deleted = await callApi(server, "DELETE", `/api/v1/api_keys/${id}`);
      assert.equal(deleted.status, 200);
      assert.equal((await verify(rotated.body.api_key.key)).status, 401);
      for (const method of ["GET", "PUT", "DELETE"]) {
        const gone = await callApi<Errors>(server, method, `/api/v1/api_keys/${id}`);
        assert.equal(gone.status, 404, method);
        assert.equal(gone.body.errors[0]?.code, "API_KEY_NOT_FOUND");
      }
      // Bad bodies are 400s, not verifications.
      const empty = await fetch(`${server.url}/api/v1/api_keys/verify`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      assert.equal(empty.status, 400);
      assert.equal((await verify(42)).status, 400);
    });

    it("keeps keys to their owner and API, refusing bad bodies", async () => {
      const orgKey = await create({
        name: "Org key",
        type: "organization",
        api_id: apiId,
        org_code: orgCode,
      });
      assert.equal(orgKey.status, 201);
      const checked = await verify(orgKey.body.api_key.key);
      assert.equal(checked.body.org_code, orgCode);
      assert.deepEqual(checked.body.scopes, []);
      const environment = await create({ name: "Env key", type: "environment", api_id: apiId });
      assert.equal(environment.status, 201);

      const refused = async (body: Json, status: number, code: string) => {
        const response = await create(body);
        assert.equal(response.status, status, JSON.stringify(response.body));
        assert.equal(response.body.errors[0]?.code, code, JSON.stringify(body));
      };
      const base = { name: "k", api_id: apiId };
      await refused({ ...base, type: "user" }, 400, "INVALID_REQUEST");
      await refused({ ...base, type: "user", user_id: user.id, org_code: orgCode }, 400, "INVALID_REQUEST");
      await refused({ ...base, type: "organization", user_id: user.id }, 400, "INVALID_REQUEST");
      await refused({ ...base, type: "environment", org_code: orgCode }, 400, "INVALID_REQUEST");
      await refused({ ...base, type: "team" }, 400, "INVALID_REQUEST");
      await refused({ ...base, type: "environment", extra: 1 }, 400, "INVALID_REQUEST");
      await refused({ type: "environment", api_id: apiId }, 400, "INVALID_REQUEST");
      await refused({ ...base, name: "  ", type: "environment" }, 400, "INVALID_REQUEST");
      await refused({ ...base, type: "user", user_id: "kp_nobody" }, 404, "USER_NOT_FOUND");
      await refused(
        { ...base, type: "organization", org_code: "org_00000000000" },
        404,
        "ORGANIZATION_NOT_FOUND",
      );
      await refused({ ...base, api_id: "0".repeat(32), type: "environment" }, 404, "API_NOT_FOUND");
      await refused({ ...base, type: "environment", scope_ids: [otherApiScopeId] }, 404, "SCOPE_NOT_FOUND");
      const management = (await server.services.apis.store.findManagementApi())!;
      await refused({ ...base, api_id: management.id, type: "environment" }, 400, "MANAGEMENT_API_PROTECTED");
    });

    it("lists keys with page_size + starting_after and has_more, and filters them", async () => {
      const holder = await createUser(server);
      const made: string[] = [];
      for (let i = 0; i < 3; i++) {
        const { body } = await create({
          name: `Holder ${i}`,
          type: "user",
          api_id: apiId,
          user_id: holder.id,
        });
        made.push(body.api_key.id);
      }
      type Page = { has_more: boolean; api_keys: Json[] };
      const page = async (query: string) =>
        (await callApi<Page>(server, "GET", `/api/v1/api_keys?${query}`)).body;
      const first = await page(`user_id=${holder.id}&page_size=2`);
      assert.equal(first.api_keys.length, 2);
      assert.equal(first.has_more, true);
      const second = await page(`user_id=${holder.id}&page_size=2&starting_after=${first.api_keys[1]!.id}`);
      assert.equal(second.has_more, false);
      assert.deepEqual([...first.api_keys, ...second.api_keys].map((k) => k.id).sort(), [...made].sort());
      assert.equal(first.api_keys[0]!.key, undefined);
      const organizations = await page("key_type=organization&page_size=500");
      assert.ok(organizations.api_keys.length > 0);
      assert.ok(organizations.api_keys.every((k) => k.type === "organization"));
      const byOrg = await page(`org_code=${orgCode}`);
      assert.ok(byOrg.api_keys.every((k) => k.type === "organization"));
      assert.equal((await page("status=revoked")).api_keys.length, 0);
      assert.ok((await page("")).api_keys.length <= 50, "Kinde's default page of 50");

      for (const query of [
        "page_size=501",
        "starting_after=api_key_nobody",
        "key_type=environment",
        "status=lost",
      ]) {
        const response = await callApi(server, "GET", `/api/v1/api_keys?${query}`);
        assert.equal(response.status, 400, query);
      }
    });

    it("needs Kinde's scopes for everything but verification", async () => {
      const { id, key } = await userKey();
      const reader = await narrowMachineToken(server, ["read:api_keys"]);
      assert.equal((await callApi(server, "GET", "/api/v1/api_keys", { token: reader.token })).status, 200);
      assert.equal(
        (await callApi(server, "GET", `/api/v1/api_keys/${id}`, { token: reader.token })).status,
        200,
      );
      for (const [method, path] of [
        ["POST", "/api/v1/api_keys"],
        ["PUT", `/api/v1/api_keys/${id}`],
        ["DELETE", `/api/v1/api_keys/${id}`],
      ] as const) {
        const response = await callApi(server, method, path, {
          token: reader.token,
          ...(method === "POST" ? { body: { name: "x", type: "environment", api_id: apiId } } : {}),
        });
        assert.equal(response.status, 403, `${method} ${path}`);
      }
      const rotator = await narrowMachineToken(server, ["update:api_keys"]);
      assert.equal(
        (await callApi(server, "PUT", `/api/v1/api_keys/${id}`, { token: rotator.token })).status,
        201,
      );
      assert.equal((await callApi(server, "GET", "/api/v1/api_keys", { token: rotator.token })).status, 403);
      const anonymous = await fetch(`${server.url}/api/v1/api_keys`);
      assert.equal(anonymous.status, 401);
      assert.equal((await verify(key)).status, 401, "rotated by the narrow token");
    });

    // Last: it leaves this network refused for a while.
    it("answers 429 to a network that keeps presenting keys that are not keys, even with a good one", async () => {
      const { key } = await userKey();
      await server.storage.db.deleteFrom("rate_limits").where("key", "like", "api-key-verify%").execute();
      for (let i = 0; i < FAILED_VERIFY_LIMIT.max; i++) {
        const wrong = await verify(`lk_${randomBytes(8).toString("hex")}_${"Z".repeat(43)}`);
        assert.equal(wrong.status, 401, `attempt ${i + 1}`);
      }
      const limited = await verify(key);
      assert.equal(limited.status, 429);
      assert.equal(limited.body.errors[0]?.code, "TOO_MANY_REQUESTS");
      assert.ok(Number(limited.headers.get("retry-after")) > 0);
    });
  });
}
