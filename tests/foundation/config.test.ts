import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../src/config/config.js";

const KEY = Buffer.alloc(32, 7).toString("base64");

function problemsOf(env: Record<string, string>): Map<string, string> {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, "expected a ConfigError");
    return new Map(error.problems.map((p) => [p.key, p.problem]));
  }
  assert.fail("configuration was accepted");
}

describe("configuration", () => {
  it("sends PostgreSQL's hot statements prepared unless DATABASE_PREPARED_STATEMENTS=false", () => {
    assert.equal(loadConfig({}).databasePreparedStatements, true);
    assert.equal(loadConfig({ DATABASE_PREPARED_STATEMENTS: "false" }).databasePreparedStatements, false);
    assert.equal(
      problemsOf({ DATABASE_PREPARED_STATEMENTS: "no" }).get("DATABASE_PREPARED_STATEMENTS"),
      "must be true or false",
    );
  });

  it("defaults to SQLite under ./data on port 3000 with a localhost issuer", () => {
    const config = loadConfig({});
    assert.equal(config.port, 3000);
    assert.equal(config.issuerUrl, "http://localhost:3000");
    assert.equal(config.database.kind, "sqlite");
    assert.ok(config.database.kind === "sqlite" && config.database.path.endsWith("/data/latchkey.db"));
    assert.equal(config.logLevel, "info");
    assert.equal(config.masterKey, undefined);
    assert.equal(config.trustProxy, false);
  });

  it("keeps the default SQLite database in DATA_DIR, beside the master key; DATABASE_URL wins", () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "latchkey-config-data-dir-"));
    // An existing database there: the check for one left in ./data (a developer's `npm start` in this
    // checkout) has its own test and must not decide this one.
    writeFileSync(path.join(dataDir, "latchkey.db"), "");
    const config = loadConfig({ DATA_DIR: dataDir });
    assert.equal(config.dataDir, dataDir);
    assert.deepEqual(config.database, { kind: "sqlite", path: path.join(dataDir, "latchkey.db") });
    assert.deepEqual(
      loadConfig({ DATA_DIR: dataDir, DATABASE_URL: "sqlite:/srv/elsewhere.db" }).database,
      { kind: "sqlite", path: "/srv/elsewhere.db" },
      "an explicit DATABASE_URL always wins",
    );
    assert.equal(
      loadConfig({ DATA_DIR: dataDir, DATABASE_URL: "postgres://db/x" }).database.kind,
      "postgres",
    );
    assert.equal(
      (loadConfig({ DATA_DIR: "relative/dir" }).database as { path: string }).path,
      path.resolve("relative/dir/latchkey.db"),
    );
  });

  it("derives the issuer from PORT and strips a trailing slash from ISSUER_URL", () => {
    assert.equal(loadConfig({ PORT: "8080" }).issuerUrl, "http://localhost:8080");
    assert.equal(
      loadConfig({ ISSUER_URL: "https://auth.example.com/" }).issuerUrl,
      "https://auth.example.com",
    );
  });

  it("accepts postgres URLs and a base64 or hex master key", () => {
    const config = loadConfig({ DATABASE_URL: "postgres://u:p@db:5432/latchkey", LATCHKEY_MASTER_KEY: KEY });
    assert.deepEqual(config.database, { kind: "postgres", url: "postgres://u:p@db:5432/latchkey" });
    assert.equal(config.masterKey?.length, 32);
    assert.equal(
      loadConfig({ LATCHKEY_MASTER_KEY: "ab".repeat(32) }).masterKey?.toString("hex"),
      "ab".repeat(32),
    );
  });

  it("names every bad key at once, with the reason", () => {
    const problems = problemsOf({
      PORT: "99999",
      ISSUER_URL: "not a url",
      DATABASE_URL: "mysql://x",
      LOG_LEVEL: "loud",
      LATCHKEY_MASTER_KEY: "short",
      TLS_CERT_FILE: "/nonexistent/cert.pem",
      TRUST_PROXY: "everyone!",
    });
    assert.deepEqual(
      [...problems.keys()].sort(),
      [
        "DATABASE_URL",
        "ISSUER_URL",
        "LATCHKEY_MASTER_KEY",
        "LOG_LEVEL",
        "PORT",
        "TLS_CERT_FILE",
        "TLS_KEY_FILE",
        "TRUST_PROXY",
      ].sort(),
    );
    assert.match(problems.get("PORT")!, /0 to 65535/);
    assert.match(problems.get("DATABASE_URL")!, /sqlite: or postgres:\/\//);
    assert.match(problems.get("TLS_CERT_FILE")!, /not found/);
    assert.match(problems.get("TLS_KEY_FILE")!, /together/);
  });

  it("refuses a TRUST_PROXY hop count (Fastify would ignore it and read every client as the proxy)", () => {
    assert.match(problemsOf({ TRUST_PROXY: "1" }).get("TRUST_PROXY")!, /hop count is not supported/);
    assert.deepEqual(loadConfig({ TRUST_PROXY: "loopback, 10.0.0.0/8" }).trustProxy, [
      "loopback",
      "10.0.0.0/8",
    ]);
  });

  it("refuses to start in production without a master key", () => {
    const problems = problemsOf({ NODE_ENV: "production" });
    assert.match(problems.get("LATCHKEY_MASTER_KEY")!, /required when NODE_ENV=production/);
    assert.equal(
      loadConfig({ NODE_ENV: "production", LATCHKEY_MASTER_KEY: KEY, MAIL_TRANSPORT: "outbox" }).production,
      true,
    );
  });

  it("rejects issuers with a query, fragment or credentials", () => {
    assert.ok(problemsOf({ ISSUER_URL: "https://a.example/?x=1" }).has("ISSUER_URL"));
    assert.ok(problemsOf({ ISSUER_URL: "https://a.example/#f" }).has("ISSUER_URL"));
    assert.ok(problemsOf({ ISSUER_URL: "https://u:p@a.example" }).has("ISSUER_URL"));
    assert.ok(problemsOf({ ISSUER_URL: "ftp://a.example" }).has("ISSUER_URL"));
  });

  it("validates bootstrap credentials against Kinde's formats", () => {
    const problems = problemsOf({
      BOOTSTRAP_M2M_CLIENT_ID: "NOT-HEX",
      BOOTSTRAP_M2M_CLIENT_SECRET: "short",
      BOOTSTRAP_ADMIN_EMAIL: "admin@example.com",
    });
    assert.match(problems.get("BOOTSTRAP_M2M_CLIENT_ID")!, /32 lowercase hex/);
    assert.match(problems.get("BOOTSTRAP_M2M_CLIENT_SECRET")!, /40-60/);
    assert.match(problems.get("BOOTSTRAP_ADMIN_EMAIL")!, /together/);
  });
});
