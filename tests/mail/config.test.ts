// Mail settings: the outbox by default in development, SMTP with SMTP_URL; production refuses to
// start without SMTP_URL unless MAIL_TRANSPORT=outbox says so (a real `latchkey start`, exit 78);
// plain SMTP only to loopback; and no configuration error ever repeats the relay's password.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../src/config/config.js";
import { type CliProcess, runCli, startOutcome } from "../helpers/process.js";
import { freePort } from "../helpers/server.js";

const KEY = randomBytes(32).toString("base64");
const PASSWORD = "pa55-w0rd-NEVER-SHOWN";

function problemsOf(env: Record<string, string>): Map<string, string> {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return new Map(error.problems.map((p) => [p.key, p.problem]));
    throw error;
  }
  return new Map();
}

describe("mail configuration", () => {
  const dirs: string[] = [];
  const children: CliProcess[] = [];
  after(() => {
    for (const child of children) child.kill("SIGKILL");
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("keeps mail in the outbox in development without SMTP_URL, from no-reply@<issuer host>", () => {
    const config = loadConfig({ ISSUER_URL: "https://auth.example.com" });
    assert.deepEqual(config.mail, {
      transport: "outbox",
      smtp: undefined,
      from: "no-reply@auth.example.com",
    });
    assert.equal(loadConfig({ ISSUER_URL: "http://127.0.0.1:3000" }).mail.from, "no-reply@[127.0.0.1]");
    assert.equal(loadConfig({ MAIL_FROM: "hello@acme.example" }).mail.from, "hello@acme.example");
    assert.match(
      problemsOf({ MAIL_FROM: "not an address" }).get("MAIL_FROM")!,
      /not a usable e-mail address/,
    );
  });

  it("sends over SMTP when SMTP_URL is set: STARTTLS on 587 by default, implicit TLS on 465 for smtps://", () => {
    const starttls = loadConfig({
      SMTP_URL: `smtp://mailer%40acme.example:${encodeURIComponent(PASSWORD)}@mail.acme.example`,
    });
    assert.equal(starttls.mail.transport, "smtp");
    assert.deepEqual(starttls.mail.smtp, {
      host: "mail.acme.example",
      port: 587,
      implicitTls: false,
      allowInsecure: false,
      user: "mailer@acme.example",
      password: PASSWORD,
      caFile: undefined,
    });
    const implicit = loadConfig({ SMTP_URL: "smtps://mail.acme.example" }).mail.smtp!;
    assert.equal(implicit.port, 465);
    assert.equal(implicit.implicitTls, true);
    assert.equal(loadConfig({ SMTP_URL: "smtp://mail.acme.example:2525" }).mail.smtp!.port, 2525);
    // Chosen explicitly, the outbox wins over an SMTP_URL.
    assert.equal(
      loadConfig({ SMTP_URL: "smtp://mail.acme.example", MAIL_TRANSPORT: "outbox" }).mail.transport,
      "outbox",
    );
  });

  it("refuses production without SMTP_URL unless MAIL_TRANSPORT=outbox", () => {
    const problem = problemsOf({ NODE_ENV: "production", LATCHKEY_MASTER_KEY: KEY }).get("SMTP_URL");
    assert.match(problem!, /required when NODE_ENV=production.*MAIL_TRANSPORT=outbox/);
    const chosen = loadConfig({ NODE_ENV: "production", LATCHKEY_MASTER_KEY: KEY, MAIL_TRANSPORT: "outbox" });
    assert.equal(chosen.mail.transport, "outbox");
    assert.match(
      problemsOf({ MAIL_TRANSPORT: "smtp" }).get("SMTP_URL")!,
      /required when MAIL_TRANSPORT=smtp/,
    );
    assert.match(problemsOf({ MAIL_TRANSPORT: "sendmail" }).get("MAIL_TRANSPORT")!, /smtp or outbox/);
  });

  it("allows plain SMTP (SMTP_ALLOW_INSECURE) only to a loopback host", () => {
    for (const host of ["127.0.0.1", "localhost", "[::1]", "127.0.0.53"]) {
      const config = loadConfig({ SMTP_URL: `smtp://${host}:25`, SMTP_ALLOW_INSECURE: "true" });
      assert.equal(config.mail.smtp!.allowInsecure, true, host);
    }
    for (const host of ["mail.acme.example", "10.0.0.5", "[2001:db8::1]", "127.0.0.1.nip.io"]) {
      const problem = problemsOf({
        SMTP_URL: `smtp://u:${PASSWORD}@${host}:25`,
        SMTP_ALLOW_INSECURE: "true",
      });
      assert.match(problem.get("SMTP_ALLOW_INSECURE")!, /only to a loopback host/, host);
    }
    assert.match(problemsOf({ SMTP_ALLOW_INSECURE: "yes" }).get("SMTP_ALLOW_INSECURE")!, /true or false/);
    assert.match(
      problemsOf({ SMTP_URL: "smtp://mail.acme.example", SMTP_TLS_CA_FILE: "/nonexistent/ca.pem" }).get(
        "SMTP_TLS_CA_FILE",
      )!,
      /file not found/,
    );
  });

  it("takes an IPv6 relay without its URL brackets, and refuses port 0", () => {
    const config = loadConfig({ SMTP_URL: "smtp://[::1]:2525", SMTP_ALLOW_INSECURE: "true" });
    assert.equal(config.mail.smtp?.host, "::1");
    assert.throws(
      () => loadConfig({ SMTP_URL: "smtp://127.0.0.1:0", SMTP_ALLOW_INSECURE: "true" }),
      /port 0/,
    );
  });

  it("never repeats the relay's password in an error", () => {
    const bad = [
      `ftp://user:${PASSWORD}@mail.acme.example`,
      `smtp://user:${PASSWORD}@mail.acme.example/path`,
      `smtp://user:${PASSWORD}@mail.acme.example?pool=true`,
      `smtp://user:${PASSWORD}@:25`,
      `smtp://user:${PASSWORD}%zz@mail.acme.example`,
      `smtp://user:${PASSWORD}@mail.acme.example:99999`,
    ];
    for (const url of bad) {
      let message = "";
      try {
        loadConfig({ SMTP_URL: url, SMTP_ALLOW_INSECURE: "true" });
      } catch (error) {
        message = error instanceof Error ? error.message : String(error);
      }
      assert.ok(
        message.includes("SMTP_URL") || message.includes("SMTP_ALLOW_INSECURE"),
        `${url}: ${message}`,
      );
      assert.ok(!message.includes(PASSWORD), `the password leaked: ${message}`);
    }
  });

  it("`latchkey start` in production without SMTP_URL stops with a configuration error (exit 78)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "latchkey-mail-config-"));
    dirs.push(dir);
    const env = {
      NODE_ENV: "production",
      LATCHKEY_MASTER_KEY: KEY,
      DATA_DIR: dir,
      PORT: String(await freePort()),
      HOST: "127.0.0.1",
    };
    const refused = runCli(["start"], { env });
    children.push(refused);
    const outcome = await startOutcome(refused);
    assert.deepEqual(outcome, { listening: false, code: 78 }, refused.output());
    assert.match(refused.output(), /SMTP_URL: is required when NODE_ENV=production/);

    const insecure = runCli(["start"], {
      env: { ...env, SMTP_URL: `smtp://relay:${PASSWORD}@mail.acme.example`, SMTP_ALLOW_INSECURE: "true" },
    });
    children.push(insecure);
    assert.deepEqual(await startOutcome(insecure), { listening: false, code: 78 }, insecure.output());
    assert.match(insecure.output(), /SMTP_ALLOW_INSECURE: allows plain SMTP only to a loopback host/);
    assert.ok(!insecure.output().includes(PASSWORD));
  });
});
