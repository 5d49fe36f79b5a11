// Crash under load (security.md §3.1 guarantees 1-4, §3.2): a real `latchkey start` child process
// takes a mixed workload — sign-ups, sign-ins, code flows, refreshes, client credentials and
// Management API writes with Idempotency-Key — and is killed with SIGKILL at a random moment, then
// restarted on the same database, round after round, on SQLite and on PostgreSQL. The harness (this
// process, never killed) remembers everything the server acknowledged and checks after each restart:
//   - every acknowledged user can sign in;
//   - every acknowledged refresh token refreshes, and every rotated one is refused (invalid_grant);
//   - no authorization code yields two grants;
//   - SQLite's `PRAGMA integrity_check` is ok;
//   - a retried Idempotency-Key gives the same resource.
// Seeded (CRASH_SEED=<n>, printed); CRASH_ROUNDS sets the rounds. Slow by design: run with
// `npm run test:reliability`.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { randomAlphanumeric } from "../../src/crypto/random.js";
import { type DatabaseKind, databaseKinds, freshDatabase, type TestDatabase } from "../helpers/databases.js";
import { CALLBACK } from "../helpers/fixtures.js";
import { type CliProcess, runCli } from "../helpers/process.js";
import { freePort } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";
import { form, pkce, type Reply, send } from "./support.js";

const SEED = Number(process.env.CRASH_SEED ?? "") || Math.floor(Math.random() * 2 ** 31);
const ROUNDS = Number(process.env.CRASH_ROUNDS ?? "5");
const CONCURRENCY = 8;

/** mulberry32: a small seeded PRNG, so a failing schedule can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ok = (reply: Reply) => reply.status >= 200 && reply.status < 300;

/** A request that failed without an answer (the server died under it): its effect is unknown. */
class Unanswered extends Error {}

async function call(url: string, init: RequestInit): Promise<Reply> {
  try {
    return await send(url, init);
  } catch (error) {
    throw new Unanswered(String(error));
  }
}

/** Polls readiness until 200; fails if the process exits first or after `timeoutMs`. */
async function waitReady(child: CliProcess, readyUrl: string, timeoutMs = 60_000): Promise<void> {
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

interface Family {
  /** The newest refresh token the server acknowledged, not yet used. */
  current: string;
  /** Older tokens of the family whose refresh was acknowledged. */
  rotated: string[];
  /** A refresh of `current` was sent but not answered: it may or may not have rotated. */
  unknown: boolean;
}

interface Figures {
  rounds: number;
  requests: number;
  acknowledged: number;
  unanswered: number;
  usersChecked: number;
  refreshChecked: number;
  codesChecked: number;
  idempotencyChecked: number;
  failures: string[];
}

export const crashFigures: Record<string, Figures> = {};

const postgresSkip = (await databaseKinds()).find((k) => k.kind === "postgres")!.skip;
const children: CliProcess[] = [];
const dirs: string[] = [];
after(() => {
  for (const child of children) child.kill("SIGKILL");
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

for (const kind of ["sqlite", "postgres"] as DatabaseKind[]) {
  describe(`crash under load (${kind})`, { skip: kind === "postgres" ? postgresSkip : false }, () => {
    let database: TestDatabase | undefined;
    after(async () => database?.drop());

    it(`survives ${ROUNDS} SIGKILLs under a mixed workload with nothing acknowledged lost`, async (t) => {
      t.diagnostic(`seed ${SEED} (replay with CRASH_SEED=${SEED}), ${ROUNDS} rounds`);
      const random = prng(SEED + (kind === "sqlite" ? 0 : 1));
      const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
      database = await freshDatabase(kind);
      assert.ok(database);
      const dataDir = mkdtempSync(path.join(tmpdir(), "latchkey-crash-"));
      dirs.push(dataDir);
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const m2m = { clientId: randomBytes(16).toString("hex"), clientSecret: randomAlphanumeric(52) };
      const env = {
        PORT: String(port),
        HOST: "127.0.0.1",
        ISSUER_URL: url,
        DATABASE_URL:
          database.target.kind === "sqlite" ? `sqlite:${database.target.path}` : database.target.url,
        DATA_DIR: dataDir,
        LATCHKEY_MASTER_KEY: randomBytes(32).toString("base64"),
        BOOTSTRAP_M2M_CLIENT_ID: m2m.clientId,
        BOOTSTRAP_M2M_CLIENT_SECRET: m2m.clientSecret,
        MANAGEMENT_API_RATE_LIMIT: "0",
        // Every simulated person comes from their own address (X-Forwarded-For), so the per-address
        // sign-in and sign-up throttles see a crowd, not one machine.
        TRUST_PROXY: "loopback",
        LOG_LEVEL: "warn",
      };
      const start = async () => {
        const child = runCli(["start"], { env });
        children.push(child);
        await waitReady(child, `${url}/health/ready`);
        return child;
      };

      const figures: Figures = {
        rounds: 0,
        requests: 0,
        acknowledged: 0,
        unanswered: 0,
        usersChecked: 0,
        refreshChecked: 0,
        codesChecked: 0,
        idempotencyChecked: 0,
        failures: [],
      };
      crashFigures[kind] = figures;
      const counted = async (target: string, init: RequestInit): Promise<Reply> => {
        figures.requests += 1;
        try {
          return await call(`${url}${target}`, init);
        } catch (error) {
          figures.unanswered += 1;
          throw error;
        }
      };
      const unexpected = (what: string, reply: Reply): void => {
        figures.failures.push(`${what}: ${reply.status} ${reply.text.slice(0, 200)}`);
      };

      let server = await start();
      const managementToken = async (): Promise<string> => {
        const reply = await counted(
          "/oauth2/token",
          form({
            grant_type: "client_credentials",
            client_id: m2m.clientId,
            client_secret: m2m.clientSecret,
            audience: `${url}/api`,
          }),
        );
        assert.equal(reply.status, 200, reply.text);
        return (reply.json as { access_token: string }).access_token;
      };
      let apiToken = await managementToken();
      const api = (method: string, target: string, body: unknown, headers: Record<string, string> = {}) =>
        counted(target, {
          method,
          headers: { authorization: `Bearer ${apiToken}`, "content-type": "application/json", ...headers },
          body: JSON.stringify(body),
        });
      const created = await api("POST", "/api/v1/applications", { name: "Crash SPA", type: "spa" });
      assert.ok(created.status === 200 || created.status === 201, created.text);
      const spaId = (created.json as { application: { client_id: string } }).application.client_id;
      const urls = await api("POST", `/api/v1/applications/${spaId}/auth_redirect_urls`, {
        urls: [CALLBACK],
      });
      assert.ok(urls.status === 200 || urls.status === 201, urls.text);

      // ---- what the server acknowledged ---------------------------------------------------------
      const users: { email: string; password: string; ip: string; round: number }[] = [];
      const families: Family[] = [];
      const codes: { code: string; verifier: string; state: "redeemed" | "unknown" }[] = [];
      const idempotent: { key: string; body: unknown; id?: string }[] = [];
      let ipCounter = 0;
      const nextIp = () => {
        ipCounter += 1;
        return `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
      };

      /** The browser side of a code flow (sign-up or sign-in), through X-Forwarded-For `ip`. */
      async function codeFlow(
        user: { email: string; password: string; ip: string },
        signUp: boolean,
      ): Promise<{ code: string; verifier: string }> {
        const { verifier, challenge } = pkce();
        const agent = new UserAgent(url);
        const headers = { "x-forwarded-for": user.ip };
        const authorize = new URL("/oauth2/auth", url);
        authorize.search = new URLSearchParams({
          response_type: "code",
          client_id: spaId,
          redirect_uri: CALLBACK,
          scope: "openid offline",
          code_challenge: challenge,
          code_challenge_method: "S256",
          ...(signUp ? { prompt: "create" } : {}),
        }).toString();
        figures.requests += 3;
        let callback: URL;
        try {
          const next = await agent.redirectFrom(authorize, { headers });
          const page = signUp ? "/auth/sign-up" : "/auth/sign-in";
          const hidden = await agent.openForm(new URL(`${page}${next.search}`, url));
          callback = await agent.redirectFrom(page, {
            method: "POST",
            headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({
              ...hidden,
              email: user.email,
              password: user.password,
              ...(signUp ? { given_name: "Crash", family_name: "Test" } : {}),
            }),
          });
        } catch (error) {
          if (error instanceof assert.AssertionError) throw error;
          figures.unanswered += 1;
          throw new Unanswered(String(error));
        }
        const code = callback.searchParams.get("code");
        assert.ok(code, `no code: ${callback.href}`);
        return { code, verifier };
      }

      async function exchange(code: string, verifier: string): Promise<Reply> {
        return counted(
          "/oauth2/token",
          form({
            grant_type: "authorization_code",
            client_id: spaId,
            code,
            redirect_uri: CALLBACK,
            code_verifier: verifier,
          }),
        );
      }

      function refresh(token: string): Promise<Reply> {
        return counted(
          "/oauth2/token",
          form({ grant_type: "refresh_token", client_id: spaId, refresh_token: token }),
        );
      }

      // ---- the workload ---------------------------------------------------------------------------
      const operations: Record<string, (round: number) => Promise<void>> = {
        async signUp(round) {
          const user = {
            email: `crash-${randomBytes(6).toString("hex")}@example.com`,
            password: `pw-${randomBytes(9).toString("hex")}`,
            ip: nextIp(),
          };
          const grant = await codeFlow(user, true);
          users.push({ ...user, round });
          figures.acknowledged += 1;
          const reply = await exchange(grant.code, grant.verifier).catch((error) => {
            codes.push({ ...grant, state: "unknown" });
            throw error;
          });
          if (reply.status !== 200) return unexpected("sign-up code exchange", reply);
          figures.acknowledged += 1;
          families.push({
            current: (reply.json as { refresh_token: string }).refresh_token,
            rotated: [],
            unknown: false,
          });
        },
        async signIn() {
          if (users.length === 0) return;
          const user = pick(users);
          const grant = await codeFlow(user, false);
          figures.acknowledged += 1;
          // Codes of sign-ins are the ones replayed after the crash (a replay revokes the grant).
          const entry = { ...grant, state: "unknown" as "redeemed" | "unknown" };
          codes.push(entry);
          const reply = await exchange(grant.code, grant.verifier);
          if (reply.status !== 200) return unexpected("sign-in code exchange", reply);
          figures.acknowledged += 1;
          entry.state = "redeemed";
        },
        async refresh() {
          const family = families.filter((f) => !f.unknown);
          if (family.length === 0) return;
          const chosen = pick(family);
          const old = chosen.current;
          chosen.unknown = true;
          const reply = await refresh(old);
          if (reply.status !== 200) return unexpected("refresh of a live token", reply);
          figures.acknowledged += 1;
          chosen.rotated.push(old);
          chosen.current = (reply.json as { refresh_token: string }).refresh_token;
          chosen.unknown = false;
        },
        async clientCredentials() {
          const reply = await counted(
            "/oauth2/token",
            form({
              grant_type: "client_credentials",
              client_id: m2m.clientId,
              client_secret: m2m.clientSecret,
            }),
          );
          if (reply.status !== 200) return unexpected("client_credentials", reply);
          figures.acknowledged += 1;
        },
        async managementWrite() {
          const key = randomBytes(12).toString("hex");
          const body = { name: `Crash API ${key.slice(0, 6)}`, audience: `https://crash-${key}.example` };
          const entry: { key: string; body: unknown; id?: string } = { key, body };
          idempotent.push(entry);
          const reply = await api("POST", "/api/v1/apis", body, { "idempotency-key": key });
          if (!ok(reply)) return unexpected("idempotent POST /apis", reply);
          figures.acknowledged += 1;
          entry.id = (reply.json as { api: { id: string } }).api.id;
        },
      };
      const weighted = [
        ...Array(2).fill("signUp"),
        ...Array(3).fill("signIn"),
        ...Array(4).fill("refresh"),
        ...Array(3).fill("clientCredentials"),
        ...Array(3).fill("managementWrite"),
      ] as string[];

      for (let round = 1; round <= ROUNDS; round++) {
        let running = true;
        const worker = async () => {
          while (running) {
            const name = pick(weighted);
            try {
              await operations[name]!(round);
            } catch (error) {
              if (!(error instanceof Unanswered)) throw error;
              if (running)
                figures.failures.push(`${name} unanswered while the server was up: ${error.message}`);
            }
          }
        };
        const workers = Array.from({ length: CONCURRENCY }, worker);
        await new Promise((resolve) => setTimeout(resolve, 1000 + Math.floor(random() * 3000)));
        // Stop issuing, then kill while requests are in flight.
        running = false;
        server.kill("SIGKILL");
        await server.exited;
        await Promise.all(workers);

        if (database.target.kind === "sqlite") {
          const db: Database.Database = new Database(database.target.path);
          try {
            assert.deepEqual(db.pragma("integrity_check"), [{ integrity_check: "ok" }], `round ${round}`);
          } finally {
            db.close();
          }
        }

        server = await start();
        apiToken = await managementToken();

        // Every acknowledged user of this round can sign in.
        for (const user of users.filter((u) => u.round === round)) {
          await codeFlow(user, false);
          figures.usersChecked += 1;
        }
        // Refresh tokens: in doubt → either answer; acknowledged → refreshes; rotated → refused.
        for (const family of [...families]) {
          const reply = await refresh(family.current);
          figures.refreshChecked += 1;
          if (family.unknown) {
            assert.ok(
              reply.status === 200 || (reply.json as { error?: string })?.error === "invalid_grant",
              `refresh in doubt: ${reply.status} ${reply.text}`,
            );
          } else {
            assert.equal(
              reply.status,
              200,
              `acknowledged refresh token refused in round ${round}: ${reply.text}`,
            );
          }
          if (reply.status === 200) {
            family.rotated.push(family.current);
            family.current = (reply.json as { refresh_token: string }).refresh_token;
            family.unknown = false;
          } else families.splice(families.indexOf(family), 1);
        }
        // Replaying a rotated token is refused, and (reuse detection) ends its family: do it for half.
        for (const family of families.filter(() => random() < 0.5)) {
          if (family.rotated.length === 0) continue;
          const reply = await refresh(pick(family.rotated));
          figures.refreshChecked += 1;
          assert.equal(reply.status, 400, `rotated refresh token accepted: ${reply.text}`);
          assert.equal((reply.json as { error: string }).error, "invalid_grant");
          families.splice(families.indexOf(family), 1);
        }
        while (families.length > 40) families.shift();
        // No code yields two grants.
        for (const entry of codes.splice(0)) {
          const first = await exchange(entry.code, entry.verifier);
          figures.codesChecked += 1;
          if (entry.state === "redeemed") {
            assert.equal(first.status, 400, `a redeemed code was accepted again: ${first.text}`);
            assert.equal((first.json as { error: string }).error, "invalid_grant");
          } else {
            const again = await exchange(entry.code, entry.verifier);
            assert.equal(again.status, 400, `a code was accepted twice: ${again.text}`);
            assert.equal((again.json as { error: string }).error, "invalid_grant");
          }
        }
        // A retried Idempotency-Key returns the same resource (and in doubt, makes exactly one).
        for (const entry of idempotent.splice(0)) {
          const retry = await api("POST", "/api/v1/apis", entry.body, { "idempotency-key": entry.key });
          assert.ok(ok(retry), `idempotent retry: ${retry.status} ${retry.text}`);
          const id = (retry.json as { api: { id: string } }).api.id;
          if (entry.id) assert.equal(id, entry.id, "the retry returns the acknowledged resource");
          const again = await api("POST", "/api/v1/apis", entry.body, { "idempotency-key": entry.key });
          assert.equal((again.json as { api?: { id: string } }).api?.id, id, "a second retry returns it too");
          figures.idempotencyChecked += 1;
        }
        figures.rounds = round;
        t.diagnostic(`round ${round}: ${JSON.stringify({ ...figures, failures: figures.failures.length })}`);
      }
      server.kill("SIGTERM");
      await server.exited;
      process.stdout.write(`# crash (${kind}): ${JSON.stringify(figures)}\n`);
      assert.deepEqual(figures.failures, [], "no unexpected answer while the server was up");
      assert.ok(
        figures.usersChecked > 0 && figures.refreshChecked > 0 && figures.codesChecked > 0,
        "the checks ran",
      );
    });
  });
}
