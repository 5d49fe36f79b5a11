// The outbox (no SMTP_URL in development): messages are kept, never sent, announced by one log line
// without the code; GET /api/v1/mail/outbox lists them newest first, with the text (code included)
// for an administrator in the dashboard and never for a machine token; the purge drops them after a
// week (sent and failed ones after a month, pending ones never); a master-key rotation re-seals
// their bodies and the start-up check opens them. Both databases.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { resealAll } from "../../src/crypto/reseal.js";
import { SecretBox } from "../../src/crypto/secret-box.js";
import { MasterKeyMismatchError, verifyMasterKey } from "../../src/crypto/verify-master-key.js";
import { MailStore } from "../../src/mail/mail.store.js";
import type { MailTemplate } from "../../src/mail/templates.js";
import { purgeExpired } from "../../src/storage/purge.js";
import { dashboardToken } from "../helpers/dashboard.js";
import { databaseKinds } from "../helpers/databases.js";
import { callApi, managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { CODE_TEMPLATE, openMailDb, TestClock } from "./support.js";

const ADMIN = { email: "root@example.com", password: "a root password nobody guesses" };

interface OutboxPage {
  messages: {
    id: string;
    kind: string;
    to: string;
    subject: string;
    status: string;
    attempts: number;
    created_on: string;
    sent_on: string | null;
    last_error: string | null;
    body_text: string | null;
  }[];
  next_token: string | null;
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`the mail outbox (${kind})`, { skip }, () => {
    let server: TestServer;
    // Its own clock, a second apart per message, so "newest first" is not decided by a tie.
    const clock = new TestClock(Math.floor(Date.now() / 1000));
    const ids: string[] = [];
    const enqueue = async (key: string, to: string, template: MailTemplate) => {
      clock.advance(1);
      const { id, status } = await server.storage.db
        .transaction()
        .execute((trx) => server.services.mail.enqueue(trx, { idempotencyKey: key, to, template }));
      assert.equal(status, "outbox");
      ids.push(id);
      return id;
    };

    before(async () => {
      server = await startTestServer(kind, {
        clock,
        env: { BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password },
      });
      await enqueue("outbox:1", "ann@example.com", CODE_TEMPLATE("481516"));
      await enqueue("outbox:2", "bob@example.org", {
        kind: "password_reset_code",
        code: "234208",
        expiresInSeconds: 3_600,
      });
      await enqueue("outbox:3", "cy@example.net", { kind: "password_changed" });
    });
    after(async () => server?.close());

    it("keeps messages (nothing is sent) and logs one line each without the code or the address", () => {
      const lines = server.logs.lines.filter((l) => l.includes('"event":"mail_outbox"'));
      assert.equal(lines.length, 3);
      const first = JSON.parse(lines[1]!) as Record<string, unknown>;
      assert.equal(first.mailId, ids[1]);
      assert.equal(first.kind, "password_reset_code");
      assert.equal(first.recipientDomain, "example.org");
      assert.equal(first.level, 30);
      for (const secret of ["481516", "234208", "ann@", "bob@", "cy@"])
        assert.ok(!server.logs.text.includes(secret), `${secret} is not logged`);
    });

    it("lists newest first, with the text only for an administrator in the dashboard", async () => {
      const admin = await dashboardToken(server, ADMIN, "openid read:mail");
      const shown = await callApi<OutboxPage>(server, "GET", "/api/v1/mail/outbox", {
        token: admin.access_token,
      });
      assert.equal(shown.status, 200, JSON.stringify(shown.body));
      assert.deepEqual(
        shown.body.messages.map((m) => m.id),
        [...ids].reverse(),
      );
      const reset = shown.body.messages[1]!;
      assert.equal(reset.kind, "password_reset_code");
      assert.equal(reset.to, "bob@example.org");
      assert.equal(reset.status, "outbox");
      assert.equal(reset.attempts, 0);
      assert.equal(reset.sent_on, null);
      assert.equal(reset.subject, "Reset your Latchkey password");
      assert.match(reset.body_text ?? "", /^ {4}234208$/m);
      assert.equal(new Date(reset.created_on).getTime() / 1000, clock.now() - 1);

      // A machine token with every scope sees the metadata, never a code.
      const machine = await callApi<OutboxPage>(server, "GET", "/api/v1/mail/outbox");
      assert.equal(machine.status, 200);
      assert.equal(machine.body.messages.length, 3);
      assert.ok(machine.body.messages.every((m) => m.body_text === null));
      assert.ok(!JSON.stringify(machine.body).includes("234208"));

      const narrow = await callApi(server, "GET", "/api/v1/mail/outbox", {
        token: await managementToken(server, "read:users"),
      });
      assert.equal(narrow.status, 403);
    });

    it("pages with page_size and next_token, and answers bad paging with 400", async () => {
      const first = await callApi<OutboxPage>(server, "GET", "/api/v1/mail/outbox?page_size=2");
      assert.deepEqual(
        first.body.messages.map((m) => m.id),
        [ids[2], ids[1]],
      );
      assert.ok(first.body.next_token);
      const second = await callApi<OutboxPage>(
        server,
        "GET",
        `/api/v1/mail/outbox?page_size=2&next_token=${encodeURIComponent(first.body.next_token)}`,
      );
      assert.deepEqual(
        second.body.messages.map((m) => m.id),
        [ids[0]],
      );
      assert.equal(second.body.next_token, null);
      for (const query of [
        "page_size=501",
        "page_size=0",
        "page_size=x",
        "next_token=garbage",
        "next_token=e30",
      ]) {
        const bad = await callApi(server, "GET", `/api/v1/mail/outbox?${query}`);
        assert.equal(bad.status, 400, `${query}: ${JSON.stringify(bad.body)}`);
      }
    });

    it("purges outbox messages after a week, sent and failed ones after a month, pending ones never", async () => {
      const mail = await openMailDb(kind);
      try {
        const store = new MailStore(mail.db);
        const outbox = await mail.enqueue("purge:outbox", "a@example.com", CODE_TEMPLATE("111111"));
        await mail.db
          .updateTable("mail_messages")
          .set({ status: "outbox" })
          .where("id", "=", outbox)
          .execute();
        const sent = await mail.enqueue("purge:sent", "a@example.com", CODE_TEMPLATE("222222"));
        await mail.db.updateTable("mail_messages").set({ status: "sent" }).where("id", "=", sent).execute();
        const failed = await mail.enqueue("purge:failed", "a@example.com", CODE_TEMPLATE("333333"));
        await mail.db
          .updateTable("mail_messages")
          .set({ status: "failed" })
          .where("id", "=", failed)
          .execute();
        const pending = await mail.enqueue("purge:pending", "a@example.com", CODE_TEMPLATE("444444"));
        const left = async () =>
          (await mail.db.selectFrom("mail_messages").select("id").orderBy("id").execute())
            .map((r) => r.id)
            .sort();
        const now = mail.clock.now();
        await purgeExpired(mail.db, now + 7 * 86_400 - 1);
        assert.deepEqual(await left(), [outbox, sent, failed, pending].sort());
        await purgeExpired(mail.db, now + 7 * 86_400 + 1);
        assert.deepEqual(await left(), [sent, failed, pending].sort());
        await purgeExpired(mail.db, now + 30 * 86_400 + 1);
        assert.deepEqual(await left(), [pending]);
        assert.ok(await store.find(pending));
      } finally {
        await mail.close();
      }
    });

    it("re-seals bodies in a master-key rotation; the start-up check opens them, or names them", async () => {
      const mail = await openMailDb(kind, { transport: "outbox" });
      try {
        const id = await mail.enqueue("rotate:1", "a@example.com", CODE_TEMPLATE("555555"));
        const wrong = new SecretBox(randomBytes(32));
        await assert.rejects(
          verifyMasterKey(mail.db, { secretBox: wrong, source: "LATCHKEY_MASTER_KEY", generated: false }, 0),
          (error: unknown) =>
            error instanceof MasterKeyMismatchError && /mail_messages\.body_sealed/.test(error.message),
        );
        const newKey = randomBytes(32);
        const counts = await resealAll(mail.db, new SecretBox(newKey, [mail.masterKey]));
        assert.equal(counts["mail_messages.body_sealed"], 1);
        const rotated = new SecretBox(newKey);
        await verifyMasterKey(
          mail.db,
          { secretBox: rotated, source: "LATCHKEY_MASTER_KEY", generated: false },
          0,
        );
        const row = await mail.row(id);
        assert.ok(rotated.open(row.body_sealed!, `mail_body:${id}`).includes("555555"));
      } finally {
        await mail.close();
      }
    });
  });
}
