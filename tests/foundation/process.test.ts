import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { databaseKinds, postgresDatabase } from "../helpers/databases.js";
import { type CliProcess, runCli, startOutcome } from "../helpers/process.js";
import { freePort } from "../helpers/server.js";
import { selfSignedCertificate } from "../helpers/tls.js";

const postgresSkip = (await databaseKinds()).find((k) => k.kind === "postgres")!.skip;
const running: CliProcess[] = [];
const dirs: string[] = [];
after(() => {
  for (const p of running) p.kill();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "latchkey-proc-"));
  dirs.push(dir);
  return dir;
}

async function startCli(env: Record<string, string>, cwd?: string) {
  const port = await freePort();
  const cli = runCli(["start"], { env: { PORT: String(port), HOST: "127.0.0.1", ...env }, cwd });
  running.push(cli);
  await cli.waitFor(/Latchkey is listening/);
  return { cli, port };
}

describe("the latchkey process", () => {
  it("starts with zero configuration on SQLite under ./data and generates a master key", async () => {
    const cwd = tempDir();
    const { cli, port } = await startCli({}, cwd);
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
    assert.equal(ready.status, 200);
    assert.ok(existsSync(path.join(cwd, "data/latchkey.db")));
    assert.ok(existsSync(path.join(cwd, "data/master.key")));
    assert.match(cli.output(), /generated a new master key/);
    cli.kill("SIGTERM");
    assert.deepEqual(await cli.exited, { code: 0, signal: null });
  });

  it("keeps the default database in DATA_DIR beside the master key", async () => {
    const cwd = tempDir();
    const dataDir = path.join(tempDir(), "state");
    const { cli, port } = await startCli({ DATA_DIR: dataDir }, cwd);
    assert.equal((await fetch(`http://127.0.0.1:${port}/health/ready`)).status, 200);
    assert.ok(existsSync(path.join(dataDir, "latchkey.db")), "the database is in DATA_DIR");
    assert.ok(existsSync(path.join(dataDir, "master.key")), "so is the master key");
    assert.ok(!existsSync(path.join(cwd, "data")), "nothing under ./data");
    cli.kill("SIGTERM");
    assert.deepEqual(await cli.exited, { code: 0, signal: null });
  });

  it("refuses to start an empty database in DATA_DIR while the one earlier versions used sits in ./data", async () => {
    // Earlier versions kept the default database in ./data even when DATA_DIR (and the master
    // key) was elsewhere: an upgrade must not silently begin a new, empty installation.
    const cwd = tempDir();
    const dataDir = path.join(tempDir(), "state");
    const legacy = await startCli({ DATA_DIR: dataDir, DATABASE_URL: "sqlite:./data/latchkey.db" }, cwd);
    legacy.cli.kill("SIGTERM");
    assert.equal((await legacy.cli.exited).code, 0);
    assert.ok(existsSync(path.join(cwd, "data/latchkey.db")));

    const cli = runCli(["start"], { env: { PORT: String(await freePort()), DATA_DIR: dataDir }, cwd });
    running.push(cli);
    assert.deepEqual(await startOutcome(cli), { listening: false, code: 78 }, cli.output());
    assert.ok(cli.output().includes(path.join(cwd, "data/latchkey.db")), cli.output());
    assert.match(cli.output(), /set DATABASE_URL/);
    assert.ok(!existsSync(path.join(dataDir, "latchkey.db")), "no empty database was created");
  });

  it("serves HTTPS directly with TLS_CERT_FILE and TLS_KEY_FILE", async () => {
    const dir = tempDir();
    const certificate = selfSignedCertificate();
    const cert = certificate.certFile;
    const key = certificate.keyFile;
    const { cli, port } = await startCli({
      TLS_CERT_FILE: cert,
      TLS_KEY_FILE: key,
      DATA_DIR: dir,
      DATABASE_URL: `sqlite:${dir}/db.sqlite`,
    });
    const ready = await new Promise<{ status?: number; hsts?: string | string[] }>((resolve, reject) => {
      https
        .get(`https://localhost:${port}/health/ready`, { ca: readFileSync(cert) }, (res) => {
          res.resume();
          resolve({ status: res.statusCode, hsts: res.headers["strict-transport-security"] });
        })
        .on("error", reject);
    });
    assert.equal(ready.status, 200);
    assert.match(String(ready.hsts), /max-age=/);
    assert.match(cli.output(), new RegExp(`issuer https://localhost:${port}`));
    cli.kill("SIGTERM");
    assert.equal((await cli.exited).code, 0);
  });

  it("finishes an in-flight request on SIGTERM, refuses new connections, and exits 0", async () => {
    const dir = tempDir();
    const { cli, port } = await startCli({ DATA_DIR: dir, DATABASE_URL: `sqlite:${dir}/db.sqlite` });
    // A request whose body is still arriving when the signal lands.
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
    await new Promise((resolve) => setTimeout(resolve, 200));

    cli.kill("SIGTERM");
    await cli.waitFor(/shutting down/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(cli.child.exitCode, null, "the process waits for the in-flight request");
    await assert.rejects(
      fetch(`http://127.0.0.1:${port}/health/live`),
      "new connections are refused while draining",
    );

    socket.write(body.slice(5));
    await new Promise((resolve) => socket.once("end", resolve));
    assert.match(response, /^HTTP\/1\.1 405/, "the in-flight request got its answer (POST on a GET route)");
    assert.deepEqual(await cli.exited, { code: 0, signal: null });
    assert.match(cli.output(), /shutdown complete/);
  });

  it("stops at start with one message naming every bad key", async () => {
    const cli = runCli(["start"], {
      env: { PORT: "not-a-port", DATABASE_URL: "mysql://nope", NODE_ENV: "production" },
    });
    running.push(cli);
    const { code } = await cli.exited;
    assert.equal(code, 78);
    const output = cli.output();
    assert.match(output, /Invalid configuration \(4 problems\)/);
    assert.match(output, /PORT: must be an integer/);
    assert.match(output, /DATABASE_URL: must start with sqlite: or postgres:\/\//);
    assert.match(output, /LATCHKEY_MASTER_KEY: is required when NODE_ENV=production/);
    assert.match(output, /SMTP_URL: is required when NODE_ENV=production/);
    assert.doesNotMatch(output, /at .*\.ts:\d+/, "no stack trace for a configuration error");
  });

  it("prints help and migrates from the command line", async () => {
    const help = runCli(["--help"]);
    assert.equal((await help.exited).code, 0);
    assert.match(help.output(), /Usage: latchkey <command>/);
    assert.match(help.output(), /DATABASE_URL/);

    const dir = tempDir();
    const migrate = runCli(["migrate"], { env: { DATABASE_URL: `sqlite:${dir}/db.sqlite`, DATA_DIR: dir } });
    assert.equal((await migrate.exited).code, 0, migrate.output());
    assert.match(migrate.output(), /applied migration/);

    const unknown = runCli(["frobnicate"]);
    assert.equal((await unknown.exited).code, 2);
    assert.match(unknown.output(), /unknown command "frobnicate"/);
  });

  it("starts on PostgreSQL from DATABASE_URL", { skip: postgresSkip }, async () => {
    const database = (await postgresDatabase())!;
    try {
      const dir = tempDir();
      const { cli, port } = await startCli({
        DATABASE_URL: (database.target as { url: string }).url,
        DATA_DIR: dir,
      });
      assert.equal((await fetch(`http://127.0.0.1:${port}/health/ready`)).status, 200);
      cli.kill("SIGTERM");
      assert.equal((await cli.exited).code, 0);
    } finally {
      await database.drop();
    }
  });
});
