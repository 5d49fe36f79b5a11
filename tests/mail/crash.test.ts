// Crash safety with a real process: a burst of 200 committed messages, `latchkey start` delivering
// them to a slow relay, SIGKILL mid-burst, and a restart. Every message arrives (counted by distinct
// Message-ID); a message received twice is the one in flight when the process died (accepted by the
// relay, not yet marked sent), and it carries the same Message-ID both times. Both databases.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { type CliProcess, runCli } from "../helpers/process.js";
import { freePort } from "../helpers/server.js";
import { startSmtpPeer } from "../helpers/smtp.js";
import { CODE_TEMPLATE, openMailDb, until } from "./support.js";

const BURST = 200;

for (const { kind, skip } of await databaseKinds()) {
  describe(`mail survives kill -9 (${kind})`, { skip }, () => {
    const children: CliProcess[] = [];
    const dirs: string[] = [];
    after(() => {
      for (const child of children) child.kill("SIGKILL");
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    it("delivers every committed message after a SIGKILL mid-burst, a resend under the same Message-ID", async () => {
      const mail = await openMailDb(kind);
      // A relay that takes a few milliseconds per message, so the kill lands mid-burst.
      const peer = await startSmtpPeer({ tls: "none", acceptDelayMs: 5 });
      const dir = mkdtempSync(path.join(tmpdir(), "latchkey-mail-crash-"));
      dirs.push(dir);
      try {
        const codes: string[] = [];
        for (let i = 0; i < BURST; i++) {
          const code = String(100_000 + i);
          codes.push(code);
          await mail.enqueue(`burst:${i}`, `user${i}@example.com`, CODE_TEMPLATE(code));
        }
        const { target } = mail.database;
        const env = {
          PORT: String(await freePort()),
          HOST: "127.0.0.1",
          ISSUER_URL: "https://auth.acme.example",
          DATA_DIR: dir,
          DATABASE_URL: target.kind === "sqlite" ? `sqlite:${target.path}` : target.url,
          LATCHKEY_MASTER_KEY: mail.masterKey.toString("base64"),
          SMTP_URL: `smtp://127.0.0.1:${peer.port}`,
          SMTP_ALLOW_INSECURE: "true",
          LOG_LEVEL: "warn",
        };

        const first = runCli(["start"], { env });
        children.push(first);
        await peer.waitFor(BURST / 4, 60_000);
        first.kill("SIGKILL");
        await first.exited;
        const beforeRestart = peer.received.length;
        assert.ok(beforeRestart < BURST, `the kill landed mid-burst (${beforeRestart} of ${BURST} arrived)`);
        // The killed sender's claim lasts LEASE_SECONDS (two minutes) before another sender may take
        // its messages. Waiting that out is what production does; here the lease is expired by hand,
        // as the clock would (the worker test covers the expiry against an injected clock).
        await mail.db
          .updateTable("mail_messages")
          .set({ lease_until: 0 })
          .where("lease_until", "is not", null)
          .execute();

        const second = runCli(["start"], { env });
        children.push(second);
        const distinct = () => new Set(peer.received.map((m) => m.messageId)).size;
        await until(() => distinct() >= BURST, 60_000, "every message");

        // Every message, once each by Message-ID; the same code never under two Message-IDs.
        assert.equal(distinct(), BURST);
        const idsByCode = new Map<string, Set<string>>();
        for (const message of peer.received) {
          const code = /^ {4}(\d{6})$/m.exec(message.text)?.[1];
          assert.ok(code, "each message carries its code");
          const ids = idsByCode.get(code) ?? new Set<string>();
          ids.add(message.messageId);
          idsByCode.set(code, ids);
        }
        assert.deepEqual([...idsByCode.keys()].sort(), codes);
        assert.ok(
          [...idsByCode.values()].every((ids) => ids.size === 1),
          "a resend keeps its Message-ID",
        );
        // Sent one at a time: only the message in flight at the kill can have arrived twice.
        const duplicates = peer.received.length - BURST;
        assert.ok(duplicates <= 1, `${duplicates} messages arrived twice`);

        // The outbox agrees (the last mark follows the relay's acceptance by a moment): all sent, no body left.
        const unsent = async () =>
          (await mail.db.selectFrom("mail_messages").select("id").where("status", "!=", "sent").execute())
            .length;
        await until(async () => (await unsent()) === 0, 10_000, "every message marked sent");
        const rows = await mail.db.selectFrom("mail_messages").select(["status", "body_sealed"]).execute();
        assert.equal(rows.length, BURST);
        assert.ok(rows.every((r) => r.body_sealed === null));

        // A graceful stop with the worker running: exit 0.
        second.kill("SIGTERM");
        assert.equal((await second.exited).code, 0, second.output());
      } finally {
        await peer.close();
        await mail.close();
      }
    });
  });
}
