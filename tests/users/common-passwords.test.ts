// NIST SP 800-63B §3.1.1.2: a chosen password is refused when it is on a list of commonly used or
// breached passwords — here the 100 000 most common of a 10-million-password corpus
// (resources/README.md) — wherever a password is chosen: sign-up, the Management API, the CLI and
// BOOTSTRAP_ADMIN_PASSWORD when bootstrap creates the administrator with it (once the administrator
// exists the variable is unused, and a stale value does not stop an upgrade). Hashed imports cannot
// be checked and are not.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { bootstrap } from "../../src/bootstrap.js";
import { ConfigError, loadConfig } from "../../src/config/config.js";
import { COMMON_PASSWORDS_FILE } from "../../src/paths.js";
import {
  COMMON_PASSWORD_MESSAGE,
  isCommonPassword,
  normalizeForLookup,
  passwordProblem,
} from "../../src/users/password-policy.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { callApi } from "../helpers/management.js";
import { type CliProcess, ROOT, runCli, runScript, startOutcome } from "../helpers/process.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";

/** Ranks 2, 5 and 21 of the list, and two from the middle (ranks 49 991 and 50 001). */
const COMMON = ["password", "123456789", "qwertyuiop", "ceisi123", "catering"];
const strong = () => `pw-${randomBytes(12).toString("base64url")}`;

describe("the list of common passwords (resources/common-passwords.txt)", () => {
  const bytes = readFileSync(COMMON_PASSWORDS_FILE);
  const lines = bytes.toString("utf8").split("\n").slice(0, -1);

  it("is bounded in size: read once, held in memory", () => {
    const size = statSync(COMMON_PASSWORDS_FILE).size;
    assert.ok(size > 300_000 && size < 512 * 1024, `${size} bytes`);
    assert.ok(lines.length > 35_000 && lines.length < 50_000, `${lines.length} entries`);
  });

  it("is exactly what scripts/common-passwords.mjs builds from the pinned data package", async () => {
    const check = runScript("scripts/common-passwords.mjs", { tsx: false }, ["--check"]);
    assert.deepEqual(await check.exited, { code: 0, signal: null }, check.output());
  });

  it("holds each entry once, in lookup form, sorted by bytes (what the binary search needs)", () => {
    assert.equal(bytes.at(-1), 0x0a, "ends with a newline");
    for (const [i, line] of lines.entries()) {
      assert.equal(normalizeForLookup(line), line, `line ${i + 1} is in lookup form`);
      if (i > 0)
        assert.ok(Buffer.compare(Buffer.from(lines[i - 1]!), Buffer.from(line)) < 0, `line ${i + 1} sorted`);
    }
  });

  it("finds every entry, and nothing next to one", () => {
    const entries = new Set(lines);
    for (const line of lines) {
      assert.equal(isCommonPassword(line), true, line);
      for (const near of [`${line}~`, `${line.slice(0, -1)}`, `!${line}`]) {
        assert.equal(isCommonPassword(near), entries.has(normalizeForLookup(near)), near);
      }
    }
  });

  it("matches case-insensitively and folds compatibility forms (NFKC)", () => {
    for (const password of [...COMMON, "PassWord", "QWERTYUIOP", "ｐａｓｓｗｏｒｄ", "Password1"]) {
      assert.equal(passwordProblem(password), COMMON_PASSWORD_MESSAGE, password);
    }
    for (let i = 0; i < 20; i++) assert.equal(passwordProblem(strong()), undefined);
    assert.equal(passwordProblem("correct horse battery staple"), undefined);
  });
});

describe("BOOTSTRAP_ADMIN_PASSWORD", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "latchkey-common-"));
  const running: CliProcess[] = [];
  after(() => {
    for (const p of running) p.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is not judged by the configuration alone: only bootstrap knows whether it will be used", () => {
    const config = loadConfig({
      BOOTSTRAP_ADMIN_EMAIL: "admin@example.com",
      BOOTSTRAP_ADMIN_PASSWORD: "Password123",
    });
    assert.equal(config.bootstrap.adminPassword, "Password123");
  });

  it("`latchkey start` stops with a clear message, before it serves", async () => {
    const start = runCli(["start"], {
      cwd: dir,
      env: {
        DATA_DIR: dir,
        DATABASE_URL: `sqlite:${dir}/latchkey.db`,
        PORT: "0",
        HOST: "127.0.0.1",
        BOOTSTRAP_ADMIN_EMAIL: "admin@example.com",
        BOOTSTRAP_ADMIN_PASSWORD: "qwertyuiop",
      },
    });
    running.push(start);
    assert.deepEqual(await startOutcome(start), { listening: false, code: 78 }, start.output());
    assert.match(start.output(), /BOOTSTRAP_ADMIN_PASSWORD: This password is too common/);
    assert.doesNotMatch(start.output(), /qwertyuiop/, "the password itself is not echoed");
  });

  it("`latchkey start` with a stale common password and the administrator already there starts", async () => {
    const upgraded = mkdtempSync(path.join(dir, "upgrade-"));
    const env = {
      DATA_DIR: upgraded,
      DATABASE_URL: `sqlite:${upgraded}/latchkey.db`,
      PORT: "0",
      HOST: "127.0.0.1",
      BOOTSTRAP_ADMIN_EMAIL: "admin@example.com",
    };
    // An earlier version created the administrator with this password, which it did not judge.
    const first = runCli(["start"], { cwd: upgraded, env: { ...env, BOOTSTRAP_ADMIN_PASSWORD: strong() } });
    running.push(first);
    assert.deepEqual(await startOutcome(first), { listening: true, code: null }, first.output());
    first.kill("SIGTERM");
    await first.exited;
    const next = runCli(["start"], {
      cwd: upgraded,
      env: { ...env, BOOTSTRAP_ADMIN_PASSWORD: "qwertyuiop" },
    });
    running.push(next);
    assert.deepEqual(await startOutcome(next), { listening: true, code: null }, next.output());
    assert.doesNotMatch(next.output(), /qwertyuiop/, "the unused password is not logged");
  });

  it("`latchkey users create` refuses a common password", async () => {
    const create = runCli(["users", "create", "--email", "ops@example.com", "--password", "password123"], {
      cwd: dir,
      env: { DATA_DIR: dir, DATABASE_URL: `sqlite:${dir}/latchkey.db` },
    });
    assert.equal((await create.exited).code, 2, create.output());
    assert.match(create.output(), /password: This password is too common/);
  });
});

for (const { kind, skip } of await databaseKinds()) {
  describe(`BOOTSTRAP_ADMIN_PASSWORD is judged when it would create the administrator (${kind})`, {
    skip,
  }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(async () => server?.close());

    const run = (adminEmail: string, adminPassword: string) =>
      bootstrap(server.storage, server.secretBox, {
        ...server.config,
        bootstrap: { ...server.config.bootstrap, adminEmail, adminPassword },
      });

    it("no account has the address: a short or common password stops the start, and nobody is created", async () => {
      const email = `admin-${randomBytes(4).toString("hex")}@example.com`;
      for (const [password, problem] of [
        ["qwertyuiop", /too common/],
        ["Password1", /too common/],
        ["short", /at least 8 characters/],
      ] as const) {
        await assert.rejects(run(email, password), (error: unknown) => {
          assert.ok(error instanceof ConfigError, String(error));
          assert.equal(error.problems[0]?.key, "BOOTSTRAP_ADMIN_PASSWORD");
          assert.match(error.problems[0]!.problem, problem);
          assert.match(error.message, /would create the administrator/);
          assert.doesNotMatch(error.message, new RegExp(password), "the password itself is not echoed");
          return true;
        });
        assert.equal(await server.services.users.store.findByEmail(email), undefined, password);
      }
      await run(email, strong());
      assert.equal((await server.services.users.store.findByEmail(email))?.is_admin, 1);
    });

    it("the account exists: the password is unused, so a stale common one changes nothing and stops nothing", async () => {
      const adminPassword = strong();
      const email = `admin-${randomBytes(4).toString("hex")}@example.com`;
      await run(email, adminPassword);
      const admin = (await server.services.users.store.findByEmail(email))!;
      assert.deepEqual(await run(email, "qwertyuiop"), {});
      const after = (await server.services.users.store.findByEmail(email))!;
      assert.equal(after.password_hash, admin.password_hash, "the administrator's password is unchanged");

      const member = await createUser(server);
      assert.deepEqual(await run(member.email, "password"), { adminNotCreated: { userId: member.id } });
    });
  });

  describe(`common passwords refused over HTTP (${kind})`, { skip }, () => {
    let server: TestServer;
    let clientId: string;
    before(async () => {
      server = await startTestServer(kind);
      ({ clientId } = await createApplication(server, "spa"));
    });
    after(async () => server?.close());

    /** Fills the hosted sign-up form from a fresh browser. */
    async function signUp(email: string, password: string) {
      const browser = new UserAgent(server.url);
      const url = new URL("/oauth2/auth", server.url);
      url.search = new URLSearchParams({
        response_type: "code",
        client_id: clientId,
        redirect_uri: CALLBACK,
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        code_challenge_method: "S256",
      }).toString();
      const next = await browser.redirectFrom(url);
      const form = await browser.openForm(new URL(`/auth/sign-up${next.search}`, server.url));
      const response = await browser.request("/auth/sign-up", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ ...form, email, password, given_name: "Ada", family_name: "" }),
      });
      return { status: response.status, html: await response.text() };
    }

    it("sign-up: a common password is refused on the page and creates nobody", async () => {
      for (const password of COMMON) {
        const email = `new-${randomBytes(4).toString("hex")}@example.com`;
        const refused = await signUp(email, password);
        assert.equal(refused.status, 400, `${password}: ${refused.html.slice(0, 200)}`);
        assert.match(refused.html, /too common \(it appears in lists of breached passwords\)/);
        assert.equal(await server.services.users.store.findByEmail(email), undefined, password);
      }
      const accepted = await signUp(`new-${randomBytes(4).toString("hex")}@example.com`, strong());
      assert.equal(accepted.status, 303, accepted.html.slice(0, 200));
    });

    it("Management API: PUT /users/{id}/password answers INVALID_PASSWORD in Kinde's error shape", async () => {
      const user = await createUser(server);
      for (const password of [...COMMON, "Password1"]) {
        const refused = await callApi(server, "PUT", `/api/v1/users/${user.id}/password`, {
          body: { password },
        });
        assert.equal(refused.status, 400, password);
        const errors = (refused.body as { errors: { code: string; message: string }[] }).errors;
        assert.equal(errors[0]?.code, "INVALID_PASSWORD");
        assert.match(errors[0]?.message ?? "", /too common/);
      }
      const accepted = await callApi(server, "PUT", `/api/v1/users/${user.id}/password`, {
        body: { password: strong() },
      });
      assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    });
  });
}

it("the list ships with the published package", () => {
  const packed = spawnSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  assert.equal(packed.status, 0, packed.stderr);
  const [{ files }] = JSON.parse(packed.stdout) as [{ files: { path: string }[] }];
  const shipped = files.map((f) => f.path);
  assert.ok(shipped.includes("resources/common-passwords.txt"), shipped.join("\n"));
  assert.ok(shipped.includes("resources/README.md"), "with its source and licence");
});
