// Issue 18, "Audit log covers authentication", on SQLite and PostgreSQL: sign-ins (password and
// e-mail code), failed sign-ins, sign-outs and each token grant appear in the authentication log
// with the right user, client, grant and method, and nothing secret; GET
// /api/v1/audit_log/authentication filters by user and type on its indexes and pages; the writer
// batches, survives a database that refuses writes (bounded, dropping and counting), and writes
// what it holds on close; the retention purge deletes old entries of both logs in batches.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import { AuthenticationLog, timeSortableId } from "../../src/audit/authentication-log.js";
import { ConfigError, loadConfig } from "../../src/config/config.js";
import { mailBodyAad } from "../../src/mail/mail.store.js";
import { authenticationLogQuery } from "../../src/management/authentication-log.routes.js";
import { purgeAuditLogs, purgeExpired } from "../../src/storage/purge.js";
import type { AuthenticationLogTable } from "../../src/storage/schema.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApi, createApplication, createUser, LOGOUT } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

interface Entry {
  id: string;
  created_on: string;
  type: string;
  user_id: string | null;
  client_id: string | null;
  grant_type: string | null;
  method: string | null;
  ip_address: string | null;
  request_id: string | null;
}
interface Page {
  entries: Entry[];
  next_token: string | null;
}

const API = "https://orders.example.com";
const DAY = 86_400;

describe("log entry ids", () => {
  it("only grow within a process: many in one millisecond, and when the clock steps back", (t) => {
    // In the past, so the real clock is ahead of every id made here once the mock is gone.
    let clock = 1_700_000_000_000;
    t.mock.method(Date, "now", () => clock);
    const ids = Array.from({ length: 70_000 }, () => timeSortableId());
    clock -= 60_000;
    ids.push(...Array.from({ length: 10 }, () => timeSortableId()));
    clock += 120_000;
    ids.push(timeSortableId());
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} then ${ids[i]}`);
    assert.ok(ids.every((id) => /^[0-9a-f]{28}$/.test(id)));
    assert.ok(
      ids.at(-1)!.startsWith(clock.toString(16).padStart(12, "0")),
      "back on the clock once it is ahead",
    );
  });
});

describe("AUDIT_LOG_RETENTION_DAYS", () => {
  it("defaults to 30 and takes 1 to 3650 days", () => {
    assert.equal(loadConfig({}).auditLogRetentionDays, 30);
    assert.equal(loadConfig({ AUDIT_LOG_RETENTION_DAYS: "1" }).auditLogRetentionDays, 1);
    assert.equal(loadConfig({ AUDIT_LOG_RETENTION_DAYS: "3650" }).auditLogRetentionDays, 3650);
    for (const bad of ["0", "3651", "-1", "7.5", "month"]) {
      assert.throws(
        () => loadConfig({ AUDIT_LOG_RETENTION_DAYS: bad }),
        (error: unknown) =>
          error instanceof ConfigError && error.problems.some((p) => p.key === "AUDIT_LOG_RETENTION_DAYS"),
        bad,
      );
    }
  });
});

for (const { kind, skip } of await databaseKinds()) {
  describe(`authentication log (${kind})`, { skip }, () => {
    let server: TestServer;
    let token: string;
    let web: { clientId: string; clientSecret?: string };
    let machine: { clientId: string; clientSecret?: string };
    let user: { id: string; email: string; password: string };
    /** Every secret the flows below handled: none may be in any row. */
    const secrets: string[] = [];

    before(async () => {
      server = await startTestServer(kind);
      token = await managementToken(server);
      web = await createApplication(server, "reg");
      machine = await createApplication(server, "m2m");
      await createApi(server, {
        audience: API,
        scopes: ["read:orders"],
        grant: { [machine.clientId]: ["read:orders"] },
      });
      user = await createUser(server);
      secrets.push(user.password, user.email, web.clientSecret!, machine.clientSecret!);
    });
    after(async () => server?.close());

    const log = (query = "") =>
      callApi<Page>(server, "GET", `/api/v1/audit_log/authentication${query}`, { token });

    async function tokenRequest(fields: Record<string, string>) {
      const response = await fetch(`${server.url}/oauth2/token`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "x-request-id": `req-${fields.grant_type}`,
        },
        body: new URLSearchParams(fields),
      });
      const body = (await response.json()) as Record<string, string>;
      assert.equal(response.status, 200, JSON.stringify(body));
      return body;
    }

    it("records a failed and a successful sign-in, each grant and a sign-out, with nothing secret", async () => {
      // Whole seconds, as the log stores them (Clock.now): the first request cannot be logged earlier.
      const firstRequestAt = Math.floor(Date.now() / 1000) * 1000;
      const browser = new UserAgent(server.url);
      const verifier = randomBytes(32).toString("base64url");
      const url = authorizationUrl(server, web.clientId, CALLBACK, {
        scope: "openid offline",
        state: "s",
        code_challenge: createHash("sha256").update(verifier).digest("base64url"),
      });
      const start = await browser.redirectFrom(url);
      const hidden = await browser.openForm(new URL(`/auth/sign-in${start.search}`, server.url));
      const wrongPassword = `wrong-${randomBytes(6).toString("hex")}`;
      secrets.push(wrongPassword);
      const refused = await browser.postForm("/auth/sign-in", {
        ...hidden,
        email: user.email,
        password: wrongPassword,
      });
      assert.equal(refused.status, 401, (await refused.text()).slice(0, 200));
      // An address without an account fails too, naming nobody.
      const stranger = await browser.postForm("/auth/sign-in", {
        ...hidden,
        email: `nobody-${randomBytes(4).toString("hex")}@example.com`,
        password: wrongPassword,
      });
      assert.equal(stranger.status, 401);
      const signedIn = await browser.postForm("/auth/sign-in", {
        ...hidden,
        email: user.email,
        password: user.password,
      });
      assert.equal(signedIn.status, 303, (await signedIn.text()).slice(0, 200));
      const code = new URL(signedIn.headers.get("location")!).searchParams.get("code")!;
      const credentials = { client_id: web.clientId, client_secret: web.clientSecret! };
      const issued = await tokenRequest({
        grant_type: "authorization_code",
        ...credentials,
        code,
        redirect_uri: CALLBACK,
        code_verifier: verifier,
      });
      const refreshed = await tokenRequest({
        grant_type: "refresh_token",
        ...credentials,
        refresh_token: issued.refresh_token!,
      });
      const machineToken = await tokenRequest({
        grant_type: "client_credentials",
        client_id: machine.clientId,
        client_secret: machine.clientSecret!,
        audience: API,
      });
      secrets.push(
        code,
        verifier,
        issued.access_token!,
        issued.refresh_token!,
        issued.id_token!,
        refreshed.access_token!,
        refreshed.refresh_token!,
        machineToken.access_token!,
        browser.cookie("latchkey_session") ?? "",
        hidden.csrf ?? "",
      );
      // Our own page's sign-out link (Sec-Fetch-Site: same-origin): the session ends at once.
      const signedOut = await browser.request(`/logout?redirect=${encodeURIComponent(LOGOUT)}`, {
        headers: { "sec-fetch-site": "same-origin" },
      });
      assert.equal(signedOut.status, 302);
      const lastAnswerAt = Date.now();

      await server.services.authenticationLog.flush();
      const { status, body } = await log(`?user_id=${user.id}`);
      assert.equal(status, 200);
      assert.deepEqual(
        body.entries.map((e) => [e.type, e.user_id, e.client_id, e.grant_type, e.method]),
        [
          ["sign_out", user.id, null, null, null],
          ["token_issued", user.id, web.clientId, "refresh_token", null],
          ["token_issued", user.id, web.clientId, "authorization_code", null],
          ["sign_in", user.id, web.clientId, null, "password"],
          ["sign_in_failed", user.id, null, null, "password"],
        ],
        "newest first",
      );
      for (const entry of body.entries) {
        assert.equal(entry.ip_address, "127.0.0.1");
        assert.match(entry.request_id ?? "", /./);
        const loggedAt = Date.parse(entry.created_on);
        assert.ok(
          firstRequestAt <= loggedAt && loggedAt <= lastAnswerAt,
          `${entry.type} logged at ${entry.created_on}, outside the requests (${new Date(firstRequestAt).toISOString()} to ${new Date(lastAnswerAt).toISOString()})`,
        );
      }
      assert.equal(body.entries[1]!.request_id, "req-refresh_token", "the request's own id");

      const grants = await log("?type=token_issued&page_size=500");
      assert.ok(grants.body.entries.every((e) => e.type === "token_issued"));
      const m2m = grants.body.entries.find((e) => e.client_id === machine.clientId);
      assert.deepEqual(m2m && [m2m.user_id, m2m.grant_type, m2m.method, m2m.request_id], [
        null,
        "client_credentials",
        null,
        "req-client_credentials",
      ]);
      const failures = await log("?type=sign_in_failed");
      assert.deepEqual(
        failures.body.entries.map((e) => e.user_id),
        [null, user.id],
        "the unknown address's failure names no one",
      );

      const rows = await server.storage.db.selectFrom("authentication_log").selectAll().execute();
      const stored = JSON.stringify(rows);
      for (const secret of secrets.filter((s) => s.length >= 6))
        assert.ok(!stored.includes(secret), `a secret (${secret.slice(0, 4)}…) is in the log`);
    });

    it("records a sign-in by e-mail code, and a wrong code as a failure of that account", async () => {
      const email = `coded-${randomBytes(4).toString("hex")}@example.com`;
      const coded = await server.services.users.create({ email, emailVerified: true });
      const browser = new UserAgent(server.url);
      const start = await browser.redirectFrom(authorizationUrl(server, web.clientId, CALLBACK));
      const hidden = await browser.openForm(new URL(`/auth/email-code${start.search}`, server.url));
      assert.equal((await browser.postForm("/auth/email-code", { ...hidden, email })).status, 200);
      const message = await server.storage.db
        .selectFrom("mail_messages")
        .select(["id", "body_sealed"])
        .where("to_address", "=", email)
        .executeTakeFirstOrThrow();
      const { text } = JSON.parse(server.secretBox.open(message.body_sealed!, mailBodyAad(message.id))) as {
        text: string;
      };
      const right = /\b(\d{6})\b/.exec(text)![1]!;
      const wrong = right === "000000" ? "111111" : "000000";
      const missed = await browser.postForm("/auth/email-code/verify", { ...hidden, code: wrong });
      assert.equal(missed.status, 400);
      const done = await browser.postForm("/auth/email-code/verify", { ...hidden, code: right });
      assert.equal(done.status, 303, (await done.text()).slice(0, 200));

      await server.services.authenticationLog.flush();
      const { body } = await log(`?user_id=${coded.id}`);
      assert.deepEqual(
        body.entries.map((e) => [e.type, e.client_id, e.method]),
        [
          ["sign_in", web.clientId, "email_code"],
          ["sign_in_failed", web.clientId, "email_code"],
        ],
      );
      const rows = await server.storage.db
        .selectFrom("authentication_log")
        .selectAll()
        .where("user_id", "=", coded.id)
        .execute();
      assert.ok(!JSON.stringify(rows).includes(right) && !JSON.stringify(rows).includes(email));
    });

    it("writes an entry within about a second without being asked", async () => {
      const requestId = `unflushed-${randomBytes(4).toString("hex")}`;
      const response = await fetch(`${server.url}/oauth2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "x-request-id": requestId },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: machine.clientId,
          client_secret: machine.clientSecret!,
          audience: API,
        }),
      });
      assert.equal(response.status, 200);
      const immediately = await server.storage.db
        .selectFrom("authentication_log")
        .select("id")
        .where("request_id", "=", requestId)
        .execute();
      assert.equal(immediately.length, 0, "not written by the request itself");
      const deadline = Date.now() + 3_000;
      let written = 0;
      while (written === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        written = (
          await server.storage.db
            .selectFrom("authentication_log")
            .select("id")
            .where("request_id", "=", requestId)
            .execute()
        ).length;
      }
      assert.equal(written, 1);
    });

    it("pages newest first with next_token, and refuses bad filters and cursors with 400", async () => {
      const pager = await createUser(server);
      const at = server.services.clock.now();
      // Five entries in one second: the id orders them within it.
      const writer = new AuthenticationLog(server.storage.db, { clock: { now: () => at } });
      for (let i = 0; i < 5; i++)
        writer.record(
          { ip: "192.0.2.1", id: `page-${i}` },
          { type: "sign_in", userId: pager.id, method: "password" },
        );
      await writer.close();
      const seen: string[] = [];
      let next: string | null = "";
      let pages = 0;
      while (next !== null) {
        const query: string = `?user_id=${pager.id}&page_size=2${next ? `&next_token=${next}` : ""}`;
        const { status, body } = await log(query);
        assert.equal(status, 200);
        assert.ok(body.entries.length <= 2);
        seen.push(...body.entries.map((e) => e.request_id!));
        next = body.next_token;
        pages += 1;
      }
      assert.equal(pages, 3);
      assert.deepEqual(seen, ["page-4", "page-3", "page-2", "page-1", "page-0"]);

      for (const query of [
        "?type=password_reset",
        "?type=",
        "?type=sign_in&type=sign_out",
        "?next_token=not-a-cursor",
        `?next_token=${Buffer.from(JSON.stringify({ at: "x", id: 1 })).toString("base64url")}`,
        "?page_size=501",
        "?page_size=0",
        `?user_id=${"u".repeat(101)}`,
      ]) {
        const { status, body } = await callApi<{ errors?: { code: string }[] }>(
          server,
          "GET",
          `/api/v1/audit_log/authentication${query}`,
          { token },
        );
        assert.equal(status, 400, query);
        assert.ok(body.errors?.[0]?.code, `${query}: Kinde's error shape`);
      }
      const limited = await managementToken(server, "read:users");
      assert.equal(
        (await callApi(server, "GET", "/api/v1/audit_log/authentication", { token: limited })).status,
        403,
      );
    });

    it("answers the user and type filters from their indexes, in order, without sorting", async () => {
      const cursor = { at: 1_900_000_000, id: "f".repeat(28) };
      for (const [filter, index] of [
        [{ userId: user.id }, "authentication_log_user"],
        [{ type: "token_issued" as const }, "authentication_log_type"],
        [{}, "authentication_log_created"],
        [{ userId: user.id, after: cursor }, "authentication_log_user"],
        [{ type: "sign_in" as const, after: cursor }, "authentication_log_type"],
      ] as const) {
        const query = authenticationLogQuery(server.storage.db, filter, 11).compile();
        let plan: string;
        if (kind === "sqlite") {
          const result = await sql
            .raw<{ detail: string }>(`explain query plan ${inline(query.sql, query.parameters)}`)
            .execute(server.storage.db);
          plan = result.rows.map((r) => r.detail).join("\n");
          assert.doesNotMatch(plan, /TEMP B-TREE/, `${JSON.stringify(filter)}: no sort\n${plan}`);
          if ("after" in filter)
            assert.match(plan, /created_at(,id\))?</, `the cursor bounds the index range\n${plan}`);
        } else {
          // The tables here are tiny, so the planner would rightly scan them: forbid the alternatives
          // to ask whether the index can serve the query in order at all.
          plan = await server.storage.db.transaction().execute(async (trx) => {
            await sql`set local enable_seqscan = off`.execute(trx);
            await sql`set local enable_bitmapscan = off`.execute(trx);
            await sql`set local enable_sort = off`.execute(trx);
            const result = await sql
              .raw<{ "QUERY PLAN": string }>(`explain ${inline(query.sql, query.parameters)}`)
              .execute(trx);
            return result.rows.map((r) => r["QUERY PLAN"]).join("\n");
          });
          assert.doesNotMatch(plan, /\bSort\b/, `${JSON.stringify(filter)}: no sort\n${plan}`);
          if ("after" in filter)
            assert.match(plan, /Index Cond: .*created_at/, `the cursor bounds the index range\n${plan}`);
        }
        assert.match(plan, new RegExp(`\\b${index}\\b`), `${JSON.stringify(filter)} uses ${index}\n${plan}`);
      }
    });

    it("keeps entries while the database refuses them, bounded, and writes them in order once it is back", async () => {
      const db = server.storage.db;
      const warnings: string[] = [];
      const errors: unknown[] = [];
      const logger = {
        warn: (_: unknown, message: string) => warnings.push(message),
        error: (fields: unknown) => errors.push(fields),
      };
      const writer = new AuthenticationLog(db, {
        clock: server.services.clock,
        logger: logger as never,
        maxBuffered: 5,
        flushIntervalMs: 60_000,
      });
      const tag = randomBytes(4).toString("hex");
      // The table away: every INSERT fails, as with the database down.
      await sql`alter table authentication_log rename to authentication_log_away`.execute(db);
      try {
        for (let i = 0; i < 7; i++)
          writer.record({ ip: "192.0.2.7", id: `${tag}-${i}` }, { type: "sign_out" });
        await writer.flush();
        assert.equal(writer.pending, 5, "bounded: the last two were dropped");
        assert.equal(warnings.length, 1, "the failure is reported once");
        assert.deepEqual(errors, [{ dropped: 1 }], "drops are counted and reported (once a minute)");
        await writer.flush();
        assert.equal(warnings.length, 1, "not again within the minute");
      } finally {
        await sql`alter table authentication_log_away rename to authentication_log`.execute(db);
      }
      await writer.flush();
      assert.equal(writer.pending, 0);
      const rows = await db
        .selectFrom("authentication_log")
        .select("request_id")
        .where("request_id", "like", `${tag}-%`)
        .orderBy("id")
        .execute();
      assert.deepEqual(
        rows.map((r) => r.request_id),
        [0, 1, 2, 3, 4].map((i) => `${tag}-${i}`),
      );
    });

    it("writes a full batch at once, what it holds on close, and nothing after", async () => {
      const db = server.storage.db;
      const tag = randomBytes(4).toString("hex");
      const count = async () =>
        (
          await db
            .selectFrom("authentication_log")
            .select("id")
            .where("request_id", "like", `${tag}-%`)
            .execute()
        ).length;
      const writer = new AuthenticationLog(db, {
        clock: server.services.clock,
        batchSize: 3,
        flushIntervalMs: 60_000,
      });
      for (let i = 0; i < 3; i++) writer.record({ ip: "192.0.2.9", id: `${tag}-${i}` }, { type: "sign_in" });
      const deadline = Date.now() + 3_000;
      while ((await count()) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(await count(), 3, "a full batch goes without waiting for the interval");
      writer.record({ ip: "192.0.2.9", id: `${tag}-3` }, { type: "sign_in" });
      assert.equal(await count(), 3);
      await writer.close();
      assert.equal(await count(), 4, "close writes what was waiting");
      writer.record({ ip: "192.0.2.9", id: `${tag}-4` }, { type: "sign_in" });
      await writer.flush();
      assert.equal(await count(), 4, "closed: nothing more is taken");
    });

    it("purges both logs past the retention in batches of 1000, keeping newer entries", async () => {
      const db = server.storage.db;
      const now = server.services.clock.now();
      const authRow = (id: string, created_at: number): AuthenticationLogTable => ({
        id,
        created_at,
        type: "token_issued",
        user_id: null,
        client_id: machine.clientId,
        grant_type: "client_credentials",
        method: null,
        ip_address: "192.0.2.1",
        request_id: null,
      });
      const auditRow = (id: string, created_at: number) => ({
        id,
        created_at,
        actor_type: "application" as const,
        actor_id: "a",
        client_id: "a",
        method: "POST",
        path: "/api/v1/users",
        status_code: 201,
        ip_address: null,
        request_id: null,
      });
      const old = Array.from({ length: 2_500 }, (_, i) =>
        authRow(`old-${String(i).padStart(5, "0")}`, now - 31 * DAY - i),
      );
      for (let i = 0; i < old.length; i += 250)
        await db
          .insertInto("authentication_log")
          .values(old.slice(i, i + 250))
          .execute();
      await db
        .insertInto("authentication_log")
        .values(authRow("recent", now - 29 * DAY))
        .execute();
      const oldAudit = Array.from({ length: 1_200 }, (_, i) => auditRow(`old-audit-${i}`, now - 40 * DAY));
      for (let i = 0; i < oldAudit.length; i += 200)
        await db
          .insertInto("audit_log")
          .values(oldAudit.slice(i, i + 200))
          .execute();
      await db
        .insertInto("audit_log")
        .values(auditRow("recent-audit", now - DAY))
        .execute();
      // The server's own entries (the earlier tests' token requests) are written before counting.
      await server.services.authenticationLog.flush();
      const before = {
        auth: await db.selectFrom("authentication_log").select("id").execute(),
        audit: await db.selectFrom("audit_log").select("id").execute(),
      };

      const result = await purgeAuditLogs(db, now, 30 * DAY);
      assert.deepEqual(
        result,
        { deleted: 3_700, statements: 2 + 3 },
        "1000 + 200 audit, 1000 + 1000 + 500 authentication",
      );
      const after = {
        auth: await db.selectFrom("authentication_log").select("id").execute(),
        audit: await db.selectFrom("audit_log").select("id").execute(),
      };
      assert.equal(after.auth.length, before.auth.length - 2_500);
      assert.equal(after.audit.length, before.audit.length - 1_200);
      assert.ok(
        after.auth.some((r) => r.id === "recent") && after.audit.some((r) => r.id === "recent-audit"),
      );
      assert.ok(!after.auth.some((r) => r.id.startsWith("old-")));

      // purgeExpired applies AUDIT_LOG_RETENTION_DAYS (here a week) to both logs.
      await purgeExpired(db, now, { auditLogRetentionSeconds: 7 * DAY });
      const left = await db
        .selectFrom("authentication_log")
        .select("id")
        .where("id", "=", "recent")
        .execute();
      const leftAudit = await db
        .selectFrom("audit_log")
        .select("id")
        .where("id", "=", "recent-audit")
        .execute();
      assert.deepEqual([left.length, leftAudit.length], [0, 1], "29 days old goes, 1 day old stays");
    });
  });
}

/** The compiled query with its parameters written in (EXPLAIN is sent here without bound values). */
function inline(text: string, parameters: readonly unknown[]): string {
  let position = 0;
  const literal = (value: unknown) =>
    typeof value === "number" ? String(value) : `'${String(value).replaceAll("'", "''")}'`;
  return text.replace(/\$(\d+)|\?/g, (_match, index: string | undefined) =>
    literal(index !== undefined ? parameters[Number(index) - 1] : parameters[position++]),
  );
}
