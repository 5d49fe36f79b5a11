// `latchkey mail test --to ADDRESS`, the real command: with SMTP the message arrives at once and the
// command says so (exit 0); with the relay down it says why and exits 1, the message left pending
// for the server's worker; without SMTP_URL it is kept in the outbox. Both databases.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { openStorage } from "../../src/storage/database.js";
import { databaseKinds, freshDatabase, type TestDatabase } from "../helpers/databases.js";
import { runCli } from "../helpers/process.js";
import { freePort } from "../helpers/server.js";
import { startSmtpPeer } from "../helpers/smtp.js";

interface Printed {
  id: string;
  to: string;
  status: string;
  attempts?: number;
  error?: string | null;
  message: string;
}

async function mailTest(env: Record<string, string>, to = "ops@example.com") {
  const cli = runCli(["mail", "test", "--to", to], { env });
  const { code } = await cli.exited;
  const output = cli.output();
  const json = output.slice(output.indexOf("{\n"), output.lastIndexOf("}") + 1);
  return { code, output, printed: (json ? JSON.parse(json) : undefined) as Printed | undefined };
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`latchkey mail test (${kind})`, { skip }, () => {
    const dirs: string[] = [];
    const databases: TestDatabase[] = [];
    after(async () => {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      for (const database of databases) await database.drop();
    });
    const environment = async () => {
      const database = (await freshDatabase(kind))!;
      databases.push(database);
      const dir = mkdtempSync(path.join(tmpdir(), "latchkey-mail-cli-"));
      dirs.push(dir);
      return {
        database,
        env: {
          DATA_DIR: dir,
          DATABASE_URL:
            database.target.kind === "sqlite" ? `sqlite:${database.target.path}` : database.target.url,
          LATCHKEY_MASTER_KEY: randomBytes(32).toString("base64"),
          ISSUER_URL: "https://auth.acme.example",
        },
      };
    };

    it("sends through the relay at once and says so; a relay that is down leaves it pending (exit 1)", async () => {
      const peer = await startSmtpPeer({ tls: "none" });
      const { env, database } = await environment();
      try {
        const smtp = { SMTP_URL: `smtp://127.0.0.1:${peer.port}`, SMTP_ALLOW_INSECURE: "true" };
        const sent = await mailTest({ ...env, ...smtp });
        assert.equal(sent.code, 0, sent.output);
        assert.equal(sent.printed?.status, "sent");
        assert.equal(peer.received.length, 1);
        assert.equal(peer.received[0]!.subject, "Test message from Latchkey");
        assert.equal(peer.received[0]!.messageId, `<${sent.printed!.id}@auth.acme.example>`);
        assert.equal(peer.received[0]!.envelopeFrom, "no-reply@auth.acme.example");

        const down = await mailTest({
          ...env,
          SMTP_URL: `smtp://127.0.0.1:${await freePort()}`,
          SMTP_ALLOW_INSECURE: "true",
        });
        assert.equal(down.code, 1, down.output);
        assert.equal(down.printed?.status, "pending");
        assert.equal(down.printed?.attempts, 1);
        assert.match(down.printed?.error ?? "", /ECONNREFUSED/);
        assert.match(down.printed?.message ?? "", /retries it/);

        const storage = await openStorage(database.target);
        try {
          const rows = await storage.db
            .selectFrom("mail_messages")
            .select(["id", "status", "kind"])
            .execute();
          assert.deepEqual(rows.map((r) => [r.kind, r.status]).sort(), [
            ["test", "pending"],
            ["test", "sent"],
          ]);
        } finally {
          await storage.close();
        }
      } finally {
        await peer.close();
      }
    });

    it("without SMTP_URL keeps the message in the outbox; a bad address is a usage error (exit 2)", async () => {
      const { env } = await environment();
      const kept = await mailTest(env);
      assert.equal(kept.code, 0, kept.output);
      assert.equal(kept.printed?.status, "outbox");
      assert.match(kept.printed?.message ?? "", /outbox/);
      const bad = await mailTest(env, "not-an-address");
      assert.equal(bad.code, 2, bad.output);
      assert.match(bad.output, /--to: the address/);
    });
  });
}
