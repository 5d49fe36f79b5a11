import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { callApi, managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

interface AuditPage {
  entries: {
    actor_type: string;
    actor_id: string;
    method: string;
    path: string;
    status_code: number;
    ip_address: string;
  }[];
  next_token: string | null;
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`Management API audit log and rate limit (${kind})`, { skip }, () => {
    let server: TestServer;
    let token: string;
    before(async () => {
      server = await startTestServer(kind, { env: { MANAGEMENT_API_RATE_LIMIT: "40" } });
      token = await managementToken(server);
    });
    after(async () => server?.close());

    it("records every write — who, what, outcome, from where — newest first, and not reads", async () => {
      await callApi(server, "POST", "/api/v1/applications", {
        token,
        body: { name: "Audited", type: "reg" },
      });
      await callApi(server, "POST", "/api/v1/applications", { token, body: { name: "", type: "reg" } });
      await callApi(server, "GET", "/api/v1/applications", { token });
      const { status, body } = await callApi<AuditPage>(server, "GET", "/api/v1/audit_log?page_size=10", {
        token,
      });
      assert.equal(status, 200);
      assert.equal(body.entries.length, 2, "reads are not audited");
      const [failed, created] = body.entries;
      assert.deepEqual(
        { ...created!, ip_address: undefined },
        {
          ...created!,
          actor_type: "application",
          actor_id: server.management.clientId,
          method: "POST",
          path: "/api/v1/applications",
          status_code: 201,
          ip_address: undefined,
        },
      );
      assert.equal(failed!.status_code, 400, "failed writes are recorded too");
      assert.equal(created!.ip_address, "127.0.0.1");
      const limited = await managementToken(server, "read:applications");
      assert.equal((await callApi(server, "GET", "/api/v1/audit_log", { token: limited })).status, 403);
    });

    it("answers 429 with RateLimit-Reset past the per-caller limit, counted in the database", async () => {
      let last: Awaited<ReturnType<typeof callApi>> | undefined;
      for (let i = 0; i < 45; i++) {
        last = await callApi(server, "GET", "/api/v1/business", { token });
        if (last.status === 429) break;
      }
      assert.equal(last!.status, 429);
      assert.deepEqual(last!.body, {
        errors: [{ code: "TOO_MANY_REQUESTS", message: "Rate limit of 40 requests per minute exceeded" }],
      });
      const reset = Number(last!.headers.get("ratelimit-reset"));
      assert.ok(reset >= 1 && reset <= 60, `RateLimit-Reset ${reset}`);
      const counter = await server.storage.db
        .selectFrom("rate_limits")
        .select("count")
        .where("key", "=", `management:${server.management.clientId}`)
        .executeTakeFirstOrThrow();
      assert.ok(Number(counter.count) > 40);
    });
  });
}
