// Shared pieces of the reliability suite: hostile inputs for fast-check, requests with a hard
// timeout (a hang is a failure, not a stuck suite), and one checker per surface that says what a
// well-formed answer looks like in that surface's own vocabulary; and the crash harnesses' server,
// killed and restarted under load (crash, mail-crash and webhook-crash).
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { randomAlphanumeric } from "../../src/crypto/random.js";
import { createLogger } from "../../src/logging.js";
import { openStorage, type Storage } from "../../src/storage/database.js";
import type { TestDatabase } from "../helpers/databases.js";
import { type CliProcess, runCli } from "../helpers/process.js";
import { freePort, LogCapture } from "../helpers/server.js";

/** Any single request taking longer than this counts as a hang. */
export const REQUEST_TIMEOUT_MS = 10_000;

/**
 * The seed of every property in a run: fixed by default so CI is reproducible, FUZZ_SEED=<n> to
 * replay a reported failure, FUZZ_SEED=random to explore.
 */
export function fuzzSeed(): number {
  const raw = process.env.FUZZ_SEED;
  if (raw === "random") return Math.floor(Math.random() * 2 ** 31);
  if (raw && /^-?\d+$/.test(raw)) return Number(raw);
  return 20_261_122;
}

/** A fast-check failure, shortened (hostile inputs can be kilobytes long), with its cause first. */
export function fuzzFailure(where: string, seed: number, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : "";
  const clip = (text: string) =>
    text.replace(/(.)\1{40,}/gs, (run, c: string) => `${c}…(×${run.length})`).slice(0, 2500);
  return new Error(
    `fuzz failure on ${where} (replay with FUZZ_SEED=${seed}):\n${clip(cause)}\n---\n${clip(message)}`,
  );
}

/** fast-check parameters: bounded, seeded, no shrinking unless asked (each run costs requests). */
export function fuzzParameters(numRuns: number, seed = fuzzSeed()): fc.Parameters<unknown> {
  return { numRuns, seed, endOnFailure: process.env.FUZZ_SHRINK !== "1" };
}

// ---- hostile strings ----------------------------------------------------------------------------

export const INJECTIONS: readonly string[] = [
  "' OR '1'='1",
  "'; DROP TABLE users; --",
  '" OR 1=1 --',
  "1); SELECT pg_sleep(30); --",
  "1' AND randomblob(1000000000) --",
  "<script>alert(1)</script>",
  '"><img src=x onerror=alert(1)>',
  "javascript:alert(1)",
  "{{7*7}}",
  "$" + "{7*7}",
  "#{7*7}",
  "../../../../etc/passwd",
  "..%2f..%2fetc%2fpasswd",
  "%00",
  "%",
  "%zz",
  "%E0%A4%A",
  "\u0000",
  "a\u0000b",
  "\r\nSet-Cookie: pwned=1",
  "\r\n\r\nHTTP/1.1 200 OK",
  "\u202e\u202d",
  "\ufeff",
  "\ud800",
  "\udfff",
  "😀👩‍👩‍👧‍👦",
  "ｅｘａｍｐｌｅ＠ｅｘａｍｐｌｅ．ｃｏｍ",
  "ǅ\u0301\u0308",
  "null",
  "undefined",
  "true",
  "0",
  "-1",
  "1e309",
  "NaN",
  "9007199254740993",
  "[]",
  "{}",
  '{"$gt":""}',
  "__proto__",
  "constructor",
  "prototype",
  "http://evil.example/",
  "//evil.example",
  "https://localhost:8080@evil.example/callback",
  "http://localhost:8080/callback/../evil",
  "http://localhost:8080/callback#frag",
  "http://127.0.0.1:1/",
  "file:///etc/passwd",
  "data:text/html,<script>alert(1)</script>",
  " ",
  "\t",
  "",
  "a".repeat(4097),
  "é".repeat(3000),
];

const controlChars = fc.string({
  unit: fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)),
  minLength: 1,
  maxLength: 8,
});

/** Hostile text: injections, any Unicode (lone surrogates included), control characters, huge. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...INJECTIONS) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: controlChars },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 6000 }).map((n) => "x".repeat(n)) },
);

/** Parameter names: hostile ones and prototype-pollution shapes. */
export const nastyKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "a[b]", "x[]", "__proto__[admin]", "", "%", "\u0000", "é"),
  fc.string({ maxLength: 12 }),
);

/** A real value most of the time, a hostile one otherwise. */
export function mostly(real: readonly string[], weight = 3): fc.Arbitrary<string> {
  if (real.length === 0) return nastyString;
  return fc.oneof({ weight, arbitrary: fc.constantFrom(...real) }, { weight: 1, arbitrary: nastyString });
}

/**
 * Name/value pairs for a query string or form: mostly the endpoint's own parameters (with real
 * or hostile values), sometimes unknown names; a name drawn twice is a duplicated parameter.
 */
export function pairs(
  spec: Readonly<Record<string, fc.Arbitrary<string>>>,
  maxLength = 10,
): fc.Arbitrary<[string, string][]> {
  const known = Object.entries(spec).map(([name, value]) =>
    fc.tuple(
      fc.constant(name),
      fc.oneof({ weight: 4, arbitrary: value }, { weight: 1, arbitrary: nastyString }),
    ),
  );
  const entry =
    known.length > 0
      ? fc.oneof(
          { weight: 8, arbitrary: fc.oneof(...known) },
          { weight: 1, arbitrary: fc.tuple(nastyKey, nastyString) },
        )
      : fc.tuple(nastyKey, nastyString);
  return fc.array(entry, { maxLength });
}

/** Raw text appended to an encoded query or form: broken percent-encoding and separators. */
export const rawTail: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constant("") },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "&%zz=1",
      "&a=%E0%A4%A",
      "&&&==&",
      "&=",
      "&a",
      "&a[b][c]=1",
      "&%00=%00",
      "&%ED%A0%80=1",
    ),
  },
);

export function encodePairs(list: readonly [string, string][], tail = ""): string {
  const params = new URLSearchParams();
  for (const [name, value] of list) params.append(name, value);
  return params.toString() + tail;
}

// ---- requests with a timeout --------------------------------------------------------------------

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/** One request, redirects not followed; a request slower than REQUEST_TIMEOUT_MS throws (a hang). */
export async function send(url: string | URL, init: RequestInit = {}): Promise<Reply> {
  let response: Response;
  try {
    response = await fetch(url, {
      ...init,
      redirect: "manual",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw new Error(`${init.method ?? "GET"} ${String(url).slice(0, 200)} failed or hung: ${String(error)}`);
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Races `work` against the request timeout, for helpers that take no AbortSignal. */
export async function withTimeout<T>(what: string, work: Promise<T>, ms = REQUEST_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} hung for more than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---- what each surface must answer --------------------------------------------------------------

const STACK_TRACE = /\bat [^\n]+\.(?:ts|js|mjs):\d+/;
/** RFC 6749 §5.2: error and error_description use %x20-21 / %x23-5B / %x5D-7E only. */
export const ERROR_CHARSET = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
export const OAUTH_ERRORS = new Set([
  "invalid_request",
  "invalid_client",
  "invalid_grant",
  "unauthorized_client",
  "unsupported_grant_type",
  "invalid_scope",
  "invalid_target",
  "invalid_token",
  "insufficient_scope",
  "unsupported_token_type",
  "not_found",
]);

function describeReply(what: string, reply: Reply): string {
  return `${what} → ${reply.status} ${reply.headers.get("content-type") ?? ""} ${reply.text.slice(0, 300)}`;
}

/**
 * Node's HTTP parser refuses request heads over 16 KiB (a long query string) with 431 before any
 * route runs, so no surface can answer in its own vocabulary: accepted as a transport refusal.
 */
export function isTransportRefusal(reply: Reply): boolean {
  return reply.status === 431;
}

function common(what: string, reply: Reply): boolean {
  assert.ok(reply.status < 500, `5xx: ${describeReply(what, reply)}`);
  assert.doesNotMatch(reply.text, STACK_TRACE, `stack trace on the wire: ${describeReply(what, reply)}`);
  return !isTransportRefusal(reply);
}

/** RFC 6749 §5.2 JSON errors (token, revoke, introspect, user_profile). */
export function checkOAuthJson(what: string, reply: Reply, okStatuses: readonly number[] = [200]): void {
  if (!common(what, reply) || okStatuses.includes(reply.status)) return;
  assert.ok(reply.status >= 400, `unexpected status: ${describeReply(what, reply)}`);
  assert.match(reply.headers.get("content-type") ?? "", /^application\/json/, describeReply(what, reply));
  const body = reply.json as { error?: unknown; error_description?: unknown } | undefined;
  assert.ok(body && typeof body.error === "string", `no error code: ${describeReply(what, reply)}`);
  assert.ok(OAUTH_ERRORS.has(body.error), `not an OAuth error code: ${describeReply(what, reply)}`);
  if (body.error_description !== undefined) {
    assert.equal(typeof body.error_description, "string", describeReply(what, reply));
    assert.match(
      body.error_description as string,
      ERROR_CHARSET,
      `error_description charset: ${describeReply(what, reply)}`,
    );
  }
  for (const leaked of ["access_token", "refresh_token", "id_token"]) {
    assert.equal(
      (body as Record<string, unknown>)[leaked],
      undefined,
      `token in an error: ${describeReply(what, reply)}`,
    );
  }
}

/** Browser endpoints: an HTML page, or a redirect with a Location. */
export function checkPage(what: string, reply: Reply): void {
  if (!common(what, reply)) return;
  if (reply.status >= 300 && reply.status < 400) {
    const location = reply.headers.get("location");
    assert.ok(location, `redirect without Location: ${describeReply(what, reply)}`);
    assert.doesNotMatch(location, /[\r\n]/, `header injection: ${describeReply(what, reply)}`);
    return;
  }
  assert.ok(reply.status === 200 || reply.status >= 400, `unexpected status: ${describeReply(what, reply)}`);
  assert.match(
    reply.headers.get("content-type") ?? "",
    /^text\/html/,
    `not an HTML page: ${describeReply(what, reply)}`,
  );
  // Echoed input must be escaped: no live markup from our injections.
  assert.doesNotMatch(
    reply.text,
    /<script>alert\(1\)|<img src=x onerror/i,
    `unescaped input: ${describeReply(what, reply)}`,
  );
}

/** An error redirect to a client carries `error` (and `iss`, RFC 9207) in the query. */
export function checkClientRedirect(what: string, location: URL): void {
  const error = location.searchParams.get("error");
  const code = location.searchParams.get("code");
  assert.ok(error || code, `redirect to the client without code or error: ${what} → ${location.href}`);
  if (error) assert.match(error, /^[a-z_]+$/, `${what} → ${location.href}`);
}

/** Kinde's Management API error shape: `errors` an array of {code, message} (an object on 404 routes). */
export function checkApiError(what: string, reply: Reply): void {
  if (!common(what, reply) || reply.status < 400) return;
  assert.match(reply.headers.get("content-type") ?? "", /^application\/json/, describeReply(what, reply));
  const body = reply.json as { errors?: unknown } | undefined;
  const errors = Array.isArray(body?.errors) ? body.errors : body?.errors ? [body.errors] : [];
  assert.ok(errors.length > 0, `no errors: ${describeReply(what, reply)}`);
  for (const error of errors as { code?: unknown; message?: unknown }[]) {
    assert.match(String(error.code), /^[A-Z_]+$/, describeReply(what, reply));
    assert.equal(typeof error.message, "string", describeReply(what, reply));
  }
}

// ---- small protocol helpers ---------------------------------------------------------------------

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

export function basic(id: string, secret: string): string {
  const enc = (v: string) => encodeURIComponent(v).replace(/%20/g, "+");
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString("base64")}`;
}

export function form(fields: Record<string, string> | [string, string][]): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  };
}

// ---- crash harnesses ----------------------------------------------------------------------------

/** mulberry32: a small seeded PRNG, so a failing schedule can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Polls readiness until 200; fails if the process exits first or after `timeoutMs`. */
export async function waitReady(child: CliProcess, readyUrl: string, timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (child.child.exitCode !== null || child.child.signalCode !== null) {
      throw new Error(`the server exited before it was ready:\n${child.output()}`);
    }
    const status = await fetch(readyUrl).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() - started > timeoutMs)
      throw new Error(`not ready after ${timeoutMs} ms:\n${child.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Resolves once `check` holds (every 50 ms), or fails with `what` after `timeoutMs`. */
export async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The server died under the request (or before it): whether its effect happened is unknown. */
export class Unanswered extends Error {}

/**
 * The harness's own view of the database a crash test's server uses (to inspect outboxes and to
 * expire the leases a killed process left), through the same storage layer.
 */
export function openInspector(database: TestDatabase): Promise<Storage> {
  return openStorage(database.target, { logger: createLogger("warn", new LogCapture()) });
}

/**
 * A real `latchkey start` child process on `database` that a crash harness (this process, never
 * killed) starts, kills with SIGKILL in the middle of a burst and starts again, on the same
 * database, data directory, port, master key and bootstrap M2M application, so everything the dead
 * process committed is the restarted one's.
 */
export class CrashServer {
  readonly url: string;
  /** The bootstrap M2M application: a client_credentials grant for the Management API. */
  readonly m2m = { clientId: randomBytes(16).toString("hex"), clientSecret: randomAlphanumeric(52) };
  private readonly env: Record<string, string>;
  private readonly children: CliProcess[] = [];
  private current: CliProcess | undefined;

  private constructor(
    database: TestDatabase,
    port: number,
    private readonly dataDir: string,
    extraEnv: Record<string, string>,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.env = {
      PORT: String(port),
      HOST: "127.0.0.1",
      ISSUER_URL: this.url,
      DATABASE_URL:
        database.target.kind === "sqlite" ? `sqlite:${database.target.path}` : database.target.url,
      DATA_DIR: dataDir,
      LATCHKEY_MASTER_KEY: randomBytes(32).toString("base64"),
      BOOTSTRAP_M2M_CLIENT_ID: this.m2m.clientId,
      BOOTSTRAP_M2M_CLIENT_SECRET: this.m2m.clientSecret,
      LOG_LEVEL: "warn",
      ...extraEnv,
    };
  }

  /** Not started yet: `extraEnv` adds to (or overrides) the environment every incarnation gets. */
  static async create(database: TestDatabase, extraEnv: Record<string, string>): Promise<CrashServer> {
    const dataDir = mkdtempSync(path.join(tmpdir(), "latchkey-crash-"));
    return new CrashServer(database, await freePort(), dataDir, extraEnv);
  }

  /** Starts an incarnation and waits until it is ready. */
  async start(): Promise<void> {
    const child = runCli(["start"], { env: this.env });
    this.children.push(child);
    this.current = child;
    await waitReady(child, `${this.url}/health/ready`);
  }

  /** A Management API token (it outlives the kills: the signing keys are in the database). */
  async managementToken(): Promise<string> {
    const reply = await send(
      `${this.url}/oauth2/token`,
      form({
        grant_type: "client_credentials",
        client_id: this.m2m.clientId,
        client_secret: this.m2m.clientSecret,
        audience: `${this.url}/api`,
      }),
    );
    assert.equal(reply.status, 200, reply.text);
    return (reply.json as { access_token: string }).access_token;
  }

  /**
   * One round: `concurrency` workers each run `step` again and again; after `ms` the harness stops
   * issuing and kills the server with SIGKILL while requests are in flight. Resolves with the kill
   * time once the process has exited and every worker has finished its step. A step that throws
   * Unanswered after the kill is what the kill does; before it, the server failed to answer while
   * up (`unansweredWhileUp`). Any other error fails the test.
   */
  async burstThenKill(options: {
    concurrency: number;
    ms: number;
    step: (running: () => boolean) => Promise<void>;
    unansweredWhileUp: (error: Unanswered) => void;
  }): Promise<number> {
    const server = this.running();
    let running = true;
    const isRunning = () => running;
    const worker = async () => {
      while (running) {
        try {
          await options.step(isRunning);
        } catch (error) {
          if (!(error instanceof Unanswered)) throw error;
          if (running) options.unansweredWhileUp(error);
        }
      }
    };
    const workers = Array.from({ length: options.concurrency }, worker);
    await new Promise((resolve) => setTimeout(resolve, options.ms));
    running = false;
    const killedAt = Date.now();
    server.kill("SIGKILL");
    await server.exited;
    await Promise.all(workers);
    return killedAt;
  }

  /** A graceful stop (SIGTERM) of the running incarnation; resolves with how it exited. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const server = this.running();
    server.kill("SIGTERM");
    return server.exited;
  }

  /** For `after`: kills whatever still runs and removes the data directory. */
  dispose(): void {
    for (const child of this.children) child.kill("SIGKILL");
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private running(): CliProcess {
    assert.ok(this.current, "the server was started");
    return this.current;
  }
}
