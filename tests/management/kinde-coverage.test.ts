// Issue 19, coverage of Kinde's Management API: which of the operations in Kinde's specification
// (the copy @kinde/management-api-js is generated from) Latchkey serves, computed from Latchkey's own
// OpenAPI document. Every operation not served must be listed below with the reason; an entry for
// an operation that is served now fails too, so the list — and the figure in the README — stay true.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { startTestServer, type TestServer } from "../helpers/server.js";

const KINDE_SPEC =
  process.env.KINDE_SPEC_FILE ??
  fileURLToPath(new URL("../fixtures/kinde-mgmt-api-specs.yaml", import.meta.url));
const METHODS = ["get", "post", "put", "patch", "delete"] as const;

const BILLING = "billing: Latchkey has no plans, agreements or metering";

/** Kinde's operations Latchkey does not serve, and why. */
const NOT_SERVED: Record<string, string> = {
  "GET /api/v1/billing/entitlements": BILLING,
  "GET /api/v1/billing/agreements": BILLING,
  "POST /api/v1/billing/agreements": BILLING,
  "POST /api/v1/billing/meter_usage": BILLING,
};

/** The figure the README states ("serves N of Kinde's M operations"). */
const README_FIGURE = /serves (\d+) of the (\d+)\s+operations in Kinde's Management API/;

type Paths = Record<string, Partial<Record<(typeof METHODS)[number], unknown>>>;
const operationsOf = (paths: Paths) =>
  Object.entries(paths).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method]).map((method) => `${method.toUpperCase()} ${path}`),
  );

describe("coverage of Kinde's Management API", () => {
  let server: TestServer;
  let kinde: string[];
  let served: Set<string>;

  before(async () => {
    kinde = operationsOf((parse(readFileSync(KINDE_SPEC, "utf8")) as { paths: Paths }).paths);
    server = await startTestServer("sqlite");
    const document = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as { paths: Paths };
    served = new Set(operationsOf(document.paths));
  });
  after(async () => server?.close());

  it("serves every operation of Kinde's but those listed, and lists none it serves", () => {
    const missing = kinde.filter((name) => !served.has(name) && !(name in NOT_SERVED));
    assert.deepEqual(missing, [], "Kinde operations neither served nor listed in NOT_SERVED");
    const stale = Object.keys(NOT_SERVED).filter((name) => served.has(name) || !kinde.includes(name));
    assert.deepEqual(stale, [], "NOT_SERVED entries that are served now (or not Kinde's)");
  });

  it("states the figure in the README", () => {
    const readme = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");
    const stated = README_FIGURE.exec(readme);
    assert.ok(stated, "the README states the coverage figure");
    const count = kinde.filter((name) => served.has(name)).length;
    assert.deepEqual([Number(stated[1]), Number(stated[2])], [count, kinde.length]);
  });
});
