import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { databaseKinds, postgresDatabase, type TestDatabase } from "../helpers/databases.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { TcpProxy } from "../helpers/tcp-proxy.js";

const postgres = (await databaseKinds()).find((k) => k.kind === "postgres")!;

describe("losing PostgreSQL", { skip: postgres.skip }, () => {
  let server: TestServer | undefined;
  let database: TestDatabase | undefined;
  const proxy = new TcpProxy("127.0.0.1", 5432);
  after(async () => {
    await proxy.cut();
    await server?.close();
    await database?.drop();
  });

  // No bound on how long recovery takes: the first request after the database is back must succeed
  // (nothing to wait for), and the test's timeout is the hang guard.
  it("turns readiness to 503 without crashing, and serves the first request once the database returns", {
    timeout: 60_000,
  }, async () => {
    database = (await postgresDatabase())!;
    const port = await proxy.start();
    const direct = new URL((database.target as { url: string }).url);
    direct.port = String(port);
    server = await startTestServer("postgres", {
      database: { target: { kind: "postgres", url: direct.href }, drop: async () => {} },
    });
    const { url, management } = server;
    const ready = () => fetch(`${url}/health/ready`);
    const token = () =>
      fetch(`${url}/oauth2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: management.clientId,
          client_secret: management.clientSecret,
        }),
      });
    // An unknown client: the page must read the database to say so.
    const page = () => fetch(`${url}/oauth2/auth?client_id=x`);

    // Before: pooled connections to the database exist (the requests below leave them idle).
    const before = { token: await token(), page: await page(), ready: await ready() };
    assert.equal(before.token.status, 200);
    assert.equal(typeof ((await before.token.json()) as { access_token?: unknown }).access_token, "string");
    assert.notEqual(before.page.status, 503);
    const pageBefore = await before.page.text();
    assert.deepEqual(await before.ready.json(), { status: "ready", database: "ok" });

    await proxy.cut(); // every pooled connection drops, new ones are refused

    // During: the first readiness check already knows (no cached verdict), and every later one.
    for (let check = 0; check < 3; check++) {
      const during = await ready();
      assert.equal(during.status, 503, `readiness check ${check + 1} during the outage`);
      assert.deepEqual(await during.json(), { status: "unavailable", database: "unreachable" });
    }
    assert.equal((await fetch(`${url}/health/live`)).status, 200, "the process stays up");
    // Requests that need the database answer 503 in their own vocabulary, never 500.
    const refused = await token();
    assert.equal(refused.status, 503);
    assert.equal(((await refused.json()) as { error: string }).error, "temporarily_unavailable");
    const pageDuring = await page();
    assert.equal(pageDuring.status, 503);
    assert.match(pageDuring.headers.get("content-type") ?? "", /text\/html/);
    await pageDuring.arrayBuffer();
    assert.match(server.logs.text, /readiness check failed/);

    await proxy.restore();

    // After: the very first request succeeds (no dead connection is handed out, no back-off to sit
    // out), then readiness and the page answer as before the outage.
    const first = await token();
    assert.equal(first.status, 200, "the first request after the database returns");
    assert.equal(typeof ((await first.json()) as { access_token?: unknown }).access_token, "string");
    const readyAfter = await ready();
    assert.equal(readyAfter.status, 200, "readiness after the database returns");
    assert.deepEqual(await readyAfter.json(), { status: "ready", database: "ok" });
    const pageAfter = await page();
    assert.equal(pageAfter.status, before.page.status, "the page after the database returns");
    assert.equal(await pageAfter.text(), pageBefore);
  });
});
