// Delivery over a real SMTP server (smtp-server on loopback, messages parsed by mailparser): the
// server's own worker sends what a transaction enqueued; STARTTLS (RFC 3207) and implicit TLS with a
// self-signed certificate trusted through SMTP_TLS_CA_FILE; a relay without STARTTLS, or with an
// untrusted certificate, gets nothing; a relay that is down delays mail with exponential backoff
// and never loses it; a day of failures, or a permanent 5xx, marks it failed; an expired lease
// (a crashed sender) frees the message for another sender. Both databases.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MailStore } from "../../src/mail/mail.store.js";
import { smtpTransport } from "../../src/mail/transport.js";
import { backoffSeconds, GIVE_UP_AFTER_SECONDS, LEASE_SECONDS, MailWorker } from "../../src/mail/worker.js";
import { databaseKinds } from "../helpers/databases.js";
import { freePort, startTestServer } from "../helpers/server.js";
import { startSmtpPeer } from "../helpers/smtp.js";
import { selfSignedCertificate, type TestCertificate } from "../helpers/tls.js";
import { CODE_TEMPLATE, type MailDb, openMailDb, smtpSettings, until } from "./support.js";

const ISSUER = "https://auth.example.com";

function workerFor(mail: MailDb, env: Record<string, string>, random = () => 1) {
  return new MailWorker({
    db: mail.db,
    mail: mail.mail,
    transport: smtpTransport(smtpSettings(env)),
    logger: mail.logger,
    issuer: ISSUER,
    from: "no-reply@auth.example.com",
    clock: mail.clock,
    random,
  });
}

describe("backoff", () => {
  it("doubles from 15 s, jittered between half and all of it, capped at an hour", () => {
    assert.equal(
      backoffSeconds(1, () => 1),
      15,
    );
    assert.equal(
      backoffSeconds(1, () => 0),
      8,
    );
    assert.equal(
      backoffSeconds(3, () => 1),
      60,
    );
    assert.equal(
      backoffSeconds(30, () => 1),
      3_600,
    );
    assert.equal(
      backoffSeconds(30, () => 0),
      1_800,
    );
  });
});

for (const { kind, skip } of await databaseKinds()) {
  describe(`mail delivery over SMTP (${kind})`, { skip }, () => {
    let certificate: TestCertificate;
    before(() => {
      certificate = selfSignedCertificate();
    });
    after(() => certificate?.remove());

    it("the server's worker delivers a committed message over plain SMTP to loopback (SMTP_ALLOW_INSECURE)", async () => {
      const peer = await startSmtpPeer({ tls: "none" });
      const server = await startTestServer(kind, {
        env: { SMTP_URL: `smtp://127.0.0.1:${peer.port}`, SMTP_ALLOW_INSECURE: "true" },
      });
      try {
        await server.services.business.update({ name: "Acme <Widgets>" });
        const { id } = await server.storage.db.transaction().execute((trx) =>
          server.services.mail.enqueue(trx, {
            idempotencyKey: "delivery:1",
            to: "ann@example.com",
            template: CODE_TEMPLATE("314159"),
          }),
        );
        await peer.waitFor(1);
        const [mail] = peer.received;
        assert.equal(mail!.messageId, `<${id}@127.0.0.1>`);
        assert.deepEqual(mail!.envelopeTo, ["ann@example.com"]);
        assert.equal(mail!.envelopeFrom, "no-reply@[127.0.0.1]");
        assert.match(mail!.from, /Acme <Widgets>/);
        assert.equal(mail!.subject, "Your sign-in code for Acme <Widgets>");
        assert.match(mail!.text, /^ {4}314159$/m);
        assert.match(mail!.html, /Acme &lt;Widgets&gt;/);
        assert.equal(mail!.headers.get("auto-submitted"), "auto-generated");
        assert.equal(mail!.secure, false);
        const store = new MailStore(server.storage.db);
        await until(async () => (await store.find(id))?.status === "sent", 5_000, "the sent mark");
        const row = (await store.find(id))!;
        assert.equal(row.attempts, 1);
        assert.equal(row.body_sealed, null, "the body (the code) is dropped once delivered");
        assert.equal(row.lease_owner, null);
        assert.ok(row.sent_at);
        assert.ok(!server.logs.text.includes("314159"), "the code is not logged");
        assert.match(server.logs.text, /"event":"mail_sent"/);
      } finally {
        await server.close();
        await peer.close();
      }
    });

    it("STARTTLS with a self-signed certificate trusted through SMTP_TLS_CA_FILE, and AUTH inside it", async () => {
      const auth = { user: "latchkey", pass: "relay-pass-Z9" };
      const peer = await startSmtpPeer({ tls: "starttls", certificate, auth });
      const mail = await openMailDb(kind);
      try {
        const id = await mail.enqueue("tls:1", "bea@example.com", CODE_TEMPLATE("271828"));
        const worker = workerFor(mail, {
          SMTP_URL: `smtp://${auth.user}:${auth.pass}@127.0.0.1:${peer.port}`,
          SMTP_TLS_CA_FILE: certificate.certFile,
        });
        assert.equal(await worker.runOnce(), 1);
        await worker.stop();
        assert.equal(peer.received.length, 1);
        assert.equal(peer.received[0]!.secure, true, "upgraded with STARTTLS before sending");
        assert.equal(peer.received[0]!.messageId, `<${id}@auth.example.com>`);
        assert.equal((await mail.row(id)).status, "sent");
      } finally {
        await mail.close();
        await peer.close();
      }
    });

    it("implicit TLS (smtps://)", async () => {
      const peer = await startSmtpPeer({ tls: "implicit", certificate });
      const mail = await openMailDb(kind);
      try {
        const id = await mail.enqueue("tls:2", "cy@example.com", CODE_TEMPLATE("161803"));
        const worker = workerFor(mail, {
          SMTP_URL: `smtps://127.0.0.1:${peer.port}`,
          SMTP_TLS_CA_FILE: certificate.certFile,
        });
        await worker.runOnce();
        await worker.stop();
        assert.equal(peer.received[0]?.secure, true);
        assert.equal((await mail.row(id)).status, "sent");
      } finally {
        await mail.close();
        await peer.close();
      }
    });

    it("refuses a relay that does not offer STARTTLS, and one whose certificate is not trusted", async () => {
      const plain = await startSmtpPeer({ tls: "none" });
      const untrusted = await startSmtpPeer({ tls: "starttls", certificate });
      const mail = await openMailDb(kind);
      try {
        const first = await mail.enqueue("refuse:1", "dee@example.com", CODE_TEMPLATE("112358"));
        // Loopback, but SMTP_ALLOW_INSECURE is not set: STARTTLS is required.
        const noStartTls = workerFor(mail, { SMTP_URL: `smtp://127.0.0.1:${plain.port}` });
        await noStartTls.runOnce();
        await noStartTls.stop();
        assert.equal(plain.received.length, 0, "nothing was sent in clear");
        const row = await mail.row(first);
        assert.equal(row.status, "pending");
        assert.equal(row.attempts, 1);
        assert.match(row.last_error ?? "", /STARTTLS/i);

        const second = await mail.enqueue("refuse:2", "dee@example.com", CODE_TEMPLATE("132134"));
        const noCa = workerFor(mail, { SMTP_URL: `smtp://127.0.0.1:${untrusted.port}` });
        // (The first message is not due again for 15 s on this clock: only the second is tried.)
        await noCa.runOnce();
        await noCa.stop();
        assert.equal(untrusted.received.length, 0, "an untrusted certificate is not sent to");
        assert.match((await mail.row(second)).last_error ?? "", /ETLS|certificate/i);
      } finally {
        await mail.close();
        await plain.close();
        await untrusted.close();
      }
    });

    it("a relay that is down: the enqueue commits, attempts back off, and the message arrives once it is up", async () => {
      const port = await freePort();
      const mail = await openMailDb(kind);
      const env = { SMTP_URL: `smtp://127.0.0.1:${port}`, SMTP_ALLOW_INSECURE: "true" };
      const worker = workerFor(mail, env);
      let peer: Awaited<ReturnType<typeof startSmtpPeer>> | undefined;
      try {
        // The transaction that enqueues commits whatever the relay's state.
        const id = await mail.enqueue("down:1", "eve@example.com", CODE_TEMPLATE("577215"));
        const start = mail.clock.now();
        const expected = [15, 30, 60];
        let at = start;
        for (const [i, delay] of expected.entries()) {
          assert.equal(await worker.runOnce(), 1, `attempt ${i + 1} is due`);
          const row = await mail.row(id);
          assert.equal(row.status, "pending");
          assert.equal(row.attempts, i + 1);
          assert.equal(row.next_attempt_at, at + delay, `attempt ${i + 2} after ${delay} s`);
          assert.match(row.last_error ?? "", /ECONNECTION|ECONNREFUSED/);
          assert.ok(row.body_sealed, "the body waits for the next attempt");
          // Not due before its time.
          mail.clock.advance(delay - 1);
          assert.equal(await worker.runOnce(), 0);
          mail.clock.advance(1);
          at = mail.clock.now();
        }
        peer = await startSmtpPeer({ tls: "none", port });
        assert.equal(await worker.runOnce(), 1);
        assert.equal(peer.received.length, 1);
        assert.equal(peer.received[0]!.messageId, `<${id}@auth.example.com>`);
        const row = await mail.row(id);
        assert.equal(row.status, "sent");
        assert.equal(row.attempts, 4);
        assert.equal(row.last_error, null);
        assert.match(mail.logs.text, /"event":"mail_retry"/);
        assert.ok(!mail.logs.text.includes("577215"), "the code is not logged");
      } finally {
        await worker.stop();
        await mail.close();
        await peer?.close();
      }
    });

    it("gives up a day after the message was written, and at once on a permanent 5xx", async () => {
      const port = await freePort();
      const mail = await openMailDb(kind);
      const worker = workerFor(mail, { SMTP_URL: `smtp://127.0.0.1:${port}`, SMTP_ALLOW_INSECURE: "true" });
      let peer: Awaited<ReturnType<typeof startSmtpPeer>> | undefined;
      try {
        const id = await mail.enqueue("old:1", "fay@example.com", CODE_TEMPLATE("141421"));
        mail.clock.advance(GIVE_UP_AFTER_SECONDS - 100);
        await worker.runOnce();
        // The last retry is due no later than the deadline itself.
        assert.equal((await mail.row(id)).next_attempt_at, mail.clock.now() + 15);
        mail.clock.advance(100);
        await worker.runOnce();
        const row = await mail.row(id);
        assert.equal(row.status, "failed");
        assert.equal(row.attempts, 2);
        assert.equal(row.body_sealed, null, "a message given up keeps no code");

        peer = await startSmtpPeer({ tls: "none", port, refuse: /^nobody@/ });
        const refused = await mail.enqueue("refused:1", "nobody@example.com", CODE_TEMPLATE("173205"));
        await worker.runOnce();
        const refusedRow = await mail.row(refused);
        assert.equal(refusedRow.status, "failed", "550 no such mailbox will not change");
        assert.match(refusedRow.last_error ?? "", /550/);
      } finally {
        await worker.stop();
        await mail.close();
        await peer?.close();
      }
    });

    it("a live lease holds a message against other senders; an expired one (a crashed sender) frees it", async () => {
      const peer = await startSmtpPeer({ tls: "none" });
      const mail = await openMailDb(kind);
      const worker = workerFor(mail, {
        SMTP_URL: `smtp://127.0.0.1:${peer.port}`,
        SMTP_ALLOW_INSECURE: "true",
      });
      try {
        const id = await mail.enqueue("lease:1", "gus@example.com", CODE_TEMPLATE("223606"));
        const now = mail.clock.now();
        const claimed = await new MailStore(mail.db).claim({
          owner: "crashed-sender",
          now,
          leaseUntil: now + LEASE_SECONDS,
          limit: 10,
        });
        assert.deepEqual(
          claimed.map((r) => r.id),
          [id],
        );
        assert.equal(await worker.runOnce(), 0, "held by the other sender's lease");
        mail.clock.advance(LEASE_SECONDS);
        assert.equal(await worker.runOnce(), 1, "free once the lease expired");
        assert.equal(peer.received.length, 1);
        assert.equal((await mail.row(id)).status, "sent");
      } finally {
        await worker.stop();
        await mail.close();
        await peer.close();
      }
    });

    it("instances claiming at the same moment take different messages", async () => {
      const mail = await openMailDb(kind);
      try {
        for (let i = 0; i < 30; i++)
          await mail.enqueue(`share:${i}`, `u${i}@example.com`, CODE_TEMPLATE("999999"));
        const now = mail.clock.now();
        // Separate stores over one pool: on PostgreSQL each claim is its own transaction on its own
        // connection, FOR UPDATE SKIP LOCKED passing over the rows another claim holds.
        const claims = await Promise.all(
          ["a", "b", "c", "d"].map((owner) =>
            new MailStore(mail.db).claim({ owner, now, leaseUntil: now + LEASE_SECONDS, limit: 10 }),
          ),
        );
        const ids = claims.flatMap((rows) => rows.map((r) => r.id));
        assert.equal(new Set(ids).size, ids.length, "no message claimed twice");
        assert.equal(ids.length, 30, "every due message claimed by someone");
        const rows = await mail.db.selectFrom("mail_messages").select(["id", "lease_owner"]).execute();
        const owners = new Map(
          claims.flatMap((claimed, i) => claimed.map((r) => [r.id, "abcd"[i]!] as const)),
        );
        for (const row of rows) assert.equal(row.lease_owner, owners.get(row.id));
      } finally {
        await mail.close();
      }
    });

    it("one message per idempotency key, however often its transaction is retried", async () => {
      const mail = await openMailDb(kind);
      try {
        const first = await mail.enqueue("verify:abc", "hal@example.com", CODE_TEMPLATE("100000"));
        const again = await mail.db.transaction().execute((trx) =>
          mail.mail.enqueue(trx, {
            idempotencyKey: "verify:abc",
            to: "hal@example.com",
            template: CODE_TEMPLATE("100000"),
          }),
        );
        assert.deepEqual(again, { id: first, status: "pending", created: false });
        // A transaction that rolls back leaves no message.
        await assert.rejects(
          mail.db.transaction().execute(async (trx) => {
            await mail.mail.enqueue(trx, {
              idempotencyKey: "verify:rolled-back",
              to: "hal@example.com",
              template: CODE_TEMPLATE("200000"),
            });
            throw new Error("the change failed");
          }),
          /the change failed/,
        );
        const rows = await mail.db.selectFrom("mail_messages").select("idempotency_key").execute();
        assert.deepEqual(
          rows.map((r) => r.idempotency_key),
          ["verify:abc"],
        );
      } finally {
        await mail.close();
      }
    });
  });
}
