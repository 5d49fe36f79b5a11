// Idempotency-Key on Management API POSTs: recorded responses are sealed (no client secret in the
// table) yet replay byte for byte, also after a master-key rotation; routes that call a provider run
// with no transaction open, so a slow provider blocks no other write; concurrent retries of such a
// request get 409 + Retry-After, an abandoned claim is taken over, a failure frees its key; and a
// local handler's transaction never outlives its request (client gone, time limit, outbound call).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, get as httpGet, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import Fastify, { type FastifyInstance } from "fastify";
import { sql } from "kysely";
import { resealAll } from "../../src/crypto/reseal.js";
import { SecretBox } from "../../src/crypto/secret-box.js";
import { registerErrorHandling } from "../../src/http/errors.js";
import { createLogger } from "../../src/logging.js";
import { CLAIM_TIMEOUT_SECONDS, registerIdempotency } from "../../src/management/idempotency.js";
import { databaseKinds } from "../helpers/databases.js";
import { createUser } from "../helpers/fixtures.js";
import { type ApiResponse, callApi, managementToken } from "../helpers/management.js";
import { LogCapture, startSecondInstance, startTestServer, type TestServer } from "../helpers/server.js";

type Errors = { errors: { code: string; message: string }[] };
type AppCreated = { application: { id: string; client_secret: string | null } };

const unique = () => randomBytes(5).toString("hex");
const errorCode = (response: ApiResponse) => (response.body as unknown as Errors).errors?.[0]?.code;
const OUTBOUND_CAUGHT = "outbound HTTP request inside an Idempotency-Key transaction";

/** Polls until `check` holds, failing (not hanging) after `ms`. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Rejects when `promise` takes longer than `ms`: a blocked database shows as a failure, not a hang. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A provider whose discovery document and revocation endpoint can be held back: while `hold` is on,
 * each request waits until release() (or `autoReleaseMs`, so a regression fails instead of hanging).
 */
interface SlowProvider {
  origin: string;
  hold: boolean;
  failDiscovery: boolean;
  /** Requests being held right now. */
  waiting: number;
  requests: string[];
  release(): void;
  close(): Promise<void>;
}

async function startSlowProvider(autoReleaseMs = 5_000): Promise<SlowProvider> {
  const gates: (() => void)[] = [];
  let server: Server | undefined;
  const provider: SlowProvider = {
    origin: "",
    hold: false,
    failDiscovery: false,
    waiting: 0,
    requests: [],
    release() {
      for (const open of gates.splice(0)) open();
    },
    async close() {
      provider.release();
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
    },
  };
  server = createServer(async (request, response) => {
    for await (const _ of request) {
      // Drain the body.
    }
    const path = new URL(request.url ?? "/", "http://x").pathname;
    provider.requests.push(path);
    if (provider.hold) {
      provider.waiting++;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, autoReleaseMs);
        gates.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      provider.waiting--;
    }
    if (path === "/.well-known/openid-configuration" && !provider.failDiscovery) {
      response.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          issuer: provider.origin,
          authorization_endpoint: `${provider.origin}/authorize`,
          token_endpoint: `${provider.origin}/token`,
          revocation_endpoint: `${provider.origin}/revoke`,
        }),
      );
    } else if (path === "/revoke") {
      response.writeHead(200).end();
    } else {
      response.writeHead(500).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no address");
  provider.origin = `http://127.0.0.1:${address.port}`;
  return provider;
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`Idempotency-Key records and outbound calls (${kind})`, { skip }, () => {
    let server: TestServer;
    let provider: SlowProvider;
    let token: string;
    let now = Math.floor(Date.now() / 1000);

    before(async () => {
      provider = await startSlowProvider();
      server = await startTestServer(kind, {
        clock: { now: () => now },
        env: { CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS: "true" },
      });
      token = await managementToken(server);
    });
    after(async () => {
      await server?.close();
      await provider?.close();
    });

    const post = <T = Record<string, unknown>>(path: string, body: unknown, key?: string) =>
      callApi<T>(server, "POST", path, {
        token,
        body,
        headers: key === undefined ? {} : { "idempotency-key": key },
      });
    const connectedApp = (keyCodeRef: string) => ({
      key_code_ref: keyCodeRef,
      provider: "oauth2",
      client_id: "provider-client",
      client_secret: `provider-secret-${unique()}`,
      callback_url: "https://app.example.com/connected",
      settings: { issuer: provider.origin },
    });
    const discoveries = () =>
      provider.requests.filter((p) => p === "/.well-known/openid-configuration").length;
    const revocations = () => provider.requests.filter((p) => p === "/revoke").length;
    const records = () => server.storage.db.selectFrom("idempotency_keys").selectAll().execute();
    const recordOf = (key: string) =>
      server.storage.db.selectFrom("idempotency_keys").selectAll().where("key", "=", key).executeTakeFirst();

    it("keeps no client secret readable in the table, yet replays the same secret", async () => {
      const createKey = `create-${unique()}`;
      const body = { name: `Sealed ${unique()}`, type: "reg" };
      const created = await post<AppCreated>("/api/v1/applications", body, createKey);
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const secret = created.body.application.client_secret!;
      assert.ok(secret.length >= 32);
      const replayed = await post<AppCreated>("/api/v1/applications", body, createKey);
      assert.equal(replayed.status, 201);
      assert.deepEqual(replayed.body, created.body, "the identical body, secret included");
      assert.equal(replayed.headers.get("idempotent-replayed"), "true");

      const appId = created.body.application.id;
      const rotateKey = `rotate-${unique()}`;
      const rotate = () =>
        post<AppCreated>(`/api/v1/applications/${appId}/rotate_secret`, undefined, rotateKey);
      const rotated = await rotate();
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      const newSecret = rotated.body.application.client_secret!;
      assert.notEqual(newSecret, secret);
      const again = await rotate();
      assert.deepEqual(again.body, rotated.body);
      assert.equal(again.status, 200);
      assert.equal(again.headers.get("idempotent-replayed"), "true");
      const app = (await server.services.applications.store.list()).find((a) => a.id === appId)!;
      assert.equal(server.services.applications.revealSecret(app), newSecret, "rotated once, not twice");

      const raw = JSON.stringify(await records());
      assert.ok(!raw.includes(secret), "the created secret is not stored readable");
      assert.ok(!raw.includes(newSecret), "the rotated secret is not stored readable");
      for (const key of [createKey, rotateKey]) {
        const record = (await recordOf(key))!;
        assert.match(record.response_body_sealed ?? "", /^v1\./, "sealed with the master key");
        assert.equal(record.lock_token, null);
      }
      // A sealed body only opens in its own row (the AAD names caller and key).
      const sealed = (await recordOf(createKey))!.response_body_sealed!;
      await server.storage.db
        .updateTable("idempotency_keys")
        .set({ response_body_sealed: sealed })
        .where("key", "=", rotateKey)
        .execute();
      assert.equal((await rotate()).status, 500, "a body moved to another row does not open");
    });

    it("keeps other writes flowing while keyed creates wait on a slow provider", async () => {
      // More slow requests than the PostgreSQL pool has connections (5): were any of them holding
      // a transaction, the writes below would wait for the provider.
      provider.hold = true;
      const finished: boolean[] = [];
      const slow = Array.from({ length: 6 }, (_, i) => {
        const ref = `slow-${i}-${unique()}`;
        return post("/api/v1/connected_apps", connectedApp(ref), `slow-${ref}`).then((r) => {
          finished[i] = true;
          return r;
        });
      });
      try {
        await until(() => provider.waiting === 6, 4_000, "six discovery requests at the provider");
        const keyedWrite = await post(
          "/api/v1/apis",
          { name: "Meanwhile", audience: `https://meanwhile-${unique()}.example.com` },
          `api-${unique()}`,
        );
        const plainWrite = await post("/api/v1/user", { profile: { given_name: "Meanwhile" } });
        assert.equal(keyedWrite.status, 200, JSON.stringify(keyedWrite.body));
        assert.equal(plainWrite.status, 200, JSON.stringify(plainWrite.body));
        // Ordering, not a clock: both writes were answered while the slow creates were still held.
        assert.equal(finished.filter(Boolean).length, 0, "the slow creates were still at the provider");
        assert.equal(provider.waiting, 6);
        const claims = (await records()).filter((r) => r.key.startsWith("slow-"));
        assert.equal(claims.length, 6, "each slow create holds a committed claim");
        assert.ok(claims.every((r) => r.status_code === 0 && r.lock_token && !r.response_body_sealed));
      } finally {
        provider.hold = false;
        provider.release();
      }
      for (const response of await Promise.all(slow)) {
        assert.equal(response.status, 201, JSON.stringify(response.body));
      }
    });

    it("answers a concurrent retry 409 with Retry-After, then replays the finished response", async () => {
      const ref = `race-${unique()}`;
      const key = `race-${unique()}`;
      const body = connectedApp(ref);
      const discoveriesBefore = discoveries();
      provider.hold = true;
      const first = post("/api/v1/connected_apps", body, key);
      let firstResponse: ApiResponse;
      try {
        await until(() => provider.waiting === 1, 4_000, "the first request at the provider");
        const retry = await post("/api/v1/connected_apps", body, key);
        assert.equal(retry.status, 409);
        assert.equal(errorCode(retry), "IDEMPOTENCY_KEY_IN_USE");
        const retryAfter = Number(retry.headers.get("retry-after"));
        assert.ok(retryAfter >= 1 && retryAfter <= 5, `Retry-After ${retryAfter}`);
        const other = await post("/api/v1/connected_apps", connectedApp(`other-${ref}`), key);
        assert.equal(other.status, 422, "the key with a different request");
        assert.equal(errorCode(other), "IDEMPOTENCY_KEY_REUSED");
      } finally {
        provider.hold = false;
        provider.release();
        firstResponse = await first;
      }
      assert.equal(firstResponse.status, 201, JSON.stringify(firstResponse.body));
      const replay = await post("/api/v1/connected_apps", body, key);
      assert.equal(replay.status, 201);
      assert.deepEqual(replay.body, firstResponse.body);
      assert.equal(replay.headers.get("idempotent-replayed"), "true");
      assert.equal(discoveries() - discoveriesBefore, 1, "only the first request asked the provider");
      // The 409 is documented wherever it can happen, also on routes that list no other 409.
      const document = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as {
        paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      };
      assert.ok(document.paths["/api/v1/connected_apps/revoke"]?.post?.responses["409"]);
    });

    it("takes over a claim whose request was abandoned; the late request cannot overwrite it", async () => {
      const ref = `abandoned-${unique()}`;
      const key = `abandoned-${unique()}`;
      const body = connectedApp(ref);
      provider.hold = true;
      const stuck = post("/api/v1/connected_apps", body, key);
      await until(() => provider.waiting === 1, 4_000, "the first request at the provider");
      provider.hold = false;
      // Not yet abandoned…
      assert.equal((await post("/api/v1/connected_apps", body, key)).status, 409);
      // …but after the timeout a retry runs and records its own answer.
      now += CLAIM_TIMEOUT_SECONDS + 1;
      const takeover = await post("/api/v1/connected_apps", body, key);
      assert.equal(takeover.status, 201, JSON.stringify(takeover.body));
      provider.release();
      const late = await stuck;
      assert.equal(late.status, 409, "the late request finds the app created");
      assert.equal(errorCode(late), "CONNECTED_APP_EXISTS");
      const replay = await post("/api/v1/connected_apps", body, key);
      assert.equal(replay.status, 201);
      assert.deepEqual(replay.body, takeover.body, "the late failure did not release the new owner's record");
    });

    it("lets a failed request run again with the same key", async () => {
      // A flagged route: the provider fails first, then works.
      const ref = `retry-${unique()}`;
      const key = `retry-${unique()}`;
      provider.failDiscovery = true;
      try {
        const failed = await post("/api/v1/connected_apps", connectedApp(ref), key);
        assert.equal(failed.status, 400, JSON.stringify(failed.body));
        assert.equal(await recordOf(key), undefined, "the claim was released");
      } finally {
        provider.failDiscovery = false;
      }
      const body = connectedApp(ref);
      const succeeded = await post("/api/v1/connected_apps", body, key);
      assert.equal(succeeded.status, 201, JSON.stringify(succeeded.body));

      // A local route: a 409 rolls back with its key; once the conflict is gone the same request runs.
      const audience = `https://retry-${unique()}.example.com`;
      const existing = await post<{ api: { id: string } }>("/api/v1/apis", { name: "First", audience });
      const apiKey = `api-retry-${unique()}`;
      const conflict = await post("/api/v1/apis", { name: "Second", audience }, apiKey);
      assert.equal(conflict.status, 409);
      assert.equal(await recordOf(apiKey), undefined);
      const deleted = await callApi(server, "DELETE", `/api/v1/apis/${existing.body.api.id}`, { token });
      assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
      const ran = await post<{ api: { id: string } }>("/api/v1/apis", { name: "Second", audience }, apiKey);
      assert.equal(ran.status, 200, JSON.stringify(ran.body));
      assert.notEqual(ran.body.api.id, existing.body.api.id);
    });

    it("revokes at a slow provider without holding a transaction, and replays the answer", async () => {
      const ref = `revoking-${unique()}`;
      assert.equal((await post("/api/v1/connected_apps", connectedApp(ref))).status, 201);
      const user = await createUser(server);
      const sessionId = `conn_${unique()}`;
      const aad = `connection:${sessionId}`;
      await server.storage.db
        .insertInto("connections")
        .values({
          id: sessionId,
          key_code_ref: ref,
          user_id: user.id,
          status: "connected",
          start_token_hash: `unused-${unique()}`,
          callback_url: "https://app.example.com/connected",
          access_token_sealed: server.secretBox.seal("provider-access-token", aad),
          refresh_token_sealed: server.secretBox.seal("provider-refresh-token", aad),
          access_token_expires_at: now + 3600,
          created_at: now,
          expires_at: now + 3600,
          updated_at: now,
        })
        .execute();
      const key = `revoke-${unique()}`;
      provider.hold = true;
      const revoking = post(`/api/v1/connected_apps/revoke?session_id=${sessionId}`, undefined, key);
      let revoked: ApiResponse;
      try {
        await until(() => provider.waiting === 1, 4_000, "the revocation at the provider");
        const write = await post("/api/v1/user", { profile: { given_name: "During revoke" } });
        assert.equal(write.status, 200);
        assert.equal(provider.waiting, 1, "another write went through while the revocation was held");
      } finally {
        provider.hold = false;
        provider.release();
        revoked = await revoking;
      }
      assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
      const revokedAtProvider = revocations();
      const replay = await post(`/api/v1/connected_apps/revoke?session_id=${sessionId}`, undefined, key);
      assert.equal(replay.status, 200);
      assert.deepEqual(replay.body, revoked.body);
      assert.equal(replay.headers.get("idempotent-replayed"), "true");
      assert.equal(revocations(), revokedAtProvider, "the replay did not call the provider");
    });

    it("never catches a flagged route calling out (the guard stays quiet)", () => {
      assert.ok(!server.logs.text.includes(OUTBOUND_CAUGHT), "no outbound call inside a transaction");
    });
  });

  describe(`Idempotency-Key records after a master-key rotation (${kind})`, { skip }, () => {
    let first: TestServer;
    let second: TestServer | undefined;
    before(async () => {
      first = await startTestServer(kind);
    });
    after(async () => {
      await second?.close();
      await first?.close();
    });

    it("re-seals recorded responses, which replay under the new key alone", async () => {
      const token = await managementToken(first);
      const key = `rotating-${unique()}`;
      const body = { name: "Across rotation", type: "reg" };
      const request = (server: TestServer) =>
        callApi<AppCreated>(server, "POST", "/api/v1/applications", {
          token,
          body,
          headers: { "idempotency-key": key },
        });
      const created = await request(first);
      assert.equal(created.status, 201);
      const sealedBefore = (await first.storage.db
        .selectFrom("idempotency_keys")
        .select("response_body_sealed")
        .where("key", "=", key)
        .executeTakeFirstOrThrow())!.response_body_sealed!;

      const newKey = randomBytes(32);
      const counts = await resealAll(first.storage.db, new SecretBox(newKey, [first.config.masterKey!]));
      assert.equal(counts["idempotency_keys.response_body_sealed"], 1, JSON.stringify(counts));
      const sealedAfter = (await first.storage.db
        .selectFrom("idempotency_keys")
        .select("response_body_sealed")
        .where("key", "=", key)
        .executeTakeFirstOrThrow())!.response_body_sealed!;
      assert.notEqual(sealedAfter.split(".")[1], sealedBefore.split(".")[1], "sealed under the new key's id");

      // Another instance on the same data that knows only the new key.
      second = await startSecondInstance(first, { env: { LATCHKEY_MASTER_KEY: newKey.toString("base64") } });
      const replayed = await request(second);
      assert.equal(replayed.status, 201);
      assert.deepEqual(replayed.body, created.body);
      assert.equal(replayed.headers.get("idempotent-replayed"), "true");
    });
  });

  describe(`Idempotency-Key transactions end with their request (${kind})`, { skip }, () => {
    let server: TestServer;
    let provider: SlowProvider;
    let app: FastifyInstance;
    let base: string;
    const logs = new LogCapture();
    let handlerReached: () => void = () => {};
    let releaseHandler: () => void = () => {};

    before(async () => {
      server = await startTestServer(kind);
      provider = await startSlowProvider();
      // The idempotency hooks on their own, over the real database, with routes that misbehave.
      app = Fastify({ loggerInstance: createLogger("info", logs) }) as unknown as FastifyInstance;
      registerErrorHandling(app);
      await app.register(
        async (api) => {
          api.addHook("onRequest", async (request) => {
            request.caller = { clientId: "transactions-test", scopes: new Set() };
            request.services = server.services;
          });
          registerIdempotency(api, {
            services: server.services,
            secretBox: server.secretBox,
            servicesFor: (trx) => server.services.withDb(trx),
            transactionLimitMs: 500,
          });
          const mark = (request: { services: TestServer["services"] }, name: string) =>
            request.services.db
              .insertInto("rate_limits")
              .values({ key: name, window_start: 0, count: 1 })
              .execute();
          api.post<{ Querystring: { id: string } }>("/stall", async (request) => {
            await mark(request, `${request.query.id}-before`);
            handlerReached();
            await new Promise<void>((resolve) => {
              releaseHandler = resolve;
            });
            await mark(request, `${request.query.id}-after`);
            return { ok: true };
          });
          api.post<{ Querystring: { id: string; ms: string; write?: string } }>("/slow", async (request) => {
            await mark(request, `${request.query.id}-before`);
            await sleep(Number(request.query.ms));
            if (request.query.write) await mark(request, `${request.query.id}-after`);
            return { ok: true };
          });
          // Calls out with fetch (undici) or node:http (what provider calls use).
          api.post<{ Querystring: { id: string; via?: string } }>("/calls-out", async (request) => {
            await mark(request, `${request.query.id}-before`);
            const url = `${provider.origin}/.well-known/openid-configuration`;
            if (request.query.via === "http") {
              await new Promise<void>((resolve, reject) => {
                httpGet(url, (response) => response.resume().on("end", resolve)).on("error", reject);
              });
            } else {
              await (await fetch(url)).text();
            }
            await mark(request, `${request.query.id}-after`);
            return { ok: true };
          });
        },
        { prefix: "/api/v1" },
      );
      await app.listen({ port: 0, host: "127.0.0.1" });
      const address = app.server.address();
      base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/api/v1`;
    });
    after(async () => {
      releaseHandler();
      await app?.close();
      await provider?.close();
      await server?.close();
    });

    const marks = async (id: string) =>
      (
        await within(
          server.storage.db.selectFrom("rate_limits").select("key").where("key", "like", `${id}-%`).execute(),
          3_000,
          "reading the database",
        )
      ).map((r) => r.key);
    const send = (path: string, key: string, signal?: AbortSignal) =>
      fetch(`${base}${path}`, { method: "POST", headers: { "idempotency-key": key }, signal });
    const openTransactions = async () => {
      if (kind !== "postgres") return 0;
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from pg_stat_activity
        where datname = current_database() and state like 'idle in transaction%'`.execute(server.storage.db);
      return rows[0]!.n;
    };

    it("rolls back when the client goes away before the response", async () => {
      const id = `abort-${unique()}`;
      const reached = new Promise<void>((resolve) => {
        handlerReached = resolve;
      });
      const controller = new AbortController();
      const request = send(`/stall?id=${id}`, id, controller.signal).catch(() => "aborted");
      await within(reached, 3_000, "the handler starting");
      controller.abort();
      assert.equal(await request, "aborted");
      // On SQLite the open transaction holds the only connection: this read would wait for it.
      // Rolled back because the client went away, not later by the time limit.
      await until(
        () => logs.lines.some((l) => l.includes("left open") && l.includes('"reason":"aborted"')),
        3_000,
        "the rollback",
      );
      assert.deepEqual(await marks(id), [], "the handler's write was rolled back");
      assert.equal(await openTransactions(), 0);
      const record = await within(
        server.storage.db.selectFrom("idempotency_keys").selectAll().where("key", "=", id).execute(),
        3_000,
        "reading the database",
      );
      assert.deepEqual(record, [], "the key is free again");
      // The handler carries on, but can no longer write.
      releaseHandler();
      await sleep(100);
      assert.deepEqual(await marks(id), []);
    });

    it("rolls back a transaction that outlives its time limit, and answers 503 rather than success", async () => {
      for (const write of [false, true]) {
        const id = `limit-${unique()}`;
        let answered = false;
        const pending = send(`/slow?id=${id}&ms=1500${write ? "&write=1" : ""}`, id).then((response) => {
          answered = true;
          return response;
        });
        await sleep(700);
        // Past the limit (500 ms) the database is free again while the handler still runs.
        assert.deepEqual(await marks(id), []);
        assert.equal(answered, false, "read before the handler ended: not blocked until it did");
        const response = await pending;
        assert.equal(response.status, 503);
        assert.equal(((await response.json()) as Errors).errors[0]?.code, "SERVICE_UNAVAILABLE");
        assert.deepEqual(await marks(id), [], "nothing the handler did was kept");
        assert.equal(await openTransactions(), 0);
      }
      // A quick one under the same limit commits with its record.
      const id = `quick-${unique()}`;
      const quick = await send(`/slow?id=${id}&ms=0&write=1`, id);
      assert.equal(quick.status, 200);
      assert.deepEqual((await marks(id)).sort(), [`${id}-after`, `${id}-before`]);
    });

    it("rolls back at once when an unflagged handler calls out inside its transaction", async () => {
      for (const via of ["fetch", "http"]) {
        const id = `outbound-${via}-${unique()}`;
        const caughtBefore = logs.lines.filter((l) => l.includes(OUTBOUND_CAUGHT)).length;
        provider.hold = true;
        const pending = send(`/calls-out?id=${id}&via=${via}`, id);
        try {
          await until(() => provider.waiting === 1, 3_000, `the outbound request (${via})`);
          // The transaction is gone while the provider is still answering.
          assert.deepEqual(await marks(id), []);
          assert.equal(await openTransactions(), 0);
        } finally {
          provider.hold = false;
          provider.release();
        }
        const response = await pending;
        assert.equal(response.status, 500, via);
        assert.deepEqual(await marks(id), []);
        const caught = logs.lines.filter((l) => l.includes(OUTBOUND_CAUGHT)).length;
        assert.equal(caught, caughtBefore + 1, `the missing flag is logged as an error (${via})`);
      }
      // Without an Idempotency-Key there is no transaction to protect: the handler just runs.
      const plainId = `plain-${unique()}`;
      const plain = await fetch(`${base}/calls-out?id=${plainId}`, { method: "POST" });
      assert.equal(plain.status, 200);
      assert.equal((await marks(plainId)).length, 2);
    });
  });
}
