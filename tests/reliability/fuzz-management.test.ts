// Property-based fuzzing (fast-check) of every Management API operation, derived from the served
// OpenAPI document so a new route is fuzzed without touching this file: path parameters (real ids
// of throw-away resources, or hostile text), query parameters (documented names, duplicated,
// hostile values) and bodies shaped by the operation's request schema with wrong types, extra
// keys, oversized strings and arrays mixed in — plus raw non-JSON bodies. Every answer must be a
// status the document lists for the operation with a body matching its schema (checked by
// callApi), in Kinde's error shape when it is an error, and arrive within the request timeout.
// Seed: FUZZ_SEED=<n>|random (default fixed, printed); FUZZ_RUNS=<factor> scales the runs.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, LOGOUT } from "../helpers/fixtures.js";
import { callApi } from "../helpers/management.js";
import {
  checkApiError,
  encodePairs,
  fuzzFailure,
  fuzzParameters,
  fuzzSeed,
  nastyString,
  pairs,
  send,
  withTimeout,
} from "./support.js";
import { buildWorld, type World } from "./world.js";

const SCALE = Number(process.env.FUZZ_RUNS ?? "1") || 1;
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
const SEED = fuzzSeed();

/** Safe JSON for the OpenAPI-driven body generator. */
interface Schema {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  enum?: unknown[];
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  nullable?: boolean;
  format?: string;
}
interface Operation {
  parameters?: { name: string; in: string; schema?: Schema }[];
  requestBody?: { content: Record<string, { schema?: Schema }> };
}
interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

function resolve(schema: Schema, doc: OpenApi): Schema {
  let current = schema;
  for (let i = 0; i < 10 && current.$ref; i++) {
    const name = current.$ref.split("/").pop()!;
    current = doc.components?.schemas?.[name] ?? {};
  }
  return current;
}

/** Values shaped like the schema most of the time (so the handler runs), any JSON otherwise. */
function schemaArbitrary(
  input: Schema,
  doc: OpenApi,
  ids: readonly string[],
  depth = 0,
): fc.Arbitrary<unknown> {
  const schema = resolve(input, doc);
  const wrong = fc.jsonValue({ maxDepth: 2 });
  if (depth > 4) return wrong;
  let right: fc.Arbitrary<unknown>;
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) right = fc.oneof(...alternatives.map((s) => schemaArbitrary(s, doc, ids, depth + 1)));
  else if (schema.enum) right = fc.constantFrom(...schema.enum);
  else if (schema.type === "object") {
    const properties = Object.entries(schema.properties ?? {});
    const model = Object.fromEntries(
      properties.map(([k, s]) => [k, schemaArbitrary(s, doc, ids, depth + 1)]),
    );
    right = fc.oneof(
      fc.record(model, { requiredKeys: (schema.required ?? []).filter((k) => k in model) }),
      fc.record(model, { requiredKeys: [] }),
      fc
        .tuple(
          fc.record(model, { requiredKeys: [] }),
          fc.dictionary(fc.string({ maxLength: 8 }), wrong, { maxKeys: 2 }),
        )
        .map(([a, b]) => ({ ...b, ...a })),
    );
  } else if (schema.type === "array") {
    const item = schemaArbitrary(schema.items ?? {}, doc, ids, depth + 1);
    right = fc.oneof(
      { weight: 5, arbitrary: fc.array(item, { maxLength: 4 }) },
      {
        weight: 1,
        arbitrary: fc.array(item, {
          minLength: (schema.maxItems ?? 100) + 1,
          maxLength: (schema.maxItems ?? 100) + 1,
        }),
      },
    );
  } else if (schema.type === "string") {
    const max = Math.min(schema.maxLength ?? 60, 60);
    right = fc.oneof(
      { weight: 3, arbitrary: nastyString },
      {
        weight: 2,
        arbitrary: fc.string({ minLength: Math.min(schema.minLength ?? 0, max), maxLength: max }),
      },
      {
        weight: 2,
        arbitrary: fc.constantFrom(...ids, CALLBACK, LOGOUT, "https://app.example.com/cb", "a@example.com"),
      },
      { weight: 1, arbitrary: fc.emailAddress() },
      { weight: 1, arbitrary: fc.constant("y".repeat((schema.maxLength ?? 4096) + 1)) },
    );
  } else if (schema.type === "integer" || schema.type === "number") {
    right = fc.oneof(
      fc.integer({ min: schema.minimum ?? -1_000_000, max: schema.maximum ?? 1_000_000 }),
      fc.constantFrom(-1, 0, 0.5, 2 ** 53 + 2, 1e308, -1e308),
    );
  } else if (schema.type === "boolean") right = fc.boolean();
  else right = wrong;
  if (schema.nullable) right = fc.oneof(right, fc.constant(null));
  return fc.oneof({ weight: 6, arbitrary: right }, { weight: 1, arbitrary: wrong });
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`fuzzing the Management API (${kind})`, { skip }, () => {
    let world: World;
    let url: string;
    let sent = 0;
    before(async () => {
      world = await buildWorld(kind);
      url = world.server.url;
    });
    after(async () => {
      process.stdout.write(`# fuzz-management (${kind}): ${sent} requests, seed ${SEED}\n`);
      await world?.server.close();
    });

    // ---- Management API (routes from the OpenAPI document) ----------------------------------------

    it("every Management API operation in the OpenAPI document: documented status and schema, Kinde errors", async (t) => {
      const document = (await (await fetch(`${url}/api/openapi.json`)).json()) as OpenApi;
      const operations = Object.entries(document.paths).flatMap(([template, ops]) =>
        Object.entries(ops)
          .filter(([method]) => ["get", "post", "put", "patch", "delete"].includes(method))
          .map(([method, op]) => ({ template, method: method.toUpperCase(), op })),
      );
      assert.ok(operations.length >= 40, `only ${operations.length} operations in the document`);
      const allIds = Object.values(world.victims).flat();
      let total = 0;
      for (const { template, method, op } of operations) {
        const pathNames = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
        const queryNames = (op.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name);
        const pathArb = fc.tuple(
          ...pathNames.map((name) =>
            fc.oneof(
              { weight: 4, arbitrary: fc.constantFrom(...(world.victims[name] ?? allIds)) },
              { weight: 2, arbitrary: nastyString },
              { weight: 1, arbitrary: fc.constantFrom(...allIds) },
            ),
          ),
        );
        const querySpec = Object.fromEntries(
          queryNames.map((name) => [
            name,
            fc.oneof(
              fc.constantFrom(...(world.victims[name] ?? allIds)),
              fc.constantFrom("1", "0", "-1", "500", "501", "true", "scopes", "name_asc", "a@example.com"),
            ),
          ]),
        );
        const bodySchema = op.requestBody?.content["application/json"]?.schema;
        const bodyArb: fc.Arbitrary<
          { kind: "json"; value: unknown } | { kind: "raw"; value: string; type: string }
        > = fc.oneof(
          {
            weight: 8,
            arbitrary: (bodySchema
              ? schemaArbitrary(bodySchema, document, allIds)
              : fc.constant(undefined)
            ).map((value) => ({ kind: "json" as const, value })),
          },
          {
            weight: 1,
            arbitrary: fc.record({
              kind: fc.constant("raw" as const),
              value: fc.oneof(
                nastyString,
                fc.constantFrom("{", '{"a":', "[1,2", "null", '{"__proto__":{"x":1}}'),
              ),
              type: fc.constantFrom("application/json", "text/plain", "application/x-www-form-urlencoded"),
            }),
          },
        );
        const input = fc.record({ path: pathArb, query: pairs(querySpec, 4), body: bodyArb });
        const numRuns = runs(method === "GET" ? 6 : 12);
        total += numRuns;
        const started = Date.now();
        try {
          await fc.assert(
            fc.asyncProperty(input, async ({ path, query, body }) => {
              let resolved = template;
              for (const [i, name] of pathNames.entries()) {
                resolved = resolved.replace(`{${name}}`, encodeURIComponent(path[i]!));
              }
              const search = encodePairs(query);
              const target = `${resolved}${search ? `?${search}` : ""}`;
              const what = `${method} ${target.slice(0, 300)} body=${JSON.stringify(body.value)?.slice(0, 300)}`;
              sent += 1;
              // Over-long URLs meet Node's 16 KiB header limit (431) before any route: no schema to check.
              if (body.kind === "raw" || target.length > 4_000) {
                const raw = body.kind === "raw" ? body.value : JSON.stringify(body.value);
                const reply = await send(`${url}${target}`, {
                  method,
                  headers: {
                    authorization: `Bearer ${world.managementToken}`,
                    "content-type": body.kind === "raw" ? body.type : "application/json",
                  },
                  body: method === "GET" || method === "DELETE" || raw === undefined ? undefined : raw,
                });
                checkApiError(what, reply);
                return;
              }
              // callApi checks the status and body against the OpenAPI document.
              const reply = await withTimeout(
                what,
                callApi(world.server, method, target, {
                  token: world.managementToken,
                  body: method === "GET" || method === "DELETE" ? undefined : body.value,
                }),
              );
              checkApiError(what, {
                status: reply.status,
                headers: reply.headers,
                json: reply.body,
                text: JSON.stringify(reply.body) ?? "",
              });
            }),
            fuzzParameters(numRuns, SEED),
          );
        } catch (error) {
          throw fuzzFailure(`${method} ${template}`, SEED, error);
        }
        if (Date.now() - started > 1500)
          t.diagnostic(`slow: ${method} ${template} ${Date.now() - started} ms`);
      }
      t.diagnostic(`seed ${SEED}, ${operations.length} operations, ${total} runs`);
    });
  });
}
