// `latchkey mail test --to ADDRESS`: proves the mail settings work. The message goes through the
// outbox like any other; with SMTP it is then delivered at once and the relay's answer printed (a
// running server's worker may take it first: then its outcome is awaited), with the outbox it is
// kept there. Prints JSON on stdout like the other operator commands; exits 1 when not sent.
import { parseArgs } from "node:util";
import { UsageError, withServices } from "../cli/admin-commands.js";
import { randomHex } from "../crypto/random.js";
import { emailProblem } from "../users/email.js";
import type { MailRow } from "./mail.store.js";
import { smtpTransport } from "./transport.js";
import { LEASE_SECONDS, MailWorker } from "./worker.js";

export const MAIL_HELP = `  mail test --to ADDRESS   send a test e-mail: with SMTP_URL delivered now and the relay's answer
                           printed; otherwise kept in the outbox (exit 1 when it was not sent)`;

export async function runMailCommand(args: string[]): Promise<number> {
  let values: { to?: string | boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: { to: { type: "string" } },
      allowPositionals: true,
      strict: true,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (positionals.join(" ") !== "mail test")
    throw new UsageError(`unknown command "${positionals.join(" ")}"`);
  const to = typeof values.to === "string" ? values.to.trim() : "";
  if (!to) throw new UsageError("--to is required");
  const problem = emailProblem(to);
  if (problem) throw new UsageError(`--to: the address ${problem}`);

  let exitCode = 0;
  await withServices(async (services, logger, _secretBox, config) => {
    const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    const { id } = await services.db.transaction().execute((trx) =>
      services.mail.enqueue(trx, {
        idempotencyKey: `test:${randomHex(16)}`,
        to,
        template: { kind: "test" },
      }),
    );
    if (config.mail.transport === "outbox" || !config.mail.smtp) {
      print({
        id,
        to,
        status: "outbox",
        message:
          "MAIL_TRANSPORT is outbox (no SMTP_URL): the message is kept in the outbox, not sent; read it in the dashboard (Settings › E-mail › Outbox)",
      });
      return;
    }
    const worker = new MailWorker({
      db: services.db,
      mail: services.mail,
      transport: smtpTransport(config.mail.smtp),
      logger,
      issuer: config.issuerUrl,
      from: config.mail.from,
    });
    let row: MailRow | undefined;
    try {
      row = await worker.deliver(id);
      // Claimed by a running server's worker first: its attempt ends within its lease.
      const until = Date.now() + (LEASE_SECONDS + 5) * 1000;
      while (row && row.status === "pending" && row.attempts === 0 && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        row = await services.db
          .selectFrom("mail_messages")
          .selectAll()
          .where("id", "=", id)
          .executeTakeFirst();
      }
    } finally {
      await worker.stop();
    }
    const sent = row?.status === "sent";
    if (!sent) exitCode = 1;
    print({
      id,
      to,
      status: row?.status ?? "unknown",
      attempts: row?.attempts ?? 0,
      ...(sent
        ? { message: `sent through ${config.mail.smtp.host}:${config.mail.smtp.port}` }
        : {
            error: row?.last_error ?? null,
            message:
              row?.status === "pending"
                ? "not sent; it stays in the outbox and a running server retries it with backoff"
                : "not sent",
          }),
    });
  });
  return exitCode;
}
