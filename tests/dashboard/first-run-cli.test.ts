// Issue 20, first run on the command line: a fresh installation's start says that no administrator
// can sign in and how to make one, until one exists; `latchkey admins create` on a real terminal
// (a pseudo-terminal from util-linux's `script`) asks for the address and, unechoed, the password
// twice, refusing a weak or mistyped one and asking again; without a terminal it takes --email and
// the password on standard input, and refuses to run without them. The created account is a
// verified administrator, and an address that already has an account is never promoted.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { type CliProcess, ROOT, runCli } from "../helpers/process.js";
import { freePort } from "../helpers/server.js";

const dir = mkdtempSync(path.join(tmpdir(), "latchkey-first-run-"));
const running: CliProcess[] = [];
after(() => {
  for (const p of running) p.kill();
  rmSync(dir, { recursive: true, force: true });
});

const env = {
  DATABASE_URL: `sqlite:${dir}/latchkey.db`,
  LATCHKEY_MASTER_KEY: randomBytes(32).toString("base64"),
  DATA_DIR: dir,
};
const TSX = import.meta.resolve("tsx");
const CLI = path.join(ROOT, "src/cli.ts");
const PASSWORD = "correct horse battery staple 7";

/** The command with `stdin` written to it (or nothing, closed), without a terminal. */
function piped(
  args: string[],
  stdin?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", TSX, CLI, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? "");
  });
}

/**
 * The command on a pseudo-terminal: `script` gives it one and copies what it writes (the terminal's
 * screen) to its own output. `answer` waits until the screen shows `prompt`, then types `keys`.
 */
function onTerminal(args: string[]) {
  const command = [process.execPath, "--import", TSX, CLI, ...args]
    .map((part) => `'${part.replace(/'/g, "'\\''")}'`)
    .join(" ");
  const child = spawn("script", ["-qec", command, "/dev/null"], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "", TERM: "dumb", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let screen = "";
  child.stdout.on("data", (c: Buffer) => {
    screen += c.toString();
  });
  child.stderr.on("data", (c: Buffer) => {
    screen += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    screen: () => screen,
    exited,
    /** Waits until the screen ends with `prompt` (the question waiting), then types `keys`. */
    async answer(prompt: string, keys: string): Promise<void> {
      const deadline = Date.now() + 30_000;
      while (!screen.endsWith(prompt)) {
        if (Date.now() > deadline) throw new Error(`no "${prompt}" on the screen:\n${screen}`);
        if (child.exitCode !== null) throw new Error(`exited before "${prompt}":\n${screen}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      child.stdin.write(keys);
      // The keys are read before the next question appears; wait until the screen moves on.
      const before = screen.length;
      while (screen.length === before && child.exitCode === null && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
    },
    kill: () => child.kill("SIGKILL"),
  };
}

function accountsByEmail(email: string) {
  const db = new Database(path.join(dir, "latchkey.db"), { readonly: true });
  try {
    return db.prepare("select is_admin, email_verified from users where email = ?").all(email) as {
      is_admin: number;
      email_verified: number;
    }[];
  } finally {
    db.close();
  }
}

describe("first run on the command line", () => {
  it("says at start that no administrator exists and how to make one", async () => {
    const port = await freePort();
    const server = runCli(["start"], { env: { ...env, PORT: String(port), HOST: "127.0.0.1" }, cwd: dir });
    running.push(server);
    await server.waitFor(/Latchkey is listening/, 60_000);
    const output = server.output();
    assert.match(
      output,
      /No administrator can sign in to the dashboard \(http:\/\/localhost:\d+\/admin\/\) yet/,
    );
    assert.match(output, /latchkey admins create/);
    assert.match(output, /BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD/);
    server.kill("SIGTERM");
    await server.exited;
  });

  it("without a terminal, refuses to guess and takes the password on standard input", async () => {
    const missing = await piped(["admins", "create", "--email", "ops@example.com"]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /needs --email and --password-stdin when not run on a terminal/);
    assert.deepEqual(accountsByEmail("ops@example.com"), []);

    const weak = await piped(
      ["admins", "create", "--email", "ops@example.com", "--password-stdin"],
      "short\n",
    );
    assert.equal(weak.code, 2);
    assert.match(weak.stderr, /password: Use at least/);
    assert.deepEqual(accountsByEmail("ops@example.com"), []);

    const made = await piped(
      ["admins", "create", "--email", "ops@example.com", "--password-stdin"],
      `${PASSWORD}\n`,
    );
    assert.equal(made.code, 0, made.stderr);
    assert.deepEqual(JSON.parse(made.stdout).is_admin, true);
    assert.deepEqual(accountsByEmail("ops@example.com"), [{ is_admin: 1, email_verified: 1 }]);

    // The address is taken now: never a second account, never a promotion.
    const again = await piped(
      ["admins", "create", "--email", "ops@example.com", "--password-stdin"],
      `${PASSWORD}\n`,
    );
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already an administrator/);
  });

  it("on a terminal, asks for the address and the password twice without echoing it", async () => {
    const terminal = onTerminal(["admins", "create"]);
    try {
      await terminal.answer("Administrator's e-mail address: ", "not an address\r");
      await terminal.answer("Administrator's e-mail address: ", "ada@example.com\r");
      // Too short: refused before the repeat is asked.
      await terminal.answer("Password (not shown): ", "tiny\r");
      await terminal.answer("Password (not shown): ", `${PASSWORD}\r`);
      await terminal.answer("The same password again: ", `${PASSWORD}x\r`);
      await terminal.answer("Password (not shown): ", `${PASSWORD}\r`);
      await terminal.answer("The same password again: ", `${PASSWORD}\r`);
      assert.equal(await terminal.exited, 0, terminal.screen());
    } finally {
      terminal.kill();
    }
    const screen = terminal.screen();
    assert.match(screen, /That address .*Try again/);
    assert.match(screen, /Use at least \d+ characters\. Try again/);
    assert.match(screen, /The two passwords differ\. Try again/);
    // What was typed at the address prompt is shown; no password ever reaches the screen.
    assert.match(screen, /ada@example\.com/);
    assert.ok(!screen.includes(PASSWORD), "the password was echoed");
    assert.ok(!screen.includes("tiny"), "the refused password was echoed");
    assert.deepEqual(accountsByEmail("ada@example.com"), [{ is_admin: 1, email_verified: 1 }]);
  });

  it("on a terminal, Ctrl-C cancels and creates nothing", async () => {
    const terminal = onTerminal(["admins", "create", "--email", "grace@example.com"]);
    try {
      await terminal.answer("Password (not shown): ", "\u0003");
      assert.equal(await terminal.exited, 2);
    } finally {
      terminal.kill();
    }
    assert.match(terminal.screen(), /cancelled; nothing was created/);
    assert.deepEqual(accountsByEmail("grace@example.com"), []);
  });

  it("stops mentioning the missing administrator once one exists", async () => {
    const port = await freePort();
    const server = runCli(["start"], { env: { ...env, PORT: String(port), HOST: "127.0.0.1" }, cwd: dir });
    running.push(server);
    await server.waitFor(/Latchkey is listening/, 60_000);
    assert.doesNotMatch(server.output(), /No administrator can sign in/);
    server.kill("SIGTERM");
    await server.exited;
  });
});
