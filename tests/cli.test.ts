import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { type CliProcess, runCli } from "./helpers/process.js";
import { freePort } from "./helpers/server.js";

const dir = mkdtempSync(path.join(tmpdir(), "latchkey-cli-"));
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

async function cli(...args: string[]): Promise<{ code: number | null; json: unknown; output: string }> {
  const run = runCli(args, { env, cwd: dir });
  running.push(run);
  const { code } = await run.exited;
  const output = run.output();
  const start = output.search(/^[[{]/m);
  return { code, output, json: code === 0 && start >= 0 ? JSON.parse(output.slice(start)) : undefined };
}

describe("operator commands", () => {
  it("create an API and a machine-to-machine app that then gets tokens from a running server", async () => {
    const app = await cli("apps", "create", "--type", "m2m", "--name", "Billing worker");
    assert.equal(app.code, 0, app.output);
    const { client_id, client_secret } = app.json as { client_id: string; client_secret: string };
    assert.match(client_id, /^[0-9a-f]{32}$/);
    assert.match(client_secret, /^[A-Za-z0-9]{52}$/);

    const api = await cli(
      "apis",
      "create",
      "--name",
      "Billing",
      "--audience",
      "https://billing.example.com",
      "--scope",
      "read:invoices",
      "--scope",
      "write:invoices",
    );
    assert.equal(api.code, 0, api.output);
    const grant = await cli(
      "apis",
      "authorize",
      "--audience",
      "https://billing.example.com",
      "--client-id",
      client_id,
      "--scope",
      "read:invoices",
    );
    assert.equal(grant.code, 0, grant.output);

    const port = await freePort();
    const server = runCli(["start"], { env: { ...env, PORT: String(port), HOST: "127.0.0.1" }, cwd: dir });
    running.push(server);
    await server.waitFor(/Latchkey is listening/);
    const token = (body: Record<string, string>) =>
      fetch(`http://127.0.0.1:${port}/oauth2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "client_credentials", client_id, client_secret, ...body }),
      });
    const ok = await token({ audience: "https://billing.example.com" });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { scope: string }).scope, "read:invoices");
    const escalated = await token({ audience: "https://billing.example.com", scope: "write:invoices" });
    assert.equal(((await escalated.json()) as { error: string }).error, "invalid_scope");
    server.kill("SIGTERM");
    await server.exited;
  });

  it("refuse bad input with a clear message and exit code 2", async () => {
    const badUrl = await cli(
      "apps",
      "create",
      "--type",
      "reg",
      "--name",
      "x",
      "--callback",
      "http://example.com/cb",
    );
    assert.equal(badUrl.code, 2);
    assert.match(badUrl.output, /http is only allowed for localhost/);
    const badType = await cli("apps", "create", "--type", "desktop", "--name", "x");
    assert.equal(badType.code, 2);
    assert.match(badType.output, /--type must be one of reg, spa, m2m, device/);
    const unknownOption = await cli("apps", "list", "--colour", "red");
    assert.equal(unknownOption.code, 2);
    const shortPassword = await cli("users", "create", "--email", "a@example.com", "--password", "short");
    assert.equal(shortPassword.code, 2);
    assert.match(shortPassword.output, /at least 8 characters/);
  });

  it("rotate signing keys", async () => {
    const rotated = await cli("keys", "rotate", "--activate-in", "0");
    assert.equal(rotated.code, 0, rotated.output);
    const listed = await cli("keys", "list");
    const kids = (listed.json as { kid: string }[]).map((k) => k.kid);
    assert.ok(kids.includes((rotated.json as { kid: string }).kid));
  });
});
