// Crash under load (security.md §3.1 guarantees 1-4, §3.2): a real `latchkey start` child process
// takes a mixed workload — sign-ups, sign-ins, code flows, refreshes, client credentials,
// Management API writes with Idempotency-Key and connected-app token calls (Latchkey as the OAuth
// client of a stand-in provider, oidc-provider with refresh-token rotation) — and is killed with
// SIGKILL at a random moment, then restarted on the same database, round after round, on SQLite and
// on PostgreSQL. The harness (this process, never killed) remembers everything the server
// acknowledged and checks after each restart:
//   - every acknowledged user can sign in;
//   - every acknowledged refresh token refreshes, and every rotated one is refused (invalid_grant);
//   - no authorization code yields two grants;
//   - SQLite's `PRAGMA integrity_check` is ok;
//   - a retried Idempotency-Key gives the same resource;
//   - every connected-app connection still yields a provider token that works at the provider —
//     or, only when a kill landed inside a refresh, answers CONNECTION_NEEDS_REAUTHORIZATION (400)
//     after at most the refresh lease (see checkConnections for the hazard).
// Seeded (CRASH_SEED=<n>, printed); CRASH_ROUNDS sets the rounds. Slow by design: run with
// `npm run test:reliability`.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import pg from "pg";
import { REFRESH_LEASE_SECONDS } from "../../src/connected-apps/connected-apps.service.js";
import { type DatabaseKind, databaseKinds, freshDatabase, type TestDatabase } from "../helpers/databases.js";
import { CALLBACK } from "../helpers/fixtures.js";
import { type OidcProviderHandle, startOidcProvider } from "../helpers/oauth-provider.js";
import { UserAgent } from "../helpers/user-agent.js";
import { CrashServer, form, pkce, prng, type Reply, send, Unanswered } from "./support.js";

const SEED = Number(process.env.CRASH_SEED ?? "") || Math.floor(Math.random() * 2 ** 31);
const ROUNDS = Number(process.env.CRASH_ROUNDS ?? "5");
const CONCURRENCY = 8;
/** Connected-app connections (one user each) the workload asks tokens for. */
const CONNECTIONS = 4;
/**
 * The provider's access-token lifetime. Below Latchkey's 60 s refresh margin, so every token call
 * refreshes at the provider (rotating its refresh token): the kills land inside refreshes often.
 */
const PROVIDER_TOKEN_TTL_SECONDS = 4;
const APP_KEY = "crash-drive";
const APP_CALLBACK = "https://app.example.com/connected";

const ok = (reply: Reply) => reply.status >= 200 && reply.status < 300;

async function call(url: string, init: RequestInit): Promise<Reply> {
  try {
    return await send(url, init);
  } catch (error) {
    throw new Unanswered(String(error));
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

/** A connected-app connection the workload uses, and the Latchkey user who made it. */
interface Connection {
  person: { email: string; password: string; ip: string; userId: string };
  sessionId: string;
  /** A token call was in flight at a kill: whether its refresh rotated at the provider is unknown. */
  unknown: boolean;
  /** The killed server left the refresh lease held: not checked (nor used) before this time (ms). */
  leasedUntil: number;
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
  /** Acknowledged connected-app token calls (each token also accepted by the provider). */
  connectedTokens: number;
  /** Connections verified after a restart (a token that works at the provider, or a documented error). */
  connectionsChecked: number;
  /** Refresh leases a kill left held: those connections were checked once the lease had run out. */
  leasesLeftByKill: number;
  /** Of those, leases taken over after they ran out (the rest were still running at the end). */
  leasesTakenOver: number;
  /** Connections lost to the rotation hazard (CONNECTION_NEEDS_REAUTHORIZATION), then reconnected. */
  connectionsLost: number;
  /** Refreshes the provider granted (token calls refresh every time: lifetimes under the margin). */
  providerRefreshes: number;
  failures: string[];
}

export const crashFigures: Record<string, Figures> = {};

const postgresSkip = (await databaseKinds()).find((k) => k.kind === "postgres")!.skip;
const servers: CrashServer[] = [];
const providers: OidcProviderHandle[] = [];
after(async () => {
  for (const server of servers) server.dispose();
  for (const provider of providers) await provider.close();
});

for (const kind of ["sqlite", "postgres"] as DatabaseKind[]) {
  describe(`crash under load (${kind})`, { skip: kind === "postgres" ? postgresSkip : false }, () => {
    let database: TestDatabase | undefined;
    after(async () => database?.drop());

    it(`survives ${ROUNDS} SIGKILLs under a mixed workload with nothing acknowledged lost`, async (t) => {
      t.diagnostic(`seed ${SEED} (replay with CRASH_SEED=${SEED}), ${ROUNDS} rounds`);
      const random = prng(SEED + (kind === "sqlite" ? 0 : 1));
      const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
      const began = Date.now();
      database = await freshDatabase(kind);
      assert.ok(database);
      const server = await CrashServer.create(database, {
        MANAGEMENT_API_RATE_LIMIT: "0",
        // The simulated people sign up and in without reading mail (verification has its own tests).
        EMAIL_VERIFICATION: "optional",
        // Every simulated person comes from their own address (X-Forwarded-For), so the per-address
        // sign-in and sign-up throttles see a crowd, not one machine.
        TRUST_PROXY: "loopback",
        // The stand-in provider listens on loopback.
        CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS: "true",
      });
      servers.push(server);
      const { url, m2m } = server;
      // The third-party provider Latchkey is the OAuth client of, in this (never killed) process.
      const provider = await startOidcProvider({
        redirectUri: `${url}/connected_apps/callback`,
        accessTokenTtlSeconds: PROVIDER_TOKEN_TTL_SECONDS,
      });
      providers.push(provider);

      const figures: Figures = {
        rounds: 0,
        requests: 0,
        acknowledged: 0,
        unanswered: 0,
        usersChecked: 0,
        refreshChecked: 0,
        codesChecked: 0,
        idempotencyChecked: 0,
        connectedTokens: 0,
        connectionsChecked: 0,
        leasesLeftByKill: 0,
        leasesTakenOver: 0,
        connectionsLost: 0,
        providerRefreshes: 0,
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

      await server.start();
      let apiToken = await server.managementToken();
      const api = (method: string, target: string, body: unknown, headers: Record<string, string> = {}) =>
        counted(target, {
          method,
          headers: { authorization: `Bearer ${apiToken}`, "content-type": "application/json", ...headers },
          body: JSON.stringify(body),
        });
      const apiGet = (target: string) =>
        counted(target, { headers: { authorization: `Bearer ${apiToken}` } });
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

      // ---- connected apps ------------------------------------------------------------------------
      const app = await api("POST", "/api/v1/connected_apps", {
        key_code_ref: APP_KEY,
        provider: "oauth2",
        name: "Crash Drive",
        client_id: provider.clientId,
        client_secret: provider.clientSecret,
        callback_url: APP_CALLBACK,
        scopes: ["openid", "offline_access"],
        settings: {
          authorization_url: provider.authorizationEndpoint,
          token_url: provider.tokenEndpoint,
          revocation_url: provider.revocationEndpoint,
          client_auth: "basic",
        },
      });
      assert.equal(app.status, 201, app.text);

      /**
       * The browser side of connecting, as a person does it: the auth URL opens Latchkey's sign-in
       * form (a fresh browser), the person signs in, consents at the provider and lands back on the
       * app's callback with the session id. Only while the server is up (setup and checks).
       */
      async function connect(person: Connection["person"]): Promise<string> {
        const link = await apiGet(
          `/api/v1/connected_apps/auth_url?key_code_ref=${APP_KEY}&user_id=${encodeURIComponent(person.userId)}`,
        );
        assert.equal(link.status, 200, link.text);
        const { url: authUrl, session_id: sessionId } = link.json as { url: string; session_id: string };
        const agent = new UserAgent(url);
        figures.requests += 3;
        const hidden = await agent.openForm(authUrl);
        const toProvider = await agent.redirectFrom("/connected_apps/start", {
          method: "POST",
          headers: { "x-forwarded-for": person.ip, "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ ...hidden, email: person.email, password: person.password }),
        });
        assert.equal(toProvider.origin, new URL(provider.issuer).origin, toProvider.href);
        const landed = await agent.redirectFrom(await provider.authorize(toProvider));
        assert.equal(`${landed.origin}${landed.pathname}`, APP_CALLBACK, landed.href);
        assert.equal(landed.searchParams.get("error"), null, landed.href);
        assert.equal(landed.searchParams.get("session_id"), sessionId);
        return sessionId;
      }

      const connectedToken = (sessionId: string) =>
        apiGet(`/api/v1/connected_apps/token?session_id=${encodeURIComponent(sessionId)}`);

      /** Whether the provider accepts the access token Latchkey handed out (its userinfo endpoint). */
      async function worksAtProvider(accessToken: string): Promise<boolean> {
        const reply = await send(provider.userinfoEndpoint, {
          headers: { authorization: `Bearer ${accessToken}` },
        });
        return reply.status === 200;
      }

      const connections: Connection[] = [];
      for (let i = 0; i < CONNECTIONS; i++) {
        const person = {
          email: `crash-connect-${randomBytes(6).toString("hex")}@example.com`,
          password: `pw-${randomBytes(9).toString("hex")}`,
          ip: nextIp(),
        };
        const grant = await codeFlow(person, true);
        const exchanged = await exchange(grant.code, grant.verifier);
        assert.equal(exchanged.status, 200, exchanged.text);
        const idToken = (exchanged.json as { id_token: string }).id_token;
        const { sub } = JSON.parse(Buffer.from(idToken.split(".")[1]!, "base64url").toString()) as {
          sub: string;
        };
        const withId = { ...person, userId: sub };
        connections.push({
          person: withId,
          sessionId: await connect(withId),
          unknown: false,
          leasedUntil: 0,
        });
      }

      /** Each connection's status and refresh lease, read from the database (the server is down). */
      async function connectionRows(): Promise<Map<string, { status: string; lockedUntil: number | null }>> {
        const ids = connections.map((c) => c.sessionId);
        const sql = `select id, status, refresh_locked_until from connections where id in (${ids
          .map((_, i) => (database!.target.kind === "sqlite" ? "?" : `$${i + 1}`))
          .join(", ")})`;
        let rows: { id: string; status: string; refresh_locked_until: number | string | null }[];
        if (database!.target.kind === "sqlite") {
          const db = new Database(database!.target.path, { readonly: true });
          try {
            rows = db.prepare(sql).all(...ids) as typeof rows;
          } finally {
            db.close();
          }
        } else {
          const client = new pg.Client({ connectionString: database!.target.url });
          await client.connect();
          try {
            rows = (await client.query(sql, ids)).rows as typeof rows;
          } finally {
            await client.end();
          }
        }
        return new Map(
          rows.map((r) => [
            r.id,
            {
              status: r.status,
              lockedUntil: r.refresh_locked_until === null ? null : Number(r.refresh_locked_until),
            },
          ]),
        );
      }

      /**
       * After a kill (server down): a connection whose token call was in flight may have been left
       * with its refresh lease held by the dead process. Nobody can refresh it before the lease runs
       * out (REFRESH_LEASE_SECONDS — the lease is how a crashed holder is survived), so it is checked
       * once the lease has passed. Meanwhile a token call for it waits for the dead "holder" (the
       * provider deadline + 5 s) and answers 502 PROVIDER_UNAVAILABLE; the workload leaves it alone
       * (15 s is over this suite's 10 s hang limit). A lease past kill time + REFRESH_LEASE_SECONDS,
       * or one held with no token call in flight, is a bug.
       */
      async function noteLeases(killedAt: number): Promise<void> {
        const rows = await connectionRows();
        for (const connection of connections) {
          const row = rows.get(connection.sessionId);
          assert.ok(row, "the connection survived the kill");
          if (!connection.unknown) {
            assert.equal(row.lockedUntil, null, "no lease held on a connection with no token call in flight");
            continue;
          }
          if (row.lockedUntil === null || connection.leasedUntil > 0) continue;
          assert.ok(
            row.lockedUntil <= Math.ceil(killedAt / 1000) + REFRESH_LEASE_SECONDS,
            `a refresh lease beyond REFRESH_LEASE_SECONDS: until ${row.lockedUntil}, killed at ${killedAt}`,
          );
          // The lease may be taken over once the clock (whole seconds) passes it.
          connection.leasedUntil = (row.lockedUntil + 1) * 1000 + 100;
          figures.leasesLeftByKill += 1;
        }
      }

      /**
       * After a restart: every connection yields a fresh token that works at the provider — except
       * in one window. The provider rotates the refresh token on every refresh (the old one is
       * consumed, and presenting it again revokes the whole grant: reuse detection). If the SIGKILL
       * lands after the provider rotated and before Latchkey committed the new refresh token, the
       * only copy of the new token died with the process and Latchkey still holds the consumed one.
       * No OAuth client can close that window (the provider's step and ours are two systems'
       * commits); Latchkey keeps it as short as it can — nothing but the row update runs between the
       * provider's answer and the commit, and its lease means it never presents a rotated token
       * outside that window — and, when the provider then refuses the stale token (invalid_grant),
       * marks the connection needs_reauthorization and answers 400 CONNECTION_NEEDS_REAUTHORIZATION
       * (README, connected apps step 4), so the customer's back end sends the user through auth_url
       * again. So: a connection with a token call in flight at the kill may answer that, once its
       * lease (if the dead process held it) has passed; any other connection must answer 200; never
       * a 5xx or a hang. A lost connection is reconnected so later rounds keep exercising it.
       *
       * A connection under a lease the kill left is checked at a later restart, once the lease has
       * run out. After the last round it is waited for only if no lease has been seen taken over yet
       * in this run (waiting costs up to REFRESH_LEASE_SECONDS; noteLeases has bounded it anyway).
       */
      async function checkConnections(final: boolean): Promise<void> {
        // Soonest lease first: after waiting for it, the others that have run out are checked too.
        for (const connection of [...connections].sort((a, b) => a.leasedUntil - b.leasedUntil)) {
          const wait = connection.leasedUntil - Date.now();
          if (wait > 0) {
            if (!final || figures.leasesTakenOver > 0) continue;
            await new Promise((resolve) => setTimeout(resolve, wait));
          }
          if (connection.leasedUntil > 0) figures.leasesTakenOver += 1;
          const reply = await connectedToken(connection.sessionId);
          figures.connectionsChecked += 1;
          const code = (reply.json as { errors?: { code: string }[] } | undefined)?.errors?.[0]?.code;
          if (reply.status === 200) {
            const accessToken = (reply.json as { access_token: string }).access_token;
            assert.ok(
              await worksAtProvider(accessToken),
              `the provider refused the token Latchkey handed out after the restart`,
            );
          } else {
            assert.ok(
              connection.unknown && reply.status === 400 && code === "CONNECTION_NEEDS_REAUTHORIZATION",
              `connection ${connection.unknown ? "in doubt" : "with no call in flight"} after a restart: ` +
                `${reply.status} ${reply.text.slice(0, 300)}`,
            );
            figures.connectionsLost += 1;
            connection.sessionId = await connect(connection.person);
          }
          connection.unknown = false;
          connection.leasedUntil = 0;
        }
      }

      t.diagnostic(`set up in ${Math.round((Date.now() - began) / 1000)} s (server, provider, connections)`);

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
        async connectedAppToken() {
          const ready = connections.filter((c) => !c.unknown);
          if (ready.length === 0) return;
          const connection = pick(ready);
          const reply = await connectedToken(connection.sessionId).catch((error) => {
            connection.unknown = true;
            throw error;
          });
          if (reply.status !== 200) return unexpected("connected-app token", reply);
          figures.acknowledged += 1;
          figures.connectedTokens += 1;
          const accessToken = (reply.json as { access_token?: string }).access_token;
          if (!accessToken || !(await worksAtProvider(accessToken))) {
            unexpected("connected-app token refused by the provider", reply);
          }
        },
      };
      const weighted = [
        ...Array(2).fill("signUp"),
        ...Array(3).fill("signIn"),
        ...Array(4).fill("refresh"),
        ...Array(3).fill("clientCredentials"),
        ...Array(3).fill("managementWrite"),
        ...Array(3).fill("connectedAppToken"),
      ] as string[];

      for (let round = 1; round <= ROUNDS; round++) {
        const killedAt = await server.burstThenKill({
          concurrency: CONCURRENCY,
          ms: 1000 + Math.floor(random() * 3000),
          step: async () => {
            const name = pick(weighted);
            await operations[name]!(round).catch((error: unknown) => {
              throw error instanceof Unanswered ? new Unanswered(`${name}: ${error.message}`) : error;
            });
          },
          unansweredWhileUp: (error) =>
            figures.failures.push(`unanswered while the server was up: ${error.message}`),
        });
        await noteLeases(killedAt);

        if (database.target.kind === "sqlite") {
          const db: Database.Database = new Database(database.target.path);
          try {
            assert.deepEqual(db.pragma("integrity_check"), [{ integrity_check: "ok" }], `round ${round}`);
          } finally {
            db.close();
          }
        }

        await server.start();
        apiToken = await server.managementToken();

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
        await checkConnections(round === ROUNDS);
        figures.providerRefreshes = provider.stats.grants.refresh_token;
        figures.rounds = round;
        t.diagnostic(
          `round ${round} (${Math.round((Date.now() - began) / 1000)} s): ` +
            JSON.stringify({ ...figures, failures: figures.failures.length }),
        );
      }
      await server.stop();
      process.stdout.write(`# crash (${kind}): ${JSON.stringify(figures)}\n`);
      assert.deepEqual(figures.failures, [], "no unexpected answer while the server was up");
      assert.ok(
        figures.usersChecked > 0 &&
          figures.refreshChecked > 0 &&
          figures.codesChecked > 0 &&
          figures.connectedTokens > 0 &&
          figures.connectionsChecked > 0 &&
          figures.leasesTakenOver >= Math.min(1, figures.leasesLeftByKill),
        "the checks ran",
      );
      // Latchkey presented a consumed refresh token to the provider only in the crash window: once
      // per connection lost to it, never in ordinary operation.
      assert.equal(
        provider.stats.reusedRefreshTokens().length,
        figures.connectionsLost,
        "refresh tokens presented twice at the provider",
      );
    });
  });
}
