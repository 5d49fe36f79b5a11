// GET /metrics (issue 18): off by default; on, behind a bearer token or for loopback clients only;
// scraped in Prometheus's text format, its figures move by exactly the traffic sent: responses by
// route template (no ids in labels), latency histograms, tokens by grant, sign-ins by result, the
// database pool (PostgreSQL), the password-hashing queue and the webhook queue depth.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import { ConfigError, loadConfig } from "../../src/config/config.js";
import { createMetrics, noMetrics } from "../../src/metrics/metrics.js";
import { withPasswordCheckReserved } from "../../src/users/passwords.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

const TOKEN = randomBytes(32).toString("hex");

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The text exposition format (version 0.0.4): one sample per line, `#` lines are metadata. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[pair[1]!] = pair[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample named `name` whose labels are exactly `labels`; 0 when absent. */
function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} appears ${found.length} times`);
  return found[0]?.value ?? 0;
}

async function scrape(server: TestServer): Promise<{ samples: Sample[]; text: string }> {
  const response = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await response.text();
  assert.equal(response.status, 200, text.slice(0, 300));
  return { samples: parseExposition(text), text };
}

function problemsOf(env: Record<string, string>): Map<string, string> {
  try {
    loadConfig({ DATABASE_URL: "sqlite::memory:", ...env });
  } catch (error) {
    assert.ok(error instanceof ConfigError, "expected a ConfigError");
    return new Map(error.problems.map((p) => [p.key, p.problem]));
  }
  assert.fail("configuration was accepted");
}

describe("metrics configuration", () => {
  it("is off by default, and on with or without a token", () => {
    assert.deepEqual(loadConfig({ DATABASE_URL: "sqlite::memory:" }).metrics, { enabled: false });
    assert.deepEqual(loadConfig({ DATABASE_URL: "sqlite::memory:", METRICS: "on" }).metrics, {
      enabled: true,
    });
    assert.deepEqual(
      loadConfig({ DATABASE_URL: "sqlite::memory:", METRICS: "on", METRICS_TOKEN: TOKEN }).metrics,
      { enabled: true, token: TOKEN },
    );
  });

  it("refuses a short token at start-up without repeating it, and other bad values", () => {
    const short = "s3cret-but-only-31-characters-x";
    assert.equal(short.length, 31);
    const problem = problemsOf({ METRICS: "on", METRICS_TOKEN: short }).get("METRICS_TOKEN");
    assert.match(problem ?? "", /must be 32 to 512 characters, got 31/);
    assert.ok(!problem!.includes(short), "the message must not repeat the token");
    assert.match(
      problemsOf({ METRICS: "on", METRICS_TOKEN: `${"a".repeat(32)} b` }).get("METRICS_TOKEN") ?? "",
      /bearer token/,
    );
    assert.match(problemsOf({ METRICS: "yes" }).get("METRICS") ?? "", /on or off/);
    assert.match(problemsOf({ METRICS_TOKEN: TOKEN }).get("METRICS_TOKEN") ?? "", /METRICS is off/);
  });
});

describe("metrics registry", () => {
  it("is a no-op object when off", () => {
    assert.equal(noMetrics.registry, undefined);
    noMetrics.tokenIssued("client_credentials");
    noMetrics.signIn("failure");
    noMetrics.webhookDelivery("success");
  });

  it("keeps each server's figures apart, reads the webhook queue depth and survives its failure", async () => {
    let depth: number | Error = 7;
    const one = createMetrics({
      queueDepth: async () => {
        if (depth instanceof Error) throw depth;
        return depth;
      },
      passwordHashing: () => ({ admitted: 5, concurrency: 2, capacity: 18 }),
    });
    const two = createMetrics();
    one.tokenIssued("client_credentials");
    one.tokenIssued("urn:ietf:params:oauth:grant-type:whatever");
    one.webhookDelivery("failure");
    one.webhookDelivery("failure");
    one.webhookDelivery("success");
    let samples = parseExposition(await one.registry!.metrics());
    assert.equal(
      sampleValue(samples, "latchkey_tokens_issued_total", { grant_type: "client_credentials" }),
      1,
    );
    // A grant type nobody knows does not become a label value of its own.
    assert.equal(sampleValue(samples, "latchkey_tokens_issued_total", { grant_type: "other" }), 1);
    assert.equal(sampleValue(samples, "latchkey_webhook_deliveries_total", { result: "failure" }), 2);
    assert.equal(sampleValue(samples, "latchkey_webhook_deliveries_total", { result: "success" }), 1);
    assert.equal(sampleValue(samples, "latchkey_webhook_queue_depth"), 7);
    assert.equal(sampleValue(samples, "latchkey_password_hash_queue"), 3);
    assert.equal(sampleValue(samples, "latchkey_password_hash_in_flight"), 5);
    assert.equal(sampleValue(samples, "latchkey_password_hash_capacity"), 18);
    // prom-client's default process metrics, on this registry.
    assert.ok(
      samples.some((s) => s.name === "process_cpu_user_seconds_total"),
      "process metrics",
    );
    assert.ok(
      samples.some((s) => s.name === "nodejs_eventloop_lag_seconds"),
      "Node.js metrics",
    );

    const other = parseExposition(await two.registry!.metrics());
    assert.equal(sampleValue(other, "latchkey_tokens_issued_total", { grant_type: "client_credentials" }), 0);
    assert.equal(sampleValue(other, "latchkey_webhook_deliveries_total", { result: "failure" }), 0);

    depth = new Error("database away");
    samples = parseExposition(await one.registry!.metrics());
    assert.equal(sampleValue(samples, "latchkey_webhook_queue_depth"), 7, "keeps its last value");
    assert.equal(
      sampleValue(samples, "latchkey_metrics_collect_errors_total", {
        metric: "latchkey_webhook_queue_depth",
      }),
      1,
    );
  });
});

for (const { kind, skip } of await databaseKinds()) {
  describe(`GET /metrics (${kind})`, { skip }, () => {
    describe("off (the default)", () => {
      let server: TestServer;
      before(async () => {
        server = await startTestServer(kind);
      });
      after(async () => server?.close());

      it("does not exist", async () => {
        assert.equal(server.services.metrics.registry, undefined);
        for (const authorization of [undefined, `Bearer ${TOKEN}`]) {
          const response = await fetch(`${server.url}/metrics`, {
            headers: authorization ? { authorization } : {},
          });
          assert.equal(response.status, 404);
          assert.equal(((await response.json()) as { error: string }).error, "not_found");
        }
      });
    });

    describe("on, with a bearer token", () => {
      let server: TestServer;
      before(async () => {
        server = await startTestServer(kind, { env: { METRICS: "on", METRICS_TOKEN: TOKEN } });
      });
      after(async () => server?.close());

      it("answers 401 without the token or with a wrong one, 200 with it", async () => {
        const url = `${server.url}/metrics`;
        const none = await fetch(url);
        assert.equal(none.status, 401);
        assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="metrics"');
        assert.equal(((await none.json()) as { error: string }).error, "unauthorized");
        for (const authorization of [
          `Bearer ${TOKEN.slice(0, -1)}x`,
          `Bearer ${TOKEN}x`,
          `Basic ${Buffer.from(`metrics:${TOKEN}`).toString("base64")}`,
          `Bearer ${"a".repeat(5000)}`,
          "Bearer",
        ]) {
          const wrong = await fetch(url, { headers: { authorization } });
          assert.equal(wrong.status, 401, authorization.slice(0, 20));
          assert.match(wrong.headers.get("www-authenticate") ?? "", /error="invalid_token"/);
          const body = await wrong.text();
          assert.ok(!body.includes("latchkey_"), "no figures without the token");
        }
        // RFC 9110 §11.1: the scheme is case-insensitive.
        const right = await fetch(url, { headers: { authorization: `bearer ${TOKEN}` } });
        assert.equal(right.status, 200);
        assert.equal(right.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
        assert.equal(right.headers.get("cache-control"), "no-store");
        assert.ok(parseExposition(await right.text()).length > 0, "samples served");
        // The token never reaches the log (the Authorization header is redacted).
        assert.ok(!server.logs.text.includes(TOKEN), "the token was logged");
      });

      it("moves by exactly the traffic sent", async () => {
        const m2m = await createApplication(server, "m2m");
        const spa = await createApplication(server, "spa");
        const user = await createUser(server);
        const api = await managementToken(server);
        const before = (await scrape(server)).samples;

        // Two client_credentials tokens.
        for (let i = 0; i < 2; i++) {
          const response = await fetch(`${server.url}/oauth2/token`, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({
              grant_type: "client_credentials",
              client_id: m2m.clientId,
              client_secret: m2m.clientSecret!,
            }),
          });
          assert.equal(response.status, 200, await response.text());
        }
        // A refused token request is not a token issued.
        const refused = await fetch(`${server.url}/oauth2/token`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            grant_type: "client_credentials",
            client_id: m2m.clientId,
            client_secret: "wrong",
          }),
        });
        assert.equal(refused.status, 401);
        await refused.arrayBuffer();

        // A failed sign-in, then a successful one, on the hosted page.
        const browser = new UserAgent(server.url);
        const next = await browser.redirectFrom(authorizationUrl(server, spa.clientId, CALLBACK));
        const form = await browser.openForm(new URL(`/auth/sign-in${next.search}`, server.url));
        const failed = await browser.postForm("/auth/sign-in", {
          ...form,
          email: user.email,
          password: "not the password",
        });
        assert.equal(failed.status, 401);
        await failed.arrayBuffer();
        const signedIn = await browser.postForm("/auth/sign-in", {
          ...form,
          email: user.email,
          password: user.password,
        });
        assert.equal(signedIn.status, 303, await signedIn.text());

        // Three calls to a route with an id in its path, and one to no route at all.
        for (let i = 0; i < 3; i++) {
          const response = await fetch(`${server.url}/api/v1/users/${user.id}/refresh_claims`, {
            method: "POST",
            headers: { authorization: `Bearer ${api}` },
          });
          assert.equal(response.status, 200, await response.text());
        }
        const secretish = `kp_${randomBytes(16).toString("hex")}`;
        const missing = await fetch(`${server.url}/no-such-path/${secretish}?code=${secretish}`);
        assert.equal(missing.status, 404);
        await missing.arrayBuffer();

        const { samples: now, text } = await scrape(server);
        const moved = (name: string, labels: Record<string, string>) =>
          sampleValue(now, name, labels) - sampleValue(before, name, labels);

        assert.equal(moved("latchkey_tokens_issued_total", { grant_type: "client_credentials" }), 2);
        assert.equal(moved("latchkey_tokens_issued_total", { grant_type: "authorization_code" }), 0);
        assert.equal(moved("latchkey_sign_ins_total", { result: "failure" }), 1);
        assert.equal(moved("latchkey_sign_ins_total", { result: "success" }), 1);

        const requests = "latchkey_http_requests_total";
        assert.equal(moved(requests, { route: "/oauth2/token", method: "POST", status: "200" }), 2);
        assert.equal(moved(requests, { route: "/oauth2/token", method: "POST", status: "401" }), 1);
        assert.equal(moved(requests, { route: "/auth/sign-in", method: "POST", status: "401" }), 1);
        assert.equal(moved(requests, { route: "/auth/sign-in", method: "POST", status: "303" }), 1);
        assert.equal(moved(requests, { route: "/auth/sign-in", method: "GET", status: "200" }), 1);
        const refresh = "/api/v1/users/:user_id/refresh_claims";
        assert.equal(moved(requests, { route: refresh, method: "POST", status: "200" }), 3);
        assert.equal(moved(requests, { route: "unmatched", method: "GET", status: "404" }), 1);
        // The scrape before this one is counted too (its response was sent before this scrape).
        assert.equal(moved(requests, { route: "/metrics", method: "GET", status: "200" }), 1);

        const histogram = "latchkey_http_request_duration_seconds";
        assert.equal(moved(`${histogram}_count`, { route: refresh, method: "POST" }), 3);
        assert.equal(moved(`${histogram}_bucket`, { route: refresh, method: "POST", le: "+Inf" }), 3);
        assert.ok(moved(`${histogram}_sum`, { route: refresh, method: "POST" }) > 0, "latency summed");
        assert.equal(moved(`${histogram}_count`, { route: "/oauth2/token", method: "POST" }), 3);

        // No id, code or path of a request in any label: only templates.
        assert.ok(!text.includes(user.id), "a user id in a label");
        assert.ok(!text.includes(secretish), "a raw path in a label");
        for (const sample of now.filter((s) => s.name === requests))
          assert.ok(
            sample.labels.route === "unmatched" || !/kp_|[0-9a-f]{32}/.test(sample.labels.route!),
            sample.labels.route,
          );

        // Nothing hashing now; a capacity as configured.
        assert.equal(sampleValue(now, "latchkey_password_hash_queue"), 0);
        assert.ok(sampleValue(now, "latchkey_password_hash_capacity") >= 1, "a hashing capacity");
        assert.equal(sampleValue(now, "latchkey_webhook_queue_depth"), 0);
        if (kind === "postgres") {
          // The test helper's pool (poolSize 5), idle between requests.
          assert.equal(sampleValue(now, "latchkey_db_pool_connections", { state: "max" }), 5);
          const idle = sampleValue(now, "latchkey_db_pool_connections", { state: "idle" });
          assert.ok(idle >= 1 && idle <= 5, `idle ${idle}`);
          assert.equal(sampleValue(now, "latchkey_db_pool_waiting"), 0);
        } else {
          assert.ok(!now.some((s) => s.name.startsWith("latchkey_db_pool")), "SQLite has no pool");
        }
      });
    });

    describe("on: the gauges read live state", () => {
      let server: TestServer;
      before(async () => {
        server = await startTestServer(kind, { env: { METRICS: "on", METRICS_TOKEN: TOKEN } });
      });
      after(async () => server?.close());

      it("counts a password check in flight while it holds its place", async () => {
        const inFlight = async () =>
          sampleValue((await scrape(server)).samples, "latchkey_password_hash_in_flight");
        assert.equal(await inFlight(), 0);
        await withPasswordCheckReserved(async () => {
          assert.equal(await inFlight(), 1);
        });
        assert.equal(await inFlight(), 0);
      });

      // SQLite has no pool (the sqlite variant asserts no pool gauge is exported).
      const postgresOnly = kind === "postgres" ? it : () => {};
      postgresOnly("shows the PostgreSQL pool exhausted while every connection is held", async () => {
        // The helper's pool has 5 connections: 5 transactions hold them, a sixth query waits.
        let release!: () => void;
        const gate = new Promise<void>((resolve) => {
          release = resolve;
        });
        const held = Array.from({ length: 5 }, () =>
          server.storage.db.transaction().execute(async (trx) => {
            await sql`select 1`.execute(trx);
            await gate;
          }),
        );
        const waiting = sql`select 1`.execute(server.storage.db);
        // Background work (the webhook worker, the authentication log) may queue behind them too.
        const until = async (done: (samples: Sample[]) => boolean) => {
          let samples: Sample[] = [];
          for (let i = 0; i < 100 && !done(samples); i++) {
            if (i > 0) await new Promise((resolve) => setTimeout(resolve, 20));
            samples = (await scrape(server)).samples;
          }
          return samples;
        };
        try {
          const exhausted = await until((s) => sampleValue(s, "latchkey_db_pool_waiting") >= 1);
          assert.ok(sampleValue(exhausted, "latchkey_db_pool_waiting") >= 1, "a query waits");
          assert.equal(sampleValue(exhausted, "latchkey_db_pool_connections", { state: "in_use" }), 5);
          assert.equal(sampleValue(exhausted, "latchkey_db_pool_connections", { state: "idle" }), 0);
        } finally {
          release();
          await Promise.all([...held, waiting]);
        }
        const released = await until((s) => s.length > 0 && sampleValue(s, "latchkey_db_pool_waiting") === 0);
        assert.equal(sampleValue(released, "latchkey_db_pool_waiting"), 0);
        assert.ok(
          sampleValue(released, "latchkey_db_pool_connections", { state: "idle" }) >= 1,
          "connections idle again",
        );
      });
    });

    describe("on, without a token: loopback clients only", () => {
      let server: TestServer;
      before(async () => {
        server = await startTestServer(kind, { env: { METRICS: "on", TRUST_PROXY: "true" } });
      });
      after(async () => server?.close());

      it("serves this machine and refuses anyone else, forwarded requests included", async () => {
        const local = await fetch(`${server.url}/metrics`);
        assert.equal(local.status, 200);
        const served = parseExposition(await local.text());
        assert.ok(
          served.some((s) => s.name === "latchkey_tokens_issued_total"),
          "the exposition is served",
        );

        // Another machine (TRUST_PROXY=true would even believe its X-Forwarded-For).
        const remote = await server.app.inject({
          method: "GET",
          url: "/metrics",
          remoteAddress: "203.0.113.9",
          headers: { "x-forwarded-for": "127.0.0.1" },
        });
        assert.equal(remote.statusCode, 403);
        assert.equal(remote.json().error, "forbidden");
        assert.ok(!remote.body.includes("latchkey_"), "no figures for another machine");

        // A reverse proxy on this machine, passing on someone else's request.
        for (const [name, value] of [
          ["x-forwarded-for", "203.0.113.9"],
          ["forwarded", "for=203.0.113.9"],
          ["x-real-ip", "203.0.113.9"],
        ] as const) {
          const headers = { [name]: value };
          const proxied = await fetch(`${server.url}/metrics`, { headers });
          assert.equal(proxied.status, 403, JSON.stringify(headers));
          await proxied.arrayBuffer();
        }
        // IPv4-mapped loopback is loopback.
        const mapped = await server.app.inject({
          method: "GET",
          url: "/metrics",
          remoteAddress: "::ffff:127.0.0.1",
        });
        assert.equal(mapped.statusCode, 200);
      });
    });
  });
}
