// What `npm start` and the `latchkey` binary run: dist/cli.js, the server bundled into one file
// (scripts/bundle.mjs). Every other test runs the TypeScript source; this one checks that the
// bundle still finds what it loads at run time — the password-hashing worker, the dashboard's
// files, package.json, the list of common passwords, the OpenAPI UI and pg left outside it — and
// behaves as the source does.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { type CliProcess, ROOT, runScript } from "../helpers/process.js";
import { freePort } from "../helpers/server.js";

const BUILT_CLI = "dist/cli.js";
const running: CliProcess[] = [];
const dir = mkdtempSync(path.join(tmpdir(), "latchkey-build-"));
after(() => {
  for (const p of running) p.kill();
  rmSync(dir, { recursive: true, force: true });
});

/** `npm run build` without its dashboard step: scripts/test.mjs compiled the dashboard already. */
function build(): void {
  for (const args of [
    ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"],
    ["scripts/bundle.mjs"],
  ]) {
    const result = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", timeout: 180_000 });
    assert.equal(result.status, 0, `${args.join(" ")} failed:\n${result.stdout}${result.stderr}`);
  }
}

describe("the built server (dist/cli.js)", { timeout: 240_000 }, () => {
  before(build);

  it("is one file: no module of ours is loaded beside it", () => {
    const code = readFileSync(path.join(ROOT, BUILT_CLI), "utf8");
    // esbuild writes imports with double quotes (a JSDoc type may say import('../x') in a comment).
    assert.doesNotMatch(code, /\bfrom "\.{1,2}\//, "a static relative import");
    assert.doesNotMatch(code, /\bimport\("\.{1,2}\//, "a dynamic relative import");
    assert.match(code, /^#!\/usr\/bin\/env node\n/, "still runnable as the `latchkey` binary");
  });

  it("is ASCII, so V8 holds its source at one byte a character (scripts/bundle.mjs)", () => {
    const code = readFileSync(path.join(ROOT, BUILT_CLI), "utf8");
    const found = /[\u0080-\uffff]/.exec(code);
    assert.equal(
      found,
      null,
      `a non-ASCII character in: ${code.slice((found?.index ?? 0) - 60, (found?.index ?? 0) + 20)}`,
    );
  });

  it("prints the package's version", async () => {
    const cli = runScript(BUILT_CLI, { tsx: false }, ["version"]);
    assert.deepEqual(await cli.exited, { code: 0, signal: null });
    const { version } = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      version: string;
    };
    assert.equal(cli.output().trim(), `latchkey ${version}`);
  });

  it("finds the list of common passwords (resources/) and refuses a common administrator password", async () => {
    const cli = runScript(
      BUILT_CLI,
      {
        tsx: false,
        cwd: dir,
        env: { BOOTSTRAP_ADMIN_EMAIL: "admin@example.com", BOOTSTRAP_ADMIN_PASSWORD: "password123" },
      },
      ["start"],
    );
    running.push(cli);
    assert.deepEqual(await cli.exited, { code: 78, signal: null }, cli.output());
    assert.match(cli.output(), /BOOTSTRAP_ADMIN_PASSWORD: This password is too common/);
  });

  it("starts, hashes a password in its worker, serves the dashboard and API docs, logs, and stops", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const cli = runScript(
      BUILT_CLI,
      {
        tsx: false,
        cwd: dir,
        env: {
          PORT: String(port),
          HOST: "127.0.0.1",
          ISSUER_URL: base,
          LOG_LEVEL: "info",
          // Created at start: its password is hashed by the worker thread, whose script the
          // bundle must find next to it.
          BOOTSTRAP_ADMIN_EMAIL: "admin@example.com",
          BOOTSTRAP_ADMIN_PASSWORD: "correct horse battery staple",
        },
      },
      ["start"],
    );
    running.push(cli);
    await cli.waitFor(/Latchkey is listening/, 60_000);
    assert.equal((await fetch(`${base}/health/ready`)).status, 200);

    const page = await fetch(`${base}/admin/`);
    assert.equal(page.status, 200);
    const html = await page.text();
    const script = /<script type="module" src="([^"]+)"/.exec(html)?.[1];
    assert.ok(script, "the dashboard page names its code");
    const code = await fetch(`${base}${script}`);
    assert.equal(code.status, 200, `${script} is served from dashboard/dist`);
    assert.match(code.headers.get("content-type") ?? "", /javascript/);

    const openapi = await fetch(`${base}/api/openapi.json`);
    assert.equal(openapi.status, 200);
    assert.equal(((await openapi.json()) as { openapi?: string }).openapi?.startsWith("3."), true);
    assert.equal((await fetch(`${base}/api/docs/`)).status, 200, "the OpenAPI UI, loaded from node_modules");

    await cli.waitFor(/"msg":"request completed"/);
    cli.kill("SIGTERM");
    assert.deepEqual(await cli.exited, { code: 0, signal: null });
    assert.doesNotMatch(cli.output(), /correct horse battery staple/);
  });
});
