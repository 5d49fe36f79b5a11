import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication } from "../helpers/fixtures.js";
import { type ApiResponse, callApi, managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

type Envelope = { code: string; message: string };
type Errors = { errors: { code: string; message: string }[] };
type ApiDetail = {
  id: string;
  name: string;
  audience: string;
  is_management_api: boolean;
  scopes: { id: string; key: string }[];
  applications: { id: string; name: string; type: string; is_active: boolean }[];
};

const unique = () => randomBytes(4).toString("hex");

function errorCode(response: ApiResponse): string | undefined {
  return (response.body as unknown as Errors).errors?.[0]?.code;
}

async function clientCredentials(
  server: TestServer,
  client: { clientId: string; clientSecret?: string },
  audience: string,
  scope?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const params = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: client.clientId,
    client_secret: client.clientSecret!,
    audience,
  });
  if (scope !== undefined) params.set("scope", scope);
  const response = await fetch(`${server.url}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: params,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function claims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8"));
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`Management API: APIs, scopes and authorized applications (${kind})`, { skip }, () => {
    let server: TestServer;
    let token: string;
    before(async () => {
      server = await startTestServer(kind);
      token = await managementToken(server);
    });
    after(async () => server?.close());

    const call = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) =>
      callApi<T>(server, method, path, { token, body });

    async function createApi(name: string, audience = `https://${unique()}.example.com`): Promise<string> {
      const created = await call<{ api: { id: string } }>("POST", "/api/v1/apis", { name, audience });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      return created.body.api.id;
    }

    async function addScope(apiId: string, key: string, description?: string): Promise<string> {
      const created = await call<{ scope: { id: string } }>("POST", `/api/v1/apis/${apiId}/scopes`, {
        key,
        ...(description === undefined ? {} : { description }),
      });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      return created.body.scope.id;
    }

    it("creates (200, not 201), reads, lists sorted by name, and deletes an API", async () => {
      const audience = `https://orders-${unique()}.example.com`;
      const created = await call<Envelope & { api: { id: string } }>("POST", "/api/v1/apis", {
        name: "  Orders API  ",
        audience,
      });
      assert.equal(created.status, 200);
      assert.deepEqual(Object.keys(created.body).sort(), ["api", "code", "message"]);
      assert.equal(created.body.code, "OK");
      assert.equal(created.body.message, "Success");
      const { id } = created.body.api;
      assert.deepEqual(created.body.api, { id });
      assert.match(id, /^[0-9a-f]{32}$/);
      const readId = await addScope(id, "read:orders", "Read orders");
      const writeId = await addScope(id, "write:orders");

      const read = await call<Envelope & { api: ApiDetail }>("GET", `/api/v1/apis/${id}`);
      assert.equal(read.status, 200);
      const { applications, ...rest } = read.body.api;
      assert.deepEqual(
        { code: read.body.code, message: read.body.message, api: rest },
        {
          code: "OK",
          message: "Success",
          api: {
            id,
            name: "Orders API",
            audience,
            is_management_api: false,
            scopes: [
              { id: readId, key: "read:orders" },
              { id: writeId, key: "write:orders" },
            ],
          },
        },
      );
      // Every application is listed, each saying whether it is authorized for this API.
      assert.deepEqual(
        applications.find((a) => a.id === server.management.clientId),
        {
          id: server.management.clientId,
          name: "Latchkey Management (bootstrap)",
          type: "Machine to machine (M2M)",
          is_active: false,
        },
      );

      await createApi("aaa first by name");
      await createApi("zzz last by name");
      const list = await call<Envelope & { apis: Record<string, unknown>[]; next_token?: string }>(
        "GET",
        "/api/v1/apis",
      );
      assert.equal(list.status, 200);
      assert.equal(list.body.code, "OK");
      assert.equal(list.body.message, "Success");
      // Every API is on the one page; Kinde types next_token as a string, so it is left out.
      assert.ok(!("next_token" in list.body), JSON.stringify(list.body));
      const names = list.body.apis.map((a) => a.name as string);
      // As people read them, whatever the database's collation: "aaa…" before "Orders API".
      assert.deepEqual(
        names,
        [...names].sort((a, b) => a.localeCompare(b, "en", { sensitivity: "base", numeric: true })),
        "sorted by name",
      );
      assert.ok(names.indexOf("aaa first by name") < names.indexOf("Orders API"));
      assert.ok(names.indexOf("Orders API") < names.indexOf("zzz last by name"));
      assert.deepEqual(
        list.body.apis.find((a) => a.id === id),
        { id, name: "Orders API", audience, is_management_api: false },
        "no scopes without expand=scopes",
      );
      const expanded = await call<{ apis: Record<string, unknown>[] }>("GET", "/api/v1/apis?expand=scopes");
      assert.deepEqual(expanded.body.apis.find((a) => a.id === id)?.scopes, [
        { id: readId, key: "read:orders" },
        { id: writeId, key: "write:orders" },
      ]);
      const badExpand = await call("GET", "/api/v1/apis?expand=everything");
      assert.equal(badExpand.status, 400);

      const deleted = await call("DELETE", `/api/v1/apis/${id}`);
      assert.equal(deleted.status, 200);
      assert.deepEqual(deleted.body, { code: "API_DELETED", message: "API successfully deleted" });
      const gone = await call("GET", `/api/v1/apis/${id}`);
      assert.equal(gone.status, 404);
      assert.deepEqual(gone.body, { errors: [{ code: "API_NOT_FOUND", message: "API not found" }] });
      assert.equal((await call("DELETE", `/api/v1/apis/${id}`)).status, 404);
      assert.equal((await call("GET", `/api/v1/apis/${id}/scopes`)).status, 404);
      assert.equal(
        await server.services.apis.store.findScope(id, readId),
        undefined,
        "scopes go with the API",
      );
    });

    it("refuses a duplicate audience with 409 API_EXISTS, also when two creates race", async () => {
      const audience = `https://dup-${unique()}.example.com`;
      await createApi("First", audience);
      const again = await call("POST", "/api/v1/apis", { name: "Second", audience });
      assert.equal(again.status, 409);
      assert.deepEqual(again.body, {
        errors: [{ code: "API_EXISTS", message: "An API with this audience already exists" }],
      });
      const management = await call("POST", "/api/v1/apis", { name: "Mine", audience: `${server.url}/api` });
      assert.equal(management.status, 409, "the Management API's audience is taken too");

      const raced = `https://race-${unique()}.example.com`;
      const results = await Promise.all(
        Array.from({ length: 4 }, (_, i) =>
          call("POST", "/api/v1/apis", { name: `Race ${i}`, audience: raced }),
        ),
      );
      assert.deepEqual(results.map((r) => r.status).sort(), [200, 409, 409, 409]);
    });

    it("validates names and audiences (Kinde: 1-64 characters) with 400", async () => {
      const bad: [unknown, string][] = [
        [{ name: "", audience: "https://a.example.com" }, "INVALID_REQUEST"],
        [{ name: "   ", audience: "https://a.example.com" }, "INVALID_REQUEST"],
        [{ name: "x".repeat(65), audience: "https://a.example.com" }, "INVALID_REQUEST"],
        [{ name: "Tab\tname", audience: "https://a.example.com" }, "INVALID_REQUEST"],
        [{ name: "Valid", audience: "" }, "INVALID_REQUEST"],
        [{ name: "Valid", audience: "   " }, "INVALID_AUDIENCE"],
        [{ name: "Valid", audience: "has space" }, "INVALID_AUDIENCE"],
        [{ name: "Valid", audience: `https://${"a".repeat(60)}.com` }, "INVALID_REQUEST"],
        [{ name: "Valid", audience: "https://" }, "INVALID_AUDIENCE"],
        [{ name: "Valid", audience: "https://a.example.com/#frag" }, "INVALID_AUDIENCE"],
        [{ name: "Valid", audience: "https://bücher.example" }, "INVALID_AUDIENCE"],
        [{ name: "Valid" }, "INVALID_REQUEST"],
        [{ audience: "https://a.example.com" }, "INVALID_REQUEST"],
      ];
      for (const [body, code] of bad) {
        const response = await call("POST", "/api/v1/apis", body);
        assert.equal(response.status, 400, JSON.stringify(body));
        assert.equal(errorCode(response), code, JSON.stringify(body));
      }
      // Non-URL audiences are allowed, as Kinde allows them.
      const plain = await call("POST", "/api/v1/apis", { name: "Plain", audience: `orders-${unique()}` });
      assert.equal(plain.status, 200);
    });

    it("creates, reads, updates and deletes scopes", async () => {
      const apiId = await createApi("Scoped");
      const id = await addScope(apiId, "read:logs", "Read logs scope");
      assert.match(id, /^api_scope_[0-9a-f]{32}$/);
      const other = await addScope(apiId, "write:logs");

      const list = await call("GET", `/api/v1/apis/${apiId}/scopes`);
      assert.equal(list.status, 200);
      assert.deepEqual(list.body, {
        code: "OK",
        message: "Success",
        scopes: [
          { id, key: "read:logs", description: "Read logs scope" },
          { id: other, key: "write:logs", description: null },
        ],
      });
      const one = await call("GET", `/api/v1/apis/${apiId}/scopes/${id}`);
      assert.deepEqual(one.body, {
        code: "OK",
        message: "Success",
        scope: { id, key: "read:logs", description: "Read logs scope" },
      });

      const patched = await call("PATCH", `/api/v1/apis/${apiId}/scopes/${id}`, {
        description: " Reads every log\nincluding audit logs ",
      });
      assert.equal(patched.status, 200);
      assert.deepEqual(patched.body, { code: "OK", message: "API scope successfully updated" });
      assert.equal(
        (await call<{ scope: { description: string } }>("GET", `/api/v1/apis/${apiId}/scopes/${id}`)).body
          .scope.description,
        "Reads every log\nincluding audit logs",
      );
      // Only the description can change: a key in the body is refused, and so is an empty patch.
      const rename = await call("PATCH", `/api/v1/apis/${apiId}/scopes/${id}`, {
        description: null,
        key: "renamed",
      });
      assert.equal(rename.status, 400);
      await call("PATCH", `/api/v1/apis/${apiId}/scopes/${id}`, { description: null });
      assert.deepEqual(
        (await call<{ scope: unknown }>("GET", `/api/v1/apis/${apiId}/scopes/${id}`)).body.scope,
        { id, key: "read:logs", description: null },
      );
      const empty = await call("PATCH", `/api/v1/apis/${apiId}/scopes/${id}`, {});
      assert.equal(empty.status, 400);
      assert.equal(errorCode(empty), "NO_FIELDS_TO_UPDATE");

      const duplicate = await call("POST", `/api/v1/apis/${apiId}/scopes`, { key: "read:logs" });
      assert.equal(duplicate.status, 409);
      assert.deepEqual(duplicate.body, {
        errors: [{ code: "SCOPE_EXISTS", message: "A scope with this key already exists on this API" }],
      });

      const deleted = await call("DELETE", `/api/v1/apis/${apiId}/scopes/${id}`);
      assert.equal(deleted.status, 200);
      assert.deepEqual(deleted.body, { code: "OK", message: "API scope successfully deleted" });
      const gone = await call("GET", `/api/v1/apis/${apiId}/scopes/${id}`);
      assert.equal(gone.status, 404);
      assert.deepEqual(gone.body, { errors: [{ code: "SCOPE_NOT_FOUND", message: "Scope not found" }] });
      assert.equal(
        (await call("PATCH", `/api/v1/apis/${apiId}/scopes/${id}`, { description: "x" })).status,
        404,
      );
      assert.equal((await call("DELETE", `/api/v1/apis/${apiId}/scopes/${id}`)).status, 404);

      // A scope id of another API is not found on this one.
      const elsewhere = await createApi("Elsewhere");
      assert.equal((await call("GET", `/api/v1/apis/${elsewhere}/scopes/${other}`)).status, 404);
      assert.equal((await call("DELETE", `/api/v1/apis/${elsewhere}/scopes/${other}`)).status, 404);
      assert.equal((await call("GET", `/api/v1/apis/${apiId}/scopes/${other}`)).status, 200);
      // The same key on another API is fine.
      await addScope(elsewhere, "write:logs");
    });

    it("refuses scope keys that are not RFC 6749 scope tokens of 1-64 characters", async () => {
      const apiId = await createApi("Keys");
      const bad: [unknown, string][] = [
        ["", "INVALID_REQUEST"],
        ["has space", "INVALID_SCOPE_KEY"],
        ["tab\tkey", "INVALID_SCOPE_KEY"],
        ['quote"key', "INVALID_SCOPE_KEY"],
        ["back\\slash", "INVALID_SCOPE_KEY"],
        ["naïve", "INVALID_SCOPE_KEY"],
        ["x".repeat(65), "INVALID_REQUEST"],
        ["openid", "INVALID_SCOPE_KEY"],
        ["offline", "INVALID_SCOPE_KEY"],
        [42, "INVALID_REQUEST"],
        [["read"], "INVALID_REQUEST"],
        [null, "INVALID_REQUEST"],
      ];
      for (const [key, code] of bad) {
        const response = await call("POST", `/api/v1/apis/${apiId}/scopes`, { key });
        assert.equal(response.status, 400, JSON.stringify(key));
        assert.equal(errorCode(response), code, JSON.stringify(key));
      }
      await addScope(apiId, "x".repeat(64));
      await addScope(apiId, "urn:example:orders.read!#$%&'()*+,-./:;<=>?@[]^_`{|}~");
      assert.equal((await call("POST", "/api/v1/apis/0000/scopes", { key: "a" })).status, 404);
    });

    it("protects the Management API: not deletable, its scopes fixed", async () => {
      const management = await server.services.apis.store.findManagementApi();
      const id = management!.id;
      const list = await call<{ apis: Record<string, unknown>[] }>("GET", "/api/v1/apis");
      assert.deepEqual(
        list.body.apis.find((a) => a.id === id),
        { id, name: "Latchkey Management API", audience: `${server.url}/api`, is_management_api: true },
      );
      const read = await call<{ api: ApiDetail }>("GET", `/api/v1/apis/${id}`);
      assert.ok(read.body.api.scopes.some((s) => s.key === "delete:apis_scopes"));
      assert.deepEqual(
        read.body.api.applications.find((a) => a.id === server.management.clientId),
        {
          id: server.management.clientId,
          name: "Latchkey Management (bootstrap)",
          type: "Machine to machine (M2M)",
          is_active: true,
        },
      );

      const deleted = await call("DELETE", `/api/v1/apis/${id}`);
      assert.equal(deleted.status, 400);
      assert.deepEqual(deleted.body, {
        errors: [{ code: "MANAGEMENT_API_PROTECTED", message: "The Management API cannot be deleted" }],
      });
      const added = await call("POST", `/api/v1/apis/${id}/scopes`, { key: "read:everything" });
      assert.equal(added.status, 400);
      assert.equal(errorCode(added), "MANAGEMENT_API_PROTECTED");
      const scope = read.body.api.scopes.find((s) => s.key === "read:users")!;
      const removed = await call("DELETE", `/api/v1/apis/${id}/scopes/${scope.id}`);
      assert.equal(removed.status, 400);
      assert.equal(errorCode(removed), "MANAGEMENT_API_PROTECTED");
      assert.ok(await server.services.apis.store.findById(id));
      assert.ok(await server.services.apis.store.findScope(id, scope.id));
      // Still usable.
      assert.equal((await call("GET", "/api/v1/apis")).status, 200);
    });

    it("end to end: authorize an M2M app, grant one scope, and the token carries exactly it", async () => {
      const audience = `https://e2e-${unique()}.example.com`;
      const apiId = await createApi("E2E API", audience);
      const readId = await addScope(apiId, "read:orders");
      await addScope(apiId, "write:orders");
      const created = await call<{ application: { id: string; client_secret: string } }>(
        "POST",
        "/api/v1/applications",
        { name: "Worker", type: "m2m" },
      );
      const client = {
        clientId: created.body.application.id,
        clientSecret: created.body.application.client_secret,
      };

      const before = await clientCredentials(server, client, audience);
      assert.equal(before.status, 400);
      assert.equal(before.body.error, "invalid_target", "not authorized yet");

      const authorized = await call("PATCH", `/api/v1/apis/${apiId}/applications`, {
        applications: [{ id: client.clientId }],
      });
      assert.equal(authorized.status, 200);
      assert.deepEqual(authorized.body, {
        code: "API_APPLICATIONS_UPDATED",
        message: "API applications updated",
        applications_connected: [client.clientId],
        applications_disconnected: [],
      });
      const noScopes = await clientCredentials(server, client, audience);
      assert.equal(noScopes.status, 200);
      assert.equal(noScopes.body.scope, "");

      const granted = await call(
        "POST",
        `/api/v1/apis/${apiId}/applications/${client.clientId}/scopes/${readId}`,
      );
      assert.equal(granted.status, 200);
      assert.deepEqual(granted.body, {
        code: "OK",
        message: "API scope successfully added to API application",
      });
      // Granting twice changes nothing.
      assert.equal(
        (await call("POST", `/api/v1/apis/${apiId}/applications/${client.clientId}/scopes/${readId}`)).status,
        200,
      );

      const issued = await clientCredentials(server, client, audience);
      assert.equal(issued.status, 200, JSON.stringify(issued.body));
      assert.equal(issued.body.scope, "read:orders");
      const jwt = claims(issued.body.access_token as string);
      assert.deepEqual(jwt.aud, [audience]);
      assert.deepEqual(jwt.scp, ["read:orders"]);
      const tooMuch = await clientCredentials(server, client, audience, "read:orders write:orders");
      assert.equal(tooMuch.status, 400);
      assert.equal(tooMuch.body.error, "invalid_scope");

      const detail = await call<{ api: ApiDetail }>("GET", `/api/v1/apis/${apiId}`);
      assert.deepEqual(
        detail.body.api.applications.find((a) => a.id === client.clientId),
        { id: client.clientId, name: "Worker", type: "Machine to machine (M2M)", is_active: true },
      );

      const ungranted = await call(
        "DELETE",
        `/api/v1/apis/${apiId}/applications/${client.clientId}/scopes/${readId}`,
      );
      assert.equal(ungranted.status, 200);
      assert.deepEqual(ungranted.body, {
        code: "OK",
        message: "API scope successfully deleted from API application",
      });
      assert.equal((await clientCredentials(server, client, audience)).body.scope, "");
      await call("POST", `/api/v1/apis/${apiId}/applications/${client.clientId}/scopes/${readId}`);
      assert.equal((await clientCredentials(server, client, audience)).body.scope, "read:orders");

      const deauthorized = await call("PATCH", `/api/v1/apis/${apiId}/applications`, {
        applications: [{ id: client.clientId, operation: "delete" }],
      });
      assert.equal(deauthorized.status, 200);
      assert.deepEqual(deauthorized.body, {
        code: "API_APPLICATIONS_UPDATED",
        message: "API applications updated",
        applications_connected: [],
        applications_disconnected: [client.clientId],
      });
      const after = await clientCredentials(server, client, audience);
      assert.equal(after.status, 400);
      assert.equal(after.body.error, "invalid_target");
      // Deauthorizing withdrew the grant: authorizing again starts with no scopes.
      await call("PATCH", `/api/v1/apis/${apiId}/applications`, { applications: [{ id: client.clientId }] });
      assert.equal((await clientCredentials(server, client, audience)).body.scope, "");
      assert.equal(
        (await call<{ api: ApiDetail }>("GET", `/api/v1/apis/${apiId}`)).body.api.applications.find(
          (a) => a.id === client.clientId,
        )?.is_active,
        true,
      );

      // Deleting a granted scope withdraws it; deleting the API ends the audience.
      await call("POST", `/api/v1/apis/${apiId}/applications/${client.clientId}/scopes/${readId}`);
      await call("DELETE", `/api/v1/apis/${apiId}/scopes/${readId}`);
      assert.equal((await clientCredentials(server, client, audience)).body.scope, "");
      await call("DELETE", `/api/v1/apis/${apiId}`);
      assert.equal((await clientCredentials(server, client, audience)).body.error, "invalid_target");
    });

    it("authorizes and deauthorizes several applications at once, all or nothing", async () => {
      const apiId = await createApi("Bulk");
      const a = await createApplication(server, "m2m", { name: "A" });
      const b = await createApplication(server, "reg", { name: "B" });
      const c = await createApplication(server, "spa", { name: "C" });
      const isActive = async () => {
        const detail = await call<{ api: ApiDetail }>("GET", `/api/v1/apis/${apiId}`);
        return Object.fromEntries(
          [a, b, c].map((x) => [
            x.clientId,
            detail.body.api.applications.find((app) => app.id === x.clientId)?.is_active,
          ]),
        );
      };

      const both = await call("PATCH", `/api/v1/apis/${apiId}/applications`, {
        applications: [{ id: a.clientId }, { id: b.clientId, operation: null }, { id: a.clientId }],
      });
      assert.deepEqual(both.body.applications_connected, [a.clientId, b.clientId]);
      assert.deepEqual(await isActive(), { [a.clientId]: true, [b.clientId]: true, [c.clientId]: false });
      const labels = (await call<{ api: ApiDetail }>("GET", `/api/v1/apis/${apiId}`)).body.api.applications;
      assert.equal(labels.find((x) => x.id === b.clientId)?.type, "Back-end web");
      assert.equal(labels.find((x) => x.id === c.clientId)?.type, "Front-end and mobile");

      // One unknown application rejects the whole request: c is not authorized, a stays authorized.
      const unknownId = "f".repeat(32);
      const rejected = await call("PATCH", `/api/v1/apis/${apiId}/applications`, {
        applications: [{ id: c.clientId }, { id: a.clientId, operation: "delete" }, { id: unknownId }],
      });
      assert.equal(rejected.status, 400);
      assert.deepEqual(rejected.body, {
        errors: [{ code: "APPLICATION_NOT_FOUND", message: `Application ${unknownId} not found` }],
      });
      assert.deepEqual(await isActive(), { [a.clientId]: true, [b.clientId]: true, [c.clientId]: false });

      const mixed = await call("PATCH", `/api/v1/apis/${apiId}/applications`, {
        applications: [{ id: c.clientId }, { id: a.clientId, operation: "delete" }],
      });
      assert.deepEqual(mixed.body, {
        code: "API_APPLICATIONS_UPDATED",
        message: "API applications updated",
        applications_connected: [c.clientId],
        applications_disconnected: [a.clientId],
      });
      assert.deepEqual(await isActive(), { [a.clientId]: false, [b.clientId]: true, [c.clientId]: true });
      // Deauthorizing an application that is not authorized is not an error.
      const again = await call("PATCH", `/api/v1/apis/${apiId}/applications`, {
        applications: [{ id: a.clientId, operation: "delete" }],
      });
      assert.equal(again.status, 200);

      const bad: unknown[] = [
        { applications: [] },
        { applications: [{ id: a.clientId, operation: "remove" }] },
        { applications: [{ id: a.clientId }, { id: a.clientId, operation: "delete" }] },
        { applications: [{}] },
        { applications: [{ id: 7 }] },
        { applications: { id: a.clientId } },
        { applications: Array.from({ length: 101 }, () => ({ id: a.clientId })) },
        {},
      ];
      for (const body of bad) {
        const response = await call("PATCH", `/api/v1/apis/${apiId}/applications`, body);
        assert.equal(response.status, 400, JSON.stringify(body).slice(0, 100));
        assert.equal(errorCode(response), "INVALID_REQUEST");
      }
      assert.deepEqual(await isActive(), { [a.clientId]: false, [b.clientId]: true, [c.clientId]: true });
      const unknownApi = await call("PATCH", `/api/v1/apis/${"0".repeat(32)}/applications`, {
        applications: [{ id: a.clientId }],
      });
      assert.equal(unknownApi.status, 404);
      assert.equal(errorCode(unknownApi), "API_NOT_FOUND");
    });

    it("grants only scopes of the API to authorized applications", async () => {
      const apiId = await createApi("Grants");
      const scopeId = await addScope(apiId, "read:grants");
      const otherApi = await createApi("Other");
      const foreignScope = await addScope(otherApi, "read:other");
      const app = await createApplication(server, "m2m");
      const path = (api: string, application: string, scope: string) =>
        `/api/v1/apis/${api}/applications/${application}/scopes/${scope}`;

      const notAuthorized = await call("POST", path(apiId, app.clientId, scopeId));
      assert.equal(notAuthorized.status, 400);
      assert.equal(errorCode(notAuthorized), "APPLICATION_NOT_AUTHORIZED");
      assert.equal(
        (await clientCredentials(server, app, "https://nope.example")).body.error,
        "invalid_target",
      );

      await call("PATCH", `/api/v1/apis/${apiId}/applications`, { applications: [{ id: app.clientId }] });
      const cases: [string, string, number, string][] = [
        ["POST", path(apiId, app.clientId, "api_scope_unknown"), 404, "SCOPE_NOT_FOUND"],
        ["POST", path(apiId, app.clientId, foreignScope), 404, "SCOPE_NOT_FOUND"],
        ["POST", path(apiId, "0".repeat(32), scopeId), 400, "APPLICATION_NOT_FOUND"],
        ["POST", path("0".repeat(32), app.clientId, scopeId), 404, "API_NOT_FOUND"],
        ["DELETE", path(apiId, app.clientId, "api_scope_unknown"), 404, "SCOPE_NOT_FOUND"],
        ["DELETE", path(apiId, "0".repeat(32), scopeId), 400, "APPLICATION_NOT_FOUND"],
        ["DELETE", path("0".repeat(32), app.clientId, scopeId), 404, "API_NOT_FOUND"],
        ["GET", `/api/v1/apis/${"0".repeat(32)}`, 404, "API_NOT_FOUND"],
        ["DELETE", `/api/v1/apis/${"0".repeat(32)}`, 404, "API_NOT_FOUND"],
        ["GET", `/api/v1/apis/${"0".repeat(32)}/scopes`, 404, "API_NOT_FOUND"],
        ["POST", `/api/v1/apis/${"0".repeat(32)}/scopes`, 404, "API_NOT_FOUND"],
        ["GET", `/api/v1/apis/${apiId}/scopes/api_scope_unknown`, 404, "SCOPE_NOT_FOUND"],
      ];
      for (const [method, url, status, code] of cases) {
        const response = await callApi(server, method, url, {
          token,
          body: method === "POST" && url.endsWith("/scopes") ? { key: "a" } : undefined,
        });
        assert.equal(response.status, status, `${method} ${url}`);
        assert.equal(errorCode(response), code, `${method} ${url}`);
      }
      // Withdrawing a scope that was never granted is not an error.
      assert.equal((await call("DELETE", path(apiId, app.clientId, scopeId))).status, 200);
      assert.equal((await call("POST", path(apiId, app.clientId, scopeId))).status, 200);
      assert.equal(
        (await clientCredentials(server, app, (await server.services.apis.store.findById(apiId))!.audience))
          .body.scope,
        "read:grants",
      );
    });

    it("answers malformed, oversized and wrong-type requests with 400 (or 413), never 5xx", async () => {
      const apiId = await createApi("Robust");
      const scopeId = await addScope(apiId, "read:robust");
      const raw = async (method: string, path: string, body?: string) => {
        const response = await fetch(`${server.url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
          body,
        });
        const text = await response.text();
        return { status: response.status, body: text };
      };
      const cases: [string, string, string?][] = [
        ["POST", "/api/v1/apis", "{"],
        ["POST", "/api/v1/apis", "null"],
        ["POST", "/api/v1/apis", "[]"],
        ["POST", "/api/v1/apis", '"text"'],
        ["POST", "/api/v1/apis", '{"name": 5, "audience": "https://five.example"}'],
        ["POST", "/api/v1/apis", '{"name": "x", "audience": ["https://a.example"]}'],
        ["POST", "/api/v1/apis", '{"name": "x\\u0000y", "audience": "https://nul.example"}'],
        ["POST", `/api/v1/apis/${apiId}/scopes`, '{"key": "a", "description": 12}'],
        ["POST", `/api/v1/apis/${apiId}/scopes`, '{"key": "b", "description": "bell\\u0007"}'],
        ["POST", `/api/v1/apis/${apiId}/scopes`, `{"key": "a", "description": "${"d".repeat(1001)}"}`],
        ["PATCH", `/api/v1/apis/${apiId}/scopes/${scopeId}`, '{"description": {"x": 1}}'],
        ["PATCH", `/api/v1/apis/${apiId}/scopes/${scopeId}`, "not json"],
        ["PATCH", `/api/v1/apis/${apiId}/applications`, '{"applications": "all"}'],
        ["PATCH", `/api/v1/apis/${apiId}/applications`, '{"applications": [{"id": "a", "operation": 1}]}'],
        ["GET", `/api/v1/apis/${"x".repeat(150)}`],
        ["POST", "/api/v1/apis", JSON.stringify({ name: "big", audience: "x".repeat(2 * 1024 * 1024) })],
      ];
      for (const [method, path, body] of cases) {
        const response = await raw(method, path, body);
        assert.ok(
          response.status === 400 || response.status === 413,
          `${method} ${path} ${body?.slice(0, 60)} → ${response.status} ${response.body.slice(0, 200)}`,
        );
        const parsed = JSON.parse(response.body) as Errors;
        assert.ok(Array.isArray(parsed.errors) && parsed.errors[0]?.code, response.body);
      }
      const tooLong = await raw("GET", `/api/v1/apis/${"x".repeat(300)}`);
      assert.ok(tooLong.status < 500, `${tooLong.status}`);
      assert.equal((await call("GET", "/api/v1/apis")).status, 200, "the server is still fine");
    });

    it("requires each operation's scope, including Kinde's irregular names", async () => {
      const apiId = await createApi("Scoped access");
      const scopeId = await addScope(apiId, "read:access");
      const app = await createApplication(server, "m2m");
      await call("PATCH", `/api/v1/apis/${apiId}/applications`, { applications: [{ id: app.clientId }] });
      const grant = `/api/v1/apis/${apiId}/applications/${app.clientId}/scopes/${scopeId}`;
      const operations: [string, string, string, unknown?][] = [
        ["GET", "/api/v1/apis", "read:apis"],
        ["POST", "/api/v1/apis", "create:apis", { name: "n", audience: `https://${unique()}.example` }],
        ["GET", `/api/v1/apis/${apiId}`, "read:apis"],
        ["GET", `/api/v1/apis/${apiId}/scopes`, "read:api_scopes"],
        ["POST", `/api/v1/apis/${apiId}/scopes`, "create:api_scopes", { key: `k:${unique()}` }],
        ["GET", `/api/v1/apis/${apiId}/scopes/${scopeId}`, "read:api_scopes"],
        ["PATCH", `/api/v1/apis/${apiId}/scopes/${scopeId}`, "update:api_scopes", { description: "d" }],
        [
          "PATCH",
          `/api/v1/apis/${apiId}/applications`,
          "update:apis",
          { applications: [{ id: app.clientId }] },
        ],
        ["POST", grant, "create:api_application_scopes"],
        ["DELETE", grant, "delete:apis_application_scopes"],
        ["DELETE", `/api/v1/apis/${apiId}/scopes/${scopeId}`, "delete:apis_scopes"],
        ["DELETE", `/api/v1/apis/${apiId}`, "delete:apis"],
      ];
      // The one scope that is not the operation's (a read-only token for writes, and vice versa).
      for (const [method, path, scope, body] of operations) {
        const wrong = scope === "read:apis" ? "read:api_scopes" : "read:apis";
        const forbidden = await callApi(server, method, path, {
          token: await managementToken(server, wrong),
          body,
        });
        assert.equal(forbidden.status, 403, `${method} ${path} with ${wrong}`);
        assert.equal(errorCode(forbidden), "FORBIDDEN");
        assert.match(forbidden.headers.get("www-authenticate") ?? "", new RegExp(`scope="${scope}"`));
      }
      // The regular spellings of the irregular names do not exist (so cannot be granted).
      await assert.rejects(managementToken(server, "delete:api_scopes"));
      for (const [method, path, scope, body] of operations) {
        const allowed = await callApi(server, method, path, {
          token: await managementToken(server, scope),
          body,
        });
        assert.equal(allowed.status, 200, `${method} ${path} with ${scope}: ${JSON.stringify(allowed.body)}`);
      }
    });

    it("honours Idempotency-Key on creates", async () => {
      const audience = `https://idem-${unique()}.example.com`;
      const send = () =>
        callApi<{ api: { id: string } }>(server, "POST", "/api/v1/apis", {
          token,
          body: { name: "Once", audience },
          headers: { "idempotency-key": `api-${audience}` },
        });
      const [first, second] = await Promise.all([send(), send()]);
      assert.equal(first.status, 200);
      assert.equal(second.status, 200);
      assert.equal(second.body.api.id, first.body.api.id);
      const apiId = first.body.api.id;
      const scope = () =>
        callApi<{ scope: { id: string } }>(server, "POST", `/api/v1/apis/${apiId}/scopes`, {
          token,
          body: { key: "read:once" },
          headers: { "idempotency-key": `scope-${audience}` },
        });
      const s1 = await scope();
      const s2 = await scope();
      assert.equal(s1.status, 200);
      assert.equal(s2.body.scope.id, s1.body.scope.id);
      assert.equal(s2.headers.get("idempotent-replayed"), "true");
      assert.equal((await server.services.apis.store.scopes(apiId)).length, 1);
      // A failed create (409) is not recorded: its key can be used again.
      const failing = await callApi(server, "POST", "/api/v1/apis", {
        token,
        body: { name: "Dup", audience },
        headers: { "idempotency-key": `dup-${audience}` },
      });
      assert.equal(failing.status, 409);
    });
  });
}
