// Both ends of the tests that run Kinde's Management API client (@kinde/management-api-js,
// unchanged) against Latchkey. The client reads its configuration (KINDE_DOMAIN,
// KINDE_MANAGEMENT_CLIENT_ID, KINDE_MANAGEMENT_CLIENT_SECRET, as its README says) and Node reads
// NODE_EXTRA_CA_CERTS (the test's self-signed certificate: the client forces https://) at start-up,
// so each scenario is a script run in its own process. The script reports each call as one JSON
// line on stdout, {step, ok, value | error} (`step`); the test runs it and reads those lines back
// (`runKindeScript`), checking answers against the schemas the package ships (`assertSdkShape`).
import assert from "node:assert/strict";
import * as kinde from "@kinde/management-api-js";
import { Ajv } from "ajv";
import { runScript } from "./process.js";
import type { TestServer } from "./server.js";
import type { TestCertificate } from "./tls.js";

type Json = Record<string, unknown>;

// The package's .d.ts files use extension-less relative imports NodeNext cannot follow, so what is
// used of it is typed here.
const { ApiError } = kinde as unknown as {
  ApiError: new (...args: never[]) => Error & { status: number; body: unknown };
};

// ---- the script's end ---------------------------------------------------------------------------

/**
 * Runs one client call and prints its line: the value, or the error (the client's ApiError as its
 * HTTP status and body). Never throws, so one refusal does not end the scenario.
 */
export async function step<T>(name: string, work: () => Promise<T>): Promise<T | undefined> {
  try {
    const value = await work();
    process.stdout.write(`${JSON.stringify({ step: name, ok: true, value })}\n`);
    return value;
  } catch (error) {
    const detail = error instanceof ApiError ? { status: error.status, body: error.body } : String(error);
    process.stdout.write(`${JSON.stringify({ step: name, ok: false, error: detail })}\n`);
    return undefined;
  }
}

// ---- the test's end -----------------------------------------------------------------------------

export interface ScriptStep {
  step: string;
  ok: boolean;
  value?: Json;
  error?: { status?: number; body?: Json };
}

export interface KindeScriptRun {
  /** The steps in the order the script ran them. */
  list: ScriptStep[];
  /** The steps by name. */
  steps: Map<string, ScriptStep>;
  output(): string;
  /** A step that succeeded: its value, checked against the SDK's schema `schema` when named. */
  ok(name: string, schema?: string): Json;
  /** A step refused with `status` and Kinde's {errors: [{code, message}]} naming `errorCode`: the message. */
  refused(name: string, status: number, errorCode: string): string;
}

/** Runs `script` with `args` against `server` (over TLS with `certificate`); it must exit 0. */
export async function runKindeScript(
  server: TestServer,
  certificate: TestCertificate,
  script: string,
  args: string[],
): Promise<KindeScriptRun> {
  const run = runScript(
    script,
    {
      env: {
        KINDE_DOMAIN: new URL(server.url).host,
        KINDE_MANAGEMENT_CLIENT_ID: server.management.clientId,
        KINDE_MANAGEMENT_CLIENT_SECRET: server.management.clientSecret,
        NODE_EXTRA_CA_CERTS: certificate.certFile,
      },
    },
    args,
  );
  const { code } = await run.exited;
  assert.equal(code, 0, run.output());
  const list = run
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as ScriptStep);
  const steps = new Map(list.map((s) => [s.step, s]));
  return {
    list,
    steps,
    output: run.output,
    ok(name, schema) {
      const s = steps.get(name);
      assert.ok(s?.ok, `${name}: ${JSON.stringify(s) ?? "never ran"}\n${run.output()}`);
      if (schema) assertSdkShape(schema, s.value);
      return s.value ?? {};
    },
    refused(name, status, errorCode) {
      const s = steps.get(name);
      assert.ok(s && !s.ok, `${name} should have been refused: ${JSON.stringify(s) ?? "never ran"}`);
      assert.equal(s.error?.status, status, `${name}: ${JSON.stringify(s.error)}`);
      assertSdkShape("error_response", s.error?.body);
      const errors = s.error?.body?.errors as { code: string; message: string }[];
      assert.equal(errors[0]?.code, errorCode, `${name}: ${JSON.stringify(s.error?.body)}`);
      return errors[0]!.message;
    },
  };
}

// ---- the SDK's own response schemas --------------------------------------------------------------

let sdk: { schemas: Json; ajv: Ajv } | undefined;

/** The package's schemas (`$connection`, `$get_webhooks_response` …) as one document's components. */
function sdkSchemas(): { schemas: Json; ajv: Ajv } {
  if (!sdk) {
    const schemas = Object.fromEntries(
      Object.entries(kinde as unknown as Json)
        .filter(([name]) => name.startsWith("$"))
        .map(([name, schema]) => [name.slice(1), schema]),
    );
    const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
    ajv.addSchema({ components: { schemas } }, "sdk");
    sdk = { schemas, ajv };
  }
  return sdk;
}

/** The ways `body` breaks the SDK's schema `name`, as "path: message" (none when it conforms). */
export function sdkShapeErrors(name: string, body: unknown): string[] {
  const { schemas, ajv } = sdkSchemas();
  assert.ok(name in schemas, `the SDK has no schema ${name}`);
  const validate = ajv.getSchema(`sdk#/components/schemas/${name}`)!;
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath}: ${e.message}`);
}

export function assertSdkShape(name: string, body: unknown): void {
  assert.deepEqual(sdkShapeErrors(name, body), [], `${name}: ${JSON.stringify(body)}`);
}
