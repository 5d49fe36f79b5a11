// The usual end of a sign-in commits its writes together (src/sign-in/sign-in-finish.ts,
// finishTogether; issue 21): the session, the account's sign-in counters, the request's completion,
// the organization entered and the code. So a request that another submission completed first
// writes nothing — no second browser session for a sign-in that gives no code — and a correct
// password's throttle counter is reset in the same commit.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`a sign-in's writes commit together (${kind})`, { skip }, () => {
    let server: TestServer;
    let clientId: string;
    before(async () => {
      server = await startTestServer(kind);
      ({ clientId } = await createApplication(server, "spa"));
    });
    after(async () => server?.close());

    const openForm = (agent: UserAgent) => agent.openSignIn(authorizationUrl(server, clientId, CALLBACK));

    const post = (agent: UserAgent, fields: Record<string, string>, password: string, email: string) =>
      agent.request("/auth/sign-in", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ ...fields, email, password }),
      });

    it("a form submitted twice at once gives one code and one session", async () => {
      const user = await createUser(server);
      const agent = new UserAgent(server.url);
      const fields = await openForm(agent);
      const answers = await Promise.all([
        post(agent, fields, user.password, user.email),
        post(agent, fields, user.password, user.email),
      ]);
      const statuses = answers.map((answer) => answer.status).sort();
      assert.deepEqual(statuses, [303, 400], "one completes the request, the other finds it spent");
      const code = answers.find((answer) => answer.status === 303)!.headers.get("location");
      assert.ok(code && new URL(code).searchParams.get("code"), String(code));
      const sessions = await server.storage.db
        .selectFrom("browser_sessions")
        .select("id")
        .where("user_id", "=", user.id)
        .execute();
      assert.equal(sessions.length, 1, "the submission that found the request spent wrote no session");
      const counted = await server.storage.db
        .selectFrom("users")
        .select("total_sign_ins")
        .where("id", "=", user.id)
        .executeTakeFirstOrThrow();
      assert.equal(Number(counted.total_sign_ins), 1, "nor counted a sign-in");
    });

    it("a correct password resets the account-and-address counter with the sign-in", async () => {
      const user = await createUser(server);
      const agent = new UserAgent(server.url);
      const fields = await openForm(agent);
      for (let attempt = 0; attempt < 3; attempt++)
        assert.equal((await post(agent, fields, "wrong-password", user.email)).status, 401);
      const counters = () =>
        server.storage.db
          .selectFrom("rate_limits")
          .select(["key", "count"])
          .where("key", "like", `sign-in:account-ip:${user.email}:%`)
          .execute();
      assert.deepEqual(
        (await counters()).map((row) => Number(row.count)),
        [3],
      );
      assert.equal((await post(agent, fields, user.password, user.email)).status, 303);
      assert.deepEqual(
        (await counters()).map((row) => Number(row.count)),
        [0],
        "reset once the sign-in committed",
      );
    });
  });
}
