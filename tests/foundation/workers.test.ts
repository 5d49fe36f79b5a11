// `latchkey start --workers N`: one primary that migrates and bootstraps once, N worker processes
// sharing the port and the database; a dead worker is replaced; SIGTERM drains them all.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { randomAlphanumeric } from "../../src/crypto/random.js";
import { MIGRATIONS } from "../../src/storage/migrate.js";
import { databaseKinds, freshDatabase, type TestDatabase } from "../helpers/databases.js";
import { type CliProcess, runCli } from "../helpers/process.js";
import { freePort } from "../helpers/server.js";

const running: CliProcess[] = [];
const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const p of running) p.kill();
  for (const step of cleanup) await step();
});

/** The cluster workers of a primary: its child processes running the CLI (not tsx's helpers). */
function workerPids(primary: number): number[] {
  const children = readdirSync(`/proc/${primary}/task`).flatMap((tid) =>
    readFileSync(`/proc/${primary}/task/${tid}/children`, "utf8").trim().split(/\s+/).filter(Boolean),
  );
  return children.map(Number).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("cli.ts");
    } catch {
      return false;
    }
  });
}

const count = (text: string, pattern: RegExp) => text.match(new RegExp(pattern, "g"))?.length ?? 0;

async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const kinds = await databaseKinds();

describe("latchkey start --workers", () => {
  it("refuses a worker count that is not a positive number", async () => {
    for (const bad of ["0", "many", "-2"]) {
      const cli = runCli(["start", "--workers", bad]);
      running.push(cli);
      assert.equal((await cli.exited).code, 2, bad);
      assert.match(cli.output(), /--workers takes a number/);
    }
  });

  for (const { kind, skip } of kinds) {
    it(`serves from two workers on one ${kind} database, replaces a dead one and drains on SIGTERM`, {
      skip,
    }, async () => {
      const database: TestDatabase = (await freshDatabase(kind))!;
      const dir = mkdtempSync(path.join(tmpdir(), "latchkey-workers-"));
      cleanup.push(async () => {
        await database.drop();
        rmSync(dir, { recursive: true, force: true });
      });
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const client = { id: randomBytes(16).toString("hex"), secret: randomAlphanumeric(52) };
      const cli = runCli(["start", "--workers", "2"], {
        env: {
          PORT: String(port),
          HOST: "127.0.0.1",
          ISSUER_URL: url,
          DATA_DIR: dir,
          DATABASE_URL:
            database.target.kind === "sqlite" ? `sqlite:${database.target.path}` : database.target.url,
          LATCHKEY_MASTER_KEY: randomBytes(32).toString("base64"),
          BOOTSTRAP_M2M_CLIENT_ID: client.id,
          BOOTSTRAP_M2M_CLIENT_SECRET: client.secret,
        },
      });
      running.push(cli);
      await until(() => count(cli.output(), /Latchkey is listening/) === 2, "two workers", 60_000);
      assert.match(cli.output(), /Latchkey primary started 2 workers/);
      // Migrations ran once, in the primary, before any worker served.
      assert.equal(count(cli.output(), /"applied migration"/), Object.keys(MIGRATIONS).length);
      const primary = cli.child.pid!;
      const workers = workerPids(primary);
      assert.equal(workers.length, 2, "two worker processes");

      // Both workers answer on the one port, with keys from the shared database.
      const jwks = createRemoteJWKSet(new URL("/.well-known/jwks", url));
      const tokens = await Promise.all(
        Array.from({ length: 20 }, async () => {
          const response = await fetch(`${url}/oauth2/token`, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({
              grant_type: "client_credentials",
              client_id: client.id,
              client_secret: client.secret,
              audience: `${url}/api`,
            }),
          });
          assert.equal(response.status, 200);
          return ((await response.json()) as { access_token: string }).access_token;
        }),
      );
      for (const token of tokens) await jwtVerify(token, jwks, { issuer: url });

      // A worker that dies is replaced, and the port keeps answering meanwhile.
      process.kill(workers[0]!, "SIGKILL");
      await until(() => /starting another/.test(cli.output()), "the primary to notice");
      await until(() => count(cli.output(), /Latchkey is listening/) === 3, "a replacement worker", 60_000);
      assert.equal((await fetch(`${url}/health/ready`)).status, 200);
      const replaced = workerPids(primary);
      assert.equal(replaced.length, 2);
      assert.ok(!replaced.includes(workers[0]!));

      // SIGTERM to the primary: every worker finishes what it has in flight, then all exit 0.
      const socket = net.connect(port, "127.0.0.1");
      await new Promise((resolve) => socket.once("connect", resolve));
      let response = "";
      socket.on("data", (chunk) => {
        response += chunk.toString();
      });
      const body = JSON.stringify({ hello: "world" });
      socket.write(
        `POST /health/live HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      socket.write(body.slice(0, 5));
      await new Promise((resolve) => setTimeout(resolve, 300));
      cli.kill("SIGTERM");
      await until(() => /draining workers/.test(cli.output()), "the primary to forward the signal");
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(cli.child.exitCode, null, "the primary waits for the workers");
      socket.write(body.slice(5));
      await new Promise((resolve) => socket.once("end", resolve));
      assert.match(response, /^HTTP\/1\.1 4\d\d /, "the in-flight request got its answer");
      assert.deepEqual(await cli.exited, { code: 0, signal: null });
      assert.equal(count(cli.output(), /"shutdown complete"/), 2, "both workers drained and exited");
      assert.match(cli.output(), /all workers stopped; shutdown complete/);
    });
  }
});
