// Issue 21: round trips to PostgreSQL per operation, counted (never timed) from the driver — every
// statement a connection sends is one round trip; a write outside BEGIN … COMMIT is a commit of its
// own. The ceilings below are today's counts: a change that adds a round trip to one of these paths
// fails here and has to say why (and raise the ceiling) or find another way. docs/performance.md
// keeps the table and the targets.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { backChannel, exchangeCode, pkcePair, type TokenResponse } from "../helpers/tokens.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

interface Counted {
  statements: number;
  commits: number;
  sql: string[];
}

/**
 * Tables of the process's background workers (outboxes, log writer), not of the request. The
 * webhook worker's poll starts from "webhooks" (endpoints due for delivery); it ran inside a
 * refresh's count once in CI and made it look like 4 round trips.
 */
const BACKGROUND_TABLES = new Set([
  "mail_messages",
  "webhooks",
  "webhook_deliveries",
  "events",
  "sms_outbox",
  "authentication_log",
]);

/**
 * A worker's statement: one whose first table is a worker's. An event and its deliveries inserted
 * by the request (the outbox rows of its own transaction or statement) are the request's, and
 * count: one statement naming them among other writes must not vanish from the count either.
 */
function isBackground(sql: string): boolean {
  const table = /\b(?:from|into|update)\s+"(\w+)"/i.exec(sql)?.[1];
  if (table === undefined || !BACKGROUND_TABLES.has(table)) return false;
  return !/^\s*insert into "(events|webhook_deliveries)"/i.test(sql);
}

class Recorder {
  private recording = false;
  private log: { sql: string; connection: number }[] = [];
  readonly onStatement = (sql: string, connection: number) => {
    if (this.recording) this.log.push({ sql, connection });
  };

  async count(operation: () => Promise<unknown>): Promise<Counted> {
    this.log = [];
    this.recording = true;
    try {
      await operation();
    } finally {
      this.recording = false;
    }
    const ours = this.log.filter(({ sql }) => !isBackground(sql));
    const inTransaction = new Map<number, boolean>();
    let commits = 0;
    for (const { sql, connection } of ours) {
      const verb = sql.trim().split(/\s+/)[0]!.toLowerCase();
      if (verb === "begin") inTransaction.set(connection, true);
      else if (verb === "commit") {
        inTransaction.set(connection, false);
        commits++;
      } else if (verb === "rollback") inTransaction.set(connection, false);
      else if (!inTransaction.get(connection) && /^(insert|update|delete|with)\b/i.test(sql.trim()))
        commits++;
    }
    return { statements: ours.length, commits, sql: ours.map(({ sql }) => sql.slice(0, 160)) };
  }
}

/** Today's counts (ceilings) and the targets, per operation. */
const CEILINGS = {
  "client credentials (warm)": { statements: 1, commits: 0, target: "0 round trips" },
  "sign-in (password form)": { statements: 5, commits: 2, target: "≤ 5 round trips, ≤ 2 commits" },
  // A user's first code exchange or refresh (or the first after a change to their claims) computes
  // the cached claim parts in a statement of their own (migration 0045); the next ones find them.
  "code exchange (claims computed)": { statements: 3, commits: 1, target: "≤ 3 round trips, 1 commit" },
  "code exchange": { statements: 2, commits: 1, target: "≤ 3 round trips, 1 commit" },
  "refresh (claims computed)": { statements: 3, commits: 1, target: "≤ 3 round trips, 1 commit" },
  refresh: { statements: 2, commits: 1, target: "≤ 3 round trips, 1 commit" },
} as const;

for (const { kind, skip } of await databaseKinds()) {
  if (kind !== "postgres") continue;
  describe("round trips to PostgreSQL per operation", { skip }, () => {
    const recorder = new Recorder();
    let server: TestServer;
    before(async () => {
      // Signing keys cached as in production (the default outside tests is 300 s).
      server = await startTestServer(kind, { onStatement: recorder.onStatement, keyCacheSeconds: 300 });
    });
    after(async () => server?.close());

    const check = (name: keyof typeof CEILINGS, counted: Counted) => {
      const ceiling = CEILINGS[name];
      const detail = `${name}: ${counted.statements} statements, ${counted.commits} commits (target ${ceiling.target})\n  ${counted.sql.join("\n  ")}`;
      console.log(detail);
      assert.ok(counted.statements <= ceiling.statements, `more round trips than before — ${detail}`);
      assert.ok(counted.commits <= ceiling.commits, `more commits than before — ${detail}`);
    };

    it("client credentials on a warm cache", async () => {
      const app = await createApplication(server, "m2m");
      const ask = () =>
        backChannel(server, "/oauth2/token", {
          grant_type: "client_credentials",
          client_id: app.clientId,
          client_secret: app.clientSecret!,
        });
      assert.equal((await ask()).status, 200);
      let status = 0;
      check("client credentials (warm)", await recorder.count(async () => ({ status } = await ask())));
      assert.equal(status, 200);
    });

    it("a code or refresh token presented without well-formed client credentials reads nothing", async () => {
      // The token endpoint reads the code or token before it looks the client up (the read carries
      // the freshness check), but only once the credentials are there and well-formed.
      for (const [fields, authorization] of [
        [{ grant_type: "refresh_token", refresh_token: "x" }, undefined],
        [{ grant_type: "authorization_code", code: "x", redirect_uri: CALLBACK }, "Basic !!"],
        [
          { grant_type: "refresh_token", refresh_token: "x", client_id: "a", client_secret: "b" },
          "Basic YTpi",
        ],
      ] as const) {
        let status = 0;
        const counted = await recorder.count(async () => {
          const response = await fetch(`${server.url}/oauth2/token`, {
            method: "POST",
            headers: {
              "content-type": "application/x-www-form-urlencoded",
              ...(authorization ? { authorization } : {}),
            },
            body: new URLSearchParams(fields),
          });
          status = response.status;
          await response.body?.cancel();
        });
        assert.ok(status === 400 || status === 401, `${JSON.stringify(fields)}: ${status}`);
        assert.deepEqual(counted.sql, [], JSON.stringify(fields));
      }
    });

    it("a password sign-in, its code exchange and a refresh", async () => {
      const { clientId } = await createApplication(server, "spa");
      const { verifier, challenge } = pkcePair();
      /** A person signs in on a new browser; the form's page is loaded outside the count. */
      const signIn = async (user: { email: string; password: string }) => {
        const agent = new UserAgent(server.url);
        const url = authorizationUrl(server, clientId, CALLBACK, {
          scope: "openid offline",
          code_challenge: challenge,
        });
        const fields = await agent.openSignIn(url);
        let redirect: URL | undefined;
        const counted = await recorder.count(async () => {
          redirect = await agent.redirectFrom("/auth/sign-in", {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({ ...fields, email: user.email, password: user.password }),
          });
        });
        return { redirect, counted };
      };
      // The first sign-in and its exchange fill the configuration cache (business policies, the
      // application, the public property definitions), as every one after the first finds it in
      // production; the second is counted.
      const first = await signIn(await createUser(server));
      assert.ok((await exchangeCode(server, first.redirect!, { clientId, verifier })).access_token);
      const user = await createUser(server);
      const { redirect, counted } = await signIn(user);
      check("sign-in (password form)", counted);
      assert.ok(redirect?.searchParams.get("code"), String(redirect));

      let tokens: TokenResponse | undefined;
      check(
        "code exchange (claims computed)",
        await recorder.count(async () => {
          tokens = await exchangeCode(server, redirect!, { clientId, verifier });
        }),
      );
      assert.ok(tokens?.refresh_token);

      for (const name of ["refresh", "refresh (claims computed)"] as const) {
        // Kinde's "invalidate cache" for the user: the next refresh computes the parts again.
        if (name === "refresh (claims computed)")
          assert.equal(
            (await callApi(server, "POST", `/api/v1/users/${user.id}/refresh_claims`)).status,
            200,
          );
        let refreshed: TokenResponse | undefined;
        check(
          name,
          await recorder.count(async () => {
            const answer = await backChannel(server, "/oauth2/token", {
              grant_type: "refresh_token",
              client_id: clientId,
              refresh_token: tokens!.refresh_token!,
            });
            assert.equal(answer.status, 200);
            refreshed = answer.body as unknown as TokenResponse;
          }),
        );
        tokens = refreshed;
      }

      // The same person again, on another browser: the exchange finds the parts cached.
      const again = await signIn(user);
      let exchanged: TokenResponse | undefined;
      check(
        "code exchange",
        await recorder.count(async () => {
          exchanged = await exchangeCode(server, again.redirect!, { clientId, verifier });
        }),
      );
      assert.ok(exchanged?.access_token);
    });
  });
}
