// The end of a password sign-in as one write (src/sign-in/sign-in-writes.ts, issue 21): one
// statement on PostgreSQL, one transaction on SQLite. Everything it writes lands together, and it
// writes nothing at all unless it completes the request — which it does only while the request
// waits and the organization the sign-in enters (chosen on the account's read) is still open.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import { newId, sha256 } from "../../src/crypto/random.js";
import { newEventRow } from "../../src/events/events.js";
import type { AuthorizationRequest } from "../../src/oauth/authorize.js";
import { PendingAuthorizations } from "../../src/sign-in/authorization-requests.js";
import { type SignInWrites, writeSignIn } from "../../src/sign-in/sign-in-writes.js";
import type { Db } from "../../src/storage/database.js";
import { signInEvent } from "../../src/users/users.service.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`a sign-in's end written at once (${kind})`, { skip }, () => {
    let server: TestServer;
    let clientId: string;
    let defaultOrg: string;
    before(async () => {
      server = await startTestServer(kind);
      ({ clientId } = await createApplication(server, "spa"));
      defaultOrg = (
        await server.storage.db
          .selectFrom("organizations")
          .select("code")
          .where("is_default", "=", 1)
          .executeTakeFirstOrThrow()
      ).code;
    });
    after(async () => server?.close());

    const db = () => server.storage.db;

    /** A user in the default organization and in another one joined earlier (first by joined_at). */
    const memberOfTwo = async () => {
      const user = await createUser(server);
      const other = await server.services.organizations.create({ name: "Joined first" });
      await db()
        .insertInto("organization_users")
        .values({ org_code: other.code, user_id: user.id, joined_at: 1, last_accessed_at: null })
        .execute();
      return { user, other: other.code };
    };

    const signIn = async (agent: UserAgent, user: { email: string; password: string }, extra = {}) => {
      const fields = await agent.openSignIn(authorizationUrl(server, clientId, CALLBACK, extra));
      return agent.redirectFrom("/auth/sign-in", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ ...fields, email: user.email, password: user.password }),
      });
    };

    const sessionsOf = (userId: string) =>
      db()
        .selectFrom("browser_sessions")
        .select(["id", "revoked_at", "amr"])
        .where("user_id", "=", userId)
        .execute();

    it("a password sign-in writes its session, counters, event, organization entered and code", async () => {
      const { user, other } = await memberOfTwo();
      const agent = new UserAgent(server.url);
      const redirect = await signIn(agent, user);
      const code = redirect.searchParams.get("code");
      assert.ok(code, String(redirect));

      const [session, ...more] = await sessionsOf(user.id);
      assert.equal(more.length, 0);
      assert.equal(session!.revoked_at, null);
      assert.deepEqual(JSON.parse(session!.amr), ["pwd"]);
      const account = await db()
        .selectFrom("users")
        .select(["total_sign_ins", "last_signed_in_at"])
        .where("id", "=", user.id)
        .executeTakeFirstOrThrow();
      assert.equal(Number(account.total_sign_ins), 1);
      assert.ok(account.last_signed_in_at);
      const events = await db()
        .selectFrom("events")
        .select("type")
        .where("user_id", "=", user.id)
        .where("type", "=", "user.authenticated")
        .execute();
      assert.equal(events.length, 1, "user.authenticated recorded with the sign-in");
      // Two open organizations, neither entered before: the default one (usualOrganization), though
      // the other was joined first — the read carries which one is the default.
      const memberships = await db()
        .selectFrom("organization_users")
        .select(["org_code", "last_accessed_at"])
        .where("user_id", "=", user.id)
        .execute();
      const accessed = Object.fromEntries(memberships.map((m) => [m.org_code, m.last_accessed_at]));
      assert.ok(accessed[defaultOrg], "the default organization entered");
      assert.equal(accessed[other], null);
      const stored = await db()
        .selectFrom("authorization_codes")
        .select(["org_code", "session_id", "user_id"])
        .where("code_hash", "=", sha256(code))
        .executeTakeFirstOrThrow();
      assert.deepEqual(stored, { org_code: defaultOrg, session_id: session!.id, user_id: user.id });

      // Signing in again on this browser replaces its session (no fixation): the first is revoked.
      const again = await signIn(agent, user, { prompt: "login" });
      assert.ok(again.searchParams.get("code"), String(again));
      const after = await sessionsOf(user.id);
      assert.equal(after.length, 2);
      assert.ok(after.find((s) => s.id === session!.id)!.revoked_at, "the replaced session is revoked");
      assert.equal(after.find((s) => s.id !== session!.id)!.revoked_at, null);
    });

    it("sign-ins and wrong guesses from one network at once all get their answer", async () => {
      // Correct passwords settle the shared per-network counters while wrong ones count them: rows
      // locked in one order everywhere, so none waits on another in a cycle (no 500 from a deadlock).
      const users = await Promise.all(Array.from({ length: 6 }, () => createUser(server)));
      const attempts = users.flatMap((user) => [
        { user, password: user.password, expected: 303 },
        { user, password: "wrong-password", expected: 401 },
      ]);
      const statuses = await Promise.all(
        attempts.map(async ({ user, password }) => {
          const agent = new UserAgent(server.url);
          const fields = await agent.openSignIn(authorizationUrl(server, clientId, CALLBACK));
          const response = await agent.request("/auth/sign-in", {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({ ...fields, email: user.email, password }),
          });
          await response.text();
          return response.status;
        }),
      );
      assert.deepEqual(
        statuses,
        attempts.map(({ expected }) => expected),
      );
    });

    describe("writes nothing unless it completes the request", () => {
      const pending = () => new PendingAuthorizations(db(), server.services.clock);

      /** A waiting request, the user's counters, and the writes that would end its sign-in. */
      const prepare = async (userId: string, entering: SignInWrites["entering"]) => {
        const request: AuthorizationRequest = {
          clientId,
          redirectUri: CALLBACK,
          scope: "openid",
          audience: [],
          prompt: [],
        };
        const requestId = await pending().create(request);
        const now = server.services.clock.now();
        const counters = { reset: `test:reset:${requestId}`, refund: `test:refund:${requestId}` };
        await db()
          .insertInto("rate_limits")
          .values([
            { key: counters.reset, window_start: now, count: 3 },
            { key: counters.refund, window_start: now, count: 2 },
          ])
          .execute();
        const { session, row } = server.services.sessions.newSession(userId, { amr: ["pwd"] }, now);
        const codeHash = sha256(newId.session());
        const writes: SignInWrites = {
          requestId,
          now,
          userId,
          entering,
          counters,
          replacedSessionToken: undefined,
          session: row,
          event: newEventRow(server.services.clock, signInEvent(userId)),
          code: {
            codeHash,
            clientId,
            userId,
            sessionId: session.id,
            redirectUri: CALLBACK,
            scope: "openid",
            audience: [],
            nonce: null,
            codeChallenge: null,
            authTime: now,
            createdAt: now,
            expiresAt: now + 60,
            grantId: null,
            orgCode: entering?.orgCode ?? null,
          },
        };
        return { requestId, writes, counters, codeHash, sessionId: session.id };
      };

      /** What the writes would have left: counts of each, and the request still waiting or not. */
      const traces = async (prepared: Awaited<ReturnType<typeof prepare>>, userId: string) => {
        const count = async (query: Promise<unknown[]>) => (await query).length;
        const counters = await db()
          .selectFrom("rate_limits")
          .select(["key", "count"])
          .where("key", "in", [prepared.counters.reset, prepared.counters.refund!])
          .orderBy("key")
          .execute();
        return {
          waiting: (await pending().find(prepared.requestId)) !== undefined,
          sessions: await count(
            db().selectFrom("browser_sessions").select("id").where("id", "=", prepared.sessionId).execute(),
          ),
          events: await count(
            db().selectFrom("events").select("id").where("id", "=", prepared.writes.event.id).execute(),
          ),
          codes: await count(
            db()
              .selectFrom("authorization_codes")
              .select("code_hash")
              .where("code_hash", "=", prepared.codeHash)
              .execute(),
          ),
          signIns: Number(
            (
              await db()
                .selectFrom("users")
                .select("total_sign_ins")
                .where("id", "=", userId)
                .executeTakeFirstOrThrow()
            ).total_sign_ins,
          ),
          counters: Object.fromEntries(counters.map((row) => [row.key.split(":")[1], Number(row.count)])),
        };
      };

      const NOTHING = {
        waiting: true,
        sessions: 0,
        events: 0,
        codes: 0,
        signIns: 0,
        counters: { refund: 2, reset: 3 },
      };

      it("not into an organization the user does not belong to (or that is suspended)", async () => {
        const { user, other } = await memberOfTwo();
        const stranger = await server.services.organizations.create({ name: "Not theirs" });
        const outside = await prepare(user.id, { orgCode: stranger.code });
        assert.equal(await writeSignIn(db(), server.services.clock, outside.writes), false);
        assert.deepEqual(await traces(outside, user.id), NOTHING);

        await db().updateTable("organizations").set({ is_suspended: 1 }).where("code", "=", other).execute();
        const suspended = await prepare(user.id, { orgCode: other });
        assert.equal(await writeSignIn(db(), server.services.clock, suspended.writes), false);
        assert.deepEqual(await traces(suspended, user.id), NOTHING);
      });

      it("not into no organization once the user belongs to one", async () => {
        const user = await createUser(server);
        const none = await prepare(user.id, { orgCode: null });
        assert.equal(await writeSignIn(db(), server.services.clock, none.writes), false);
        assert.deepEqual(await traces(none, user.id), NOTHING);
      });

      it("not for a request already completed; and all of it when it completes", async () => {
        const user = await createUser(server);
        const spent = await prepare(user.id, { orgCode: defaultOrg });
        assert.ok(await pending().complete(spent.requestId));
        assert.equal(await writeSignIn(db(), server.services.clock, spent.writes), false);
        assert.deepEqual(await traces(spent, user.id), { ...NOTHING, waiting: false });

        const fresh = await prepare(user.id, { orgCode: defaultOrg });
        assert.equal(await writeSignIn(db(), server.services.clock, fresh.writes), true);
        assert.deepEqual(await traces(fresh, user.id), {
          waiting: false,
          sessions: 1,
          events: 1,
          codes: 1,
          signIns: 1,
          // The account-and-address counter reset, the daily budget's unit given back.
          counters: { refund: 1, reset: 0 },
        });
        // Once: the same writes again find the request completed and write nothing more.
        assert.equal(await writeSignIn(db(), server.services.clock, fresh.writes), false);
      });

      // PostgreSQL only: SQLite locks the whole database for a write.
      if (kind === "postgres")
        it("locks the request's row, then the counters, and only then the account's", async () => {
          const user = await createUser(server);
          const prepared = await prepare(user.id, { orgCode: defaultOrg });
          let written: Promise<boolean> | undefined;
          await db()
            .transaction()
            .execute(async (holder) => {
              // Another sign-in counting from this network holds the counters.
              await holder
                .selectFrom("rate_limits")
                .select("key")
                .where("key", "=", prepared.counters.reset)
                .forUpdate()
                .execute();
              written = writeSignIn(db(), server.services.clock, prepared.writes);
              await statementWaits(db());
              const lockable = (table: "authorization_requests" | "users", id: string) =>
                holder
                  .selectFrom(table)
                  .select("id")
                  .where("id", "=", id)
                  .forUpdate()
                  .noWait()
                  .execute()
                  .then(
                    () => true,
                    (error: { code?: string }) => {
                      if (error.code !== "55P03") throw error;
                      return false;
                    },
                  );
              // Waiting on the counters, the statement holds the request's row and not yet the
              // account's: a sign-in holding the account and waiting on the request cannot exist.
              assert.equal(
                await inSavepoint(holder, () => lockable("authorization_requests", prepared.requestId)),
                false,
              );
              assert.equal(await inSavepoint(holder, () => lockable("users", user.id)), true);
            });
          assert.equal(await written, true);
        });

      // PostgreSQL only. The other ways of finishing a sign-in (sign-in-finish.ts's transaction,
      // startSession) lock the replaced session, then the account, then the membership: the
      // statement must take them in that order too, or the two deadlock and one answers 500.
      if (kind === "postgres")
        describe("takes the account and the membership in the order the other sign-ins do", () => {
          it("the account, then the membership", async () => {
            const user = await createUser(server);
            const prepared = await prepare(user.id, { orgCode: defaultOrg });
            let written: Promise<boolean> | undefined;
            await db()
              .transaction()
              .execute(async (other) => {
                await other
                  .updateTable("users")
                  .set({ last_signed_in_at: 1 })
                  .where("id", "=", user.id)
                  .execute();
                written = writeSignIn(db(), server.services.clock, prepared.writes);
                await statementWaits(db());
                await other
                  .updateTable("organization_users")
                  .set({ last_accessed_at: 1 })
                  .where("org_code", "=", defaultOrg)
                  .where("user_id", "=", user.id)
                  .execute();
              });
            assert.equal(await written, true);
          });

          it("the replaced session, then the account", async () => {
            const user = await createUser(server);
            const prepared = await prepare(user.id, { orgCode: defaultOrg });
            const replaced = await server.services.sessions.create(user.id, { amr: ["pwd"] });
            let written: Promise<boolean> | undefined;
            await db()
              .transaction()
              .execute(async (other) => {
                await other
                  .updateTable("browser_sessions")
                  .set({ revoked_at: prepared.writes.now })
                  .where("id", "=", replaced.session.id)
                  .execute();
                written = writeSignIn(db(), server.services.clock, {
                  ...prepared.writes,
                  replacedSessionToken: replaced.token,
                });
                await statementWaits(db());
                await other
                  .updateTable("users")
                  .set({ last_signed_in_at: 1 })
                  .where("id", "=", user.id)
                  .execute();
              });
            assert.equal(await written, true);
          });
        });
    });
  });
}

/** Until the sign-in's one statement (PostgreSQL) waits on a lock another transaction holds. */
function statementWaits(db: Db): Promise<void> {
  return until(async () => {
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'
        and query like 'with completed as%'`.execute(db);
    return rows[0]!.n === 1;
  });
}

/** Polls `condition` until it holds (the test's timeout is the bound). */
async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** `work` in a savepoint of `trx`, rolled back after: a refused lock does not abort the transaction. */
async function inSavepoint<T>(trx: Db, work: () => Promise<T>): Promise<T> {
  await sql`savepoint probe`.execute(trx);
  try {
    return await work();
  } finally {
    await sql`rollback to savepoint probe`.execute(trx);
  }
}
