import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { databaseKinds, postgresDatabase, type TestDatabase } from "../helpers/databases.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { TcpProxy } from "../helpers/tcp-proxy.js";

const postgres = (await databaseKinds()).find((k) => k.kind === "postgres")!;

async function waitForStatus(url: string, status: number, timeoutMs = 15_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const response = await fetch(url);
    await response.arrayBuffer();
    if (response.status === status) return Date.now() - started;
    if (Date.now() - started > timeoutMs) assert.fail(`${url} stayed ${response.status}, expected ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("losing PostgreSQL", { skip: postgres.skip }, () => {
  let server: TestServer | undefined;
  let database: TestDatabase | undefined;
  const proxy = new TcpProxy("127.0.0.1", 5432);
  after(async () => {
    await proxy.cut();
    await server?.close();
    await database?.drop();
  });

  it("turns readiness to 503 without crashing, and back to 200 when the database returns", async () => {
    database = (await postgresDatabase())!;
    const port = await proxy.start();
    const direct = new URL((database.target as { url: string }).url);
    direct.port = String(port);
    server = await startTestServer("postgres", {
      database: { target: { kind: "postgres", url: direct.href }, drop: async () => {} },
    });
    const ready = `${server.url}/health/ready`;
    assert.equal((await fetch(ready)).status, 200);

    await proxy.cut(); // every pooled connection drops, new ones are refused
    await waitForStatus(ready, 503);
    const body = await (await fetch(ready)).json();
    assert.deepEqual(body, { status: "unavailable", database: "unreachable" });
    assert.equal((await fetch(`${server.url}/health/live`)).status, 200, "the process stays up");
    // Requests that need the database answer 503 in their own vocabulary, never 500.
    const token = await fetch(`${server.url}/oauth2/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: server.management.clientId,
        client_secret: server.management.clientSecret,
      }),
    });
    assert.equal(token.status, 503);
    assert.equal(((await token.json()) as { error: string }).error, "temporarily_unavailable");
    const page = await fetch(`${server.url}/oauth2/auth?client_id=x`);
    assert.equal(page.status, 503);
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);

    await proxy.restore();
    const recoveredIn = await waitForStatus(ready, 200);
    assert.ok(recoveredIn < 5_000, `recovered in ${recoveredIn} ms`);
    assert.match(server.logs.text, /readiness check failed/);
  });
});
