// Calls the Management API the way a customer's back end does: an M2M token for `<issuer>/api`,
// then JSON requests with it. Every response is checked against the server's own OpenAPI document
// (/api/v1/openapi.json): its status must be documented for the operation and its body must match
// the documented schema, so a test fails when a route answers something its schema does not say.
import assert from "node:assert/strict";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsPlugin from "ajv-formats";
import { createApplication } from "./fixtures.js";
import type { TestServer } from "./server.js";

export async function managementToken(server: TestServer, scope = ""): Promise<string> {
  const response = await fetch(`${server.url}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: server.management.clientId,
      client_secret: server.management.clientSecret,
      audience: `${server.url}/api`,
      scope,
    }),
  });
  const body = (await response.json()) as { access_token?: string; error?: string };
  if (!body.access_token) throw new Error(`no management token: ${JSON.stringify(body)}`);
  return body.access_token;
}

/**
 * A new machine-to-machine application holding only `scopes` of the Management API, and its token
 * (which carries exactly those scopes): a caller weaker than the bootstrap application.
 */
export async function narrowMachineToken(
  server: TestServer,
  scopes: string[],
): Promise<{ token: string; clientId: string }> {
  const app = await createApplication(server, "m2m");
  const api = (await server.services.apis.store.findManagementApi())!;
  await server.services.apis.authorizeApplication(api.id, app.clientId);
  await server.services.apis.grantScopes(api.id, app.clientId, scopes);
  const response = await fetch(`${server.url}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: app.clientId,
      client_secret: app.clientSecret!,
      audience: `${server.url}/api`,
    }),
  });
  const body = (await response.json()) as { access_token: string; scope: string };
  assert.equal(response.status, 200, JSON.stringify(body));
  assert.deepEqual(body.scope.split(" ").sort(), [...scopes].sort());
  return { token: body.access_token, clientId: app.clientId };
}

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

/** One Management API call; `token` defaults to a token with every scope. */
export async function callApi<T = Record<string, unknown>>(
  server: TestServer,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const token = options.token ?? (await managementToken(server));
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      accept: "application/json",
      ...(options.body !== undefined ? { "content-type": "application/json" } : {}),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  // JSON, but for the few operations that answer another type (the audit log's CSV export).
  const json = /\bjson\b/.test(response.headers.get("content-type") ?? "application/json");
  const body = (text ? (json ? JSON.parse(text) : text) : undefined) as T;
  await checkResponse(server, method, path, response.status, body);
  return { status: response.status, headers: response.headers, body };
}

// ---- response checking against the OpenAPI document ---------------------------------------------

interface OpenApiOperation {
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
}

interface Checker {
  document: OpenApiDocument;
  ajv: Ajv;
  validators: Map<string, ValidateFunction>;
  /** Document paths as patterns, most specific (fewest parameters) first. */
  routes: { template: string; pattern: RegExp; parameters: number }[];
}

const checkers = new WeakMap<TestServer, Promise<Checker>>();

/** The server's OpenAPI document, fetched once per server. */
function checkerFor(server: TestServer): Promise<Checker> {
  let checker = checkers.get(server);
  if (!checker) {
    checker = (async () => {
      const response = await fetch(`${server.url}/api/v1/openapi.json`);
      assert.equal(response.status, 200, "the OpenAPI document is served");
      const document = (await response.json()) as OpenApiDocument;
      // OpenAPI 3.0 schema objects: Ajv understands `nullable`; strict off for OpenAPI-only keywords
      // such as `example`. The whole document is registered so `$ref`s into components resolve.
      const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
      addFormats(ajv);
      ajv.addSchema(document, "openapi.json");
      const routes = Object.keys(document.paths)
        .map((template) => {
          const parts = template.split(/\{[^}]+\}/);
          const pattern = new RegExp(
            `^${parts.map((p) => p.replace(/[.*+?^$()|[\]\\]/g, "\\$&")).join("[^/]+")}$`,
          );
          return { template, pattern, parameters: parts.length - 1 };
        })
        .sort((a, b) => a.parameters - b.parameters);
      return { document, ajv, validators: new Map(), routes };
    })();
    checkers.set(server, checker);
    // A failed fetch is not cached: the next call tries again.
    checker.catch(() => checkers.delete(server));
  }
  return checker;
}

const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;

/** JSON Pointer escaping of one reference token (RFC 6901). */
const pointer = (token: string) => token.replace(/~/g, "~0").replace(/\//g, "~1");

async function checkResponse(
  server: TestServer,
  method: string,
  path: string,
  status: number,
  body: unknown,
): Promise<void> {
  const verb = method.toLowerCase();
  if (verb === "head" || verb === "options") return;
  const { document, ajv, validators, routes } = await checkerFor(server);
  const pathname = new URL(path, server.url).pathname;
  // Not an operation of the document (an unknown route, the document itself): nothing to check.
  const route = routes.find((r) => r.pattern.test(pathname) && document.paths[r.template]?.[verb]);
  if (!route) return;
  const operationName = `${method.toUpperCase()} ${route.template}`;
  const responses = document.paths[route.template]![verb]!.responses ?? {};
  const key = [String(status), `${String(status)[0]}XX`, "default"].find((k) => responses[k]);
  assert.ok(
    key,
    `${operationName} answered ${status}, which its OpenAPI document does not list ` +
      `(documented: ${Object.keys(responses).join(", ")}); body: ${JSON.stringify(body)?.slice(0, 500)}`,
  );
  const content = responses[key]!.content;
  if (!content) {
    assert.equal(body, undefined, `${operationName} ${status} documents no body but answered one`);
    return;
  }
  const mediaType = content["application/json"] ? "application/json" : Object.keys(content)[0]!;
  const ref =
    `openapi.json#/paths/${pointer(route.template)}/${verb}/responses/${pointer(key)}` +
    `/content/${pointer(mediaType)}/schema`;
  let validate = validators.get(ref);
  if (!validate) {
    validate = ajv.compile({ $ref: ref });
    validators.set(ref, validate);
  }
  if (!validate(body)) {
    assert.fail(
      `${operationName} ${status}: the body does not match the OpenAPI document's schema: ` +
        `${ajv.errorsText(validate.errors, { dataVar: "body" })}\nbody: ${JSON.stringify(body)?.slice(0, 2000)}`,
    );
  }
}
