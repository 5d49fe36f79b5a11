// Faults short of a crash (security.md §3.1 guarantees 5, 8, 9): clock skew between two instances
// sharing one database, SQLite's write lock held by another connection past busy_timeout, and a
// graceful shutdown while requests are in flight.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { sql } from "kysely";
import type { Clock } from "../../src/clock.js";
import { CLOCK_TOLERANCE_SECONDS } from "../../src/oauth/tokens.js";
import { databaseKinds } from "../helpers/databases.js";
import { callApi, managementToken } from "../helpers/management.js";
import { runCli } from "../helpers/process.js";
import { freePort, startTestServer, type TestServer } from "../helpers/server.js";
import { form, send } from "./support.js";

const DAY = 24 * 60 * 60;

for (const { kind, skip } of await databaseKinds()) {
  describe(`clock skew between two instances (${kind})`, { skip }, () => {
    const servers: TestServer[] = [];
    after(async () => {
      for (const server of servers.reverse()) await server.close();
    });

    it(`tolerates ${CLOCK_TOLERANCE_SECONDS} s of skew on exp, refuses more`, async () => {
      // One deployment: the instances share the database, the issuer and the master key.
      const masterKey = randomBytes(32).toString("base64");
      const a = await startTestServer(kind, { env: { LATCHKEY_MASTER_KEY: masterKey } });
      servers.push(a);
      let skew = 0;
      const skewed: Clock = { now: () => Math.floor(Date.now() / 1000) + skew };
      // Instance B: same database and issuer, its own clock.
      const b = await startTestServer(kind, {
        database: a.database,
        clock: skewed,
        env: { ISSUER_URL: a.url, LATCHKEY_MASTER_KEY: masterKey },
      });
      servers.push(b);
      const token = await managementToken(a);
      const onB = async () => (await callApi(b, "GET", "/api/v1/business", { token })).status;

      assert.equal(await onB(), 200, "no skew");
      skew = -(CLOCK_TOLERANCE_SECONDS - 10);
      assert.equal(await onB(), 200, "B behind A within the leeway");
      // The token (24 h) seen from a clock running ahead: expired only past exp + leeway.
      skew = DAY + CLOCK_TOLERANCE_SECONDS - 10;
      assert.equal(await onB(), 200, "B ahead past exp but within the leeway");
      skew = DAY + CLOCK_TOLERANCE_SECONDS + 10;
      assert.equal(await onB(), 401, "B ahead past exp + leeway: refused");
      // An access token at userinfo and introspection follows the same rule on B.
      skew = DAY + CLOCK_TOLERANCE_SECONDS + 10;
      const introspected = await send(`${b.url}/oauth2/introspect`, {
        ...form({ token }),
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: `Basic ${Buffer.from(`${b.management.clientId}:${b.management.clientSecret}`).toString("base64")}`,
        },
      });
      assert.equal(introspected.status, 200, introspected.text);
      assert.deepEqual(introspected.json, { active: false });
    });

    it(`accepts a token issued by a clock up to ${CLOCK_TOLERANCE_SECONDS} s ahead, refuses one from further ahead`, async () => {
      const masterKey = randomBytes(32).toString("base64");
      let skew = 0;
      const ahead: Clock = { now: () => Math.floor(Date.now() / 1000) + skew };
      // Instance A's clock runs ahead and issues; instance B (true time) verifies.
      const a = await startTestServer(kind, { clock: ahead, env: { LATCHKEY_MASTER_KEY: masterKey } });
      servers.push(a);
      const b = await startTestServer(kind, {
        database: a.database,
        env: { ISSUER_URL: a.url, LATCHKEY_MASTER_KEY: masterKey },
      });
      servers.push(b);
      skew = CLOCK_TOLERANCE_SECONDS - 10;
      const within = await managementToken(a);
      assert.equal((await callApi(b, "GET", "/api/v1/business", { token: within })).status, 200);
      skew = CLOCK_TOLERANCE_SECONDS + 60;
      const beyond = await managementToken(a);
      const refused = await callApi(b, "GET", "/api/v1/business", { token: beyond });
      assert.equal(refused.status, 401, "iat too far in the future: refused");
      // The issuing instance itself, whose clock agrees with the token, still accepts it.
      assert.equal((await callApi(a, "GET", "/api/v1/business", { token: beyond })).status, 200);
    });
  });
}

describe("SQLite database turned read-only", () => {
  let server: TestServer | undefined;
  after(async () => server?.close());

  it("answers writes 503 in each surface's vocabulary (not 500), keeps serving, and recovers", async () => {
    server = await startTestServer("sqlite");
    const token = await managementToken(server);
    const before = await callApi(server, "GET", "/api/v1/apis", { token });
    assert.equal(before.status, 200);
    // query_only makes every write on the server's own connection fail with SQLITE_READONLY, as a
    // read-only file or a file system remounted read-only would (root ignores file permissions,
    // so chmod cannot show it in a test).
    await sql`pragma query_only = on`.execute(server.storage.db);
    try {
      const write = await callApi(server, "POST", "/api/v1/apis", {
        token,
        body: { name: "Read-only", audience: `https://ro-${randomBytes(3).toString("hex")}.example` },
      });
      assert.equal(write.status, 503, JSON.stringify(write.body));
      assert.equal((write.body as { errors: { code: string }[] }).errors[0]!.code, "SERVICE_UNAVAILABLE");
      assert.ok(Number(write.headers.get("retry-after")) >= 1, "Retry-After");
      // Reads may need a write (the per-caller rate-limit counter): 200 or 503, never 500.
      const read = await callApi(server, "GET", "/api/v1/apis", { token });
      assert.ok(read.status === 200 || read.status === 503, JSON.stringify(read.body));
      // Revocation writes: the OAuth surface answers temporarily_unavailable.
      const revoke = await send(`${server.url}/oauth2/revoke`, {
        ...form({ token }),
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: `Basic ${Buffer.from(`${server.management.clientId}:${server.management.clientSecret}`).toString("base64")}`,
        },
      });
      assert.equal(revoke.status, 503, revoke.text);
      assert.equal((revoke.json as { error: string }).error, "temporarily_unavailable");
      const live = await fetch(`${server.url}/health/live`);
      assert.equal(live.status, 200, "the process stays up");
    } finally {
      await sql`pragma query_only = off`.execute(server.storage.db);
    }
    const recovered = await callApi(server, "POST", "/api/v1/apis", {
      token,
      body: { name: "Writable again", audience: `https://rw-${randomBytes(3).toString("hex")}.example` },
    });
    assert.ok(recovered.status === 200 || recovered.status === 201, JSON.stringify(recovered.body));
    assert.doesNotMatch(server.logs.text, /"unhandled error"/);
  });
});

describe("SQLite write lock held past busy_timeout", () => {
  let server: TestServer | undefined;
  let holder: Database.Database | undefined;
  after(async () => {
    holder?.close();
    await server?.close();
  });

  it("answers 503 in each surface's vocabulary (not 500), then recovers when the lock is released", async () => {
    server = await startTestServer("sqlite");
    const token = await managementToken(server);
    assert.equal(server.database.target.kind, "sqlite");
    holder = new Database((server.database.target as { path: string }).path);
    holder.pragma("busy_timeout = 0");
    holder.exec("BEGIN IMMEDIATE");
    try {
      const write = await callApi(server, "POST", "/api/v1/apis", {
        token,
        body: { name: "Locked", audience: `https://locked-${randomBytes(3).toString("hex")}.example` },
      });
      assert.equal(write.status, 503, JSON.stringify(write.body));
      assert.equal((write.body as { errors: { code: string }[] }).errors[0]!.code, "SERVICE_UNAVAILABLE");
      assert.ok(Number(write.headers.get("retry-after")) >= 1, "Retry-After");
      const tokenRequest = await send(
        `${server.url}/oauth2/token`,
        form({
          grant_type: "client_credentials",
          client_id: server.management.clientId,
          client_secret: server.management.clientSecret,
          audience: `${server.url}/api`,
        }),
      );
      // Issuing an M2M token may need no write at all; if it does, it must be a 503, never a 500.
      assert.ok(tokenRequest.status === 200 || tokenRequest.status === 503, tokenRequest.text);
      if (tokenRequest.status === 503) {
        assert.equal((tokenRequest.json as { error: string }).error, "temporarily_unavailable");
      }
    } finally {
      holder.exec("ROLLBACK");
    }
    const recovered = await callApi(server, "POST", "/api/v1/apis", {
      token,
      body: { name: "Unlocked", audience: `https://unlocked-${randomBytes(3).toString("hex")}.example` },
    });
    assert.ok(recovered.status === 200 || recovered.status === 201, JSON.stringify(recovered.body));
    assert.doesNotMatch(server.logs.text, /"unhandled error"/);
  });
});

describe("graceful shutdown under load", () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("finishes every in-flight request on SIGTERM, refuses new connections, and exits 0", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "latchkey-drain-"));
    dirs.push(dir);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const m2m = { clientId: randomBytes(16).toString("hex"), clientSecret: randomBytes(24).toString("hex") };
    const cli = runCli(["start"], {
      env: {
        PORT: String(port),
        HOST: "127.0.0.1",
        ISSUER_URL: url,
        DATA_DIR: dir,
        DATABASE_URL: `sqlite:${dir}/db.sqlite`,
        BOOTSTRAP_M2M_CLIENT_ID: m2m.clientId,
        BOOTSTRAP_M2M_CLIENT_SECRET: m2m.clientSecret,
        MANAGEMENT_API_RATE_LIMIT: "0",
      },
    });
    try {
      await cli.waitFor(/Latchkey is listening/, 60_000);
      // Ten token requests whose bodies are still arriving when SIGTERM lands: in flight for sure.
      const body = new URLSearchParams({
        grant_type: "client_credentials",
        client_id: m2m.clientId,
        client_secret: m2m.clientSecret,
        audience: `${url}/api`,
      }).toString();
      const sockets = await Promise.all(
        Array.from({ length: 10 }, async () => {
          const socket = net.connect(port, "127.0.0.1");
          await new Promise((resolve) => socket.once("connect", resolve));
          let response = "";
          socket.on("data", (chunk) => {
            response += chunk.toString();
          });
          const ended = new Promise<string>((resolve) => socket.once("close", () => resolve(response)));
          socket.write(
            "POST /oauth2/token HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
              `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n`,
          );
          socket.write(body.slice(0, 10));
          return { socket, ended };
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      cli.kill("SIGTERM");
      await cli.waitFor(/shutting down/);
      // Meanwhile new connections are refused.
      await assert.rejects(fetch(`${url}/health/live`), "no new connections while draining");
      for (const { socket } of sockets) socket.write(body.slice(10));
      const responses = await Promise.all(sockets.map((s) => s.ended));
      for (const response of responses) {
        assert.match(response, /^HTTP\/1\.1 200 /, response.slice(0, 300));
        assert.match(response, /"access_token":"/);
      }
      assert.deepEqual(await cli.exited, { code: 0, signal: null }, cli.output().slice(-2000));
      assert.match(cli.output(), /shutdown complete/);
    } finally {
      cli.kill("SIGKILL");
    }
  });
});
