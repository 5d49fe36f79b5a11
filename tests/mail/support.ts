// Shared by the mail tests: a migrated database with a mail service over it, a settable clock, and
// waiting for a row to reach a state (an event-free condition, checked every few milliseconds).
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { loadConfig, type SmtpConfig } from "../../src/config/config.js";
import { SecretBox } from "../../src/crypto/secret-box.js";
import { createLogger } from "../../src/logging.js";
import { MailService } from "../../src/mail/mail.service.js";
import type { MailRow } from "../../src/mail/mail.store.js";
import type { MailTemplate } from "../../src/mail/templates.js";
import { type Db, openStorage, type Storage } from "../../src/storage/database.js";
import { migrateToLatest } from "../../src/storage/migrate.js";
import { type DatabaseKind, freshDatabase, type TestDatabase } from "../helpers/databases.js";
import { LogCapture } from "../helpers/server.js";

export class TestClock {
  constructor(public seconds = Math.floor(Date.now() / 1000)) {}
  now(): number {
    return this.seconds;
  }
  advance(seconds: number): void {
    this.seconds += seconds;
  }
}

export interface MailDb {
  database: TestDatabase;
  storage: Storage;
  db: Db;
  secretBox: SecretBox;
  masterKey: Buffer;
  clock: TestClock;
  logs: LogCapture;
  logger: Logger;
  mail: MailService;
  enqueue(key: string, to: string, template: MailTemplate): Promise<string>;
  row(id: string): Promise<MailRow>;
  close(): Promise<void>;
}

/** A fresh, migrated database whose mail service writes `pending` rows (MAIL_TRANSPORT=smtp). */
export async function openMailDb(
  kind: DatabaseKind,
  options: { transport?: "smtp" | "outbox"; masterKey?: Buffer } = {},
): Promise<MailDb> {
  const database = (await freshDatabase(kind))!;
  const logs = new LogCapture();
  const logger = createLogger("info", logs);
  const storage = await openStorage(database.target, { logger, poolSize: 3 });
  await migrateToLatest(storage.db);
  const masterKey = options.masterKey ?? randomBytes(32);
  const secretBox = new SecretBox(masterKey);
  const clock = new TestClock();
  const mail = new MailService({
    db: storage.db,
    secretBox,
    clock,
    options: { transport: options.transport ?? "smtp", logger },
  });
  return {
    database,
    storage,
    db: storage.db,
    secretBox,
    masterKey,
    clock,
    logs,
    logger,
    mail,
    async enqueue(key, to, template) {
      const { id } = await storage.db
        .transaction()
        .execute((trx) => mail.enqueue(trx, { idempotencyKey: key, to, template }));
      return id;
    },
    row: (id) =>
      storage.db.selectFrom("mail_messages").selectAll().where("id", "=", id).executeTakeFirstOrThrow(),
    async close() {
      await storage.close();
      await database.drop();
    },
  };
}

/** The SMTP settings an environment gives (through the real configuration parser). */
export function smtpSettings(env: Record<string, string>): SmtpConfig {
  const smtp = loadConfig(env).mail.smtp;
  if (!smtp) throw new Error("no SMTP settings");
  return smtp;
}

/** Resolves once `check` holds (checked every 10 ms), or rejects after `timeoutMs`. */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, what = "condition") {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const CODE_TEMPLATE = (code: string): MailTemplate => ({
  kind: "sign_in_code",
  code,
  expiresInSeconds: 600,
});
