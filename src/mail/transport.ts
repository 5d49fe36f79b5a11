// The SMTP side, through nodemailer. Confidentiality is required, not hoped for: smtp:// must
// upgrade with STARTTLS (RFC 3207) — a relay that does not offer it, or a downgrade that strips it,
// fails the attempt instead of sending the password and the codes in clear — and smtps:// speaks TLS
// from the first byte (RFC 8314 §3.3). Certificates are verified (public roots, plus SMTP_TLS_CA_FILE
// for a self-signed relay). Only SMTP_ALLOW_INSECURE, which configuration allows to a loopback host
// alone, sends plain SMTP.
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import type { SmtpConfig } from "../config/config.js";

export interface OutgoingMail {
  /** RFC 5322 §3.6.4 msg-id, `<id@host>`: the same on every attempt, so a resend is recognisable. */
  messageId: string;
  from: { name: string; address: string };
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface MailTransport {
  /** Resolves once the relay accepted the message (RFC 5321 §4.2: 250 after DATA); rejects otherwise. */
  send(message: OutgoingMail): Promise<void>;
  close(): void;
}

/** A failed attempt: whether trying again can help, and a short reason that is safe to store and log. */
export class SendError extends Error {
  override name = "SendError";
  constructor(
    readonly summary: string,
    readonly permanent: boolean,
  ) {
    super(summary);
  }
}

/** A whole attempt's bound, beyond nodemailer's per-step timeouts (a relay dripping bytes). */
const SEND_DEADLINE_MS = 60_000;

export function smtpTransport(config: SmtpConfig, options: { pool?: boolean } = {}): MailTransport {
  // The password as it may appear in a relay's echo: plain, AUTH PLAIN's argument, and AUTH LOGIN's
  // (RFC 4954 / draft-murchison-sasl-login: the password alone, base64-encoded).
  const secrets = [
    config.password,
    config.user && config.password ? plainAuth(config) : undefined,
    config.password ? Buffer.from(config.password).toString("base64") : undefined,
  ].filter((s): s is string => Boolean(s));
  // nodemailer is loaded on first send: a process that never sends (outbox mode) does not pay for it.
  let transporter: Promise<import("nodemailer").Transporter> | undefined;
  const open = () => {
    transporter ??= import("nodemailer").then(({ default: nodemailer }) => {
      const ca = config.caFile ? [...rootCertificates, readFileSync(config.caFile, "utf8")] : undefined;
      return nodemailer.createTransport({
        host: config.host,
        port: config.port,
        secure: config.implicitTls,
        requireTLS: !config.implicitTls && !config.allowInsecure,
        ignoreTLS: !config.implicitTls && config.allowInsecure,
        auth: config.user ? { user: config.user, pass: config.password ?? "" } : undefined,
        tls: { ...(ca ? { ca } : {}), minVersion: "TLSv1.2", rejectUnauthorized: true },
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 30_000,
        // Off: nodemailer's logger would write the SMTP conversation, AUTH included.
        logger: false,
        debug: false,
        // Messages are built from our templates only; nothing may make nodemailer read a file or URL.
        disableFileAccess: true,
        disableUrlAccess: true,
        ...(options.pool
          ? {
              pool: true as const,
              maxConnections: 1,
              maxMessages: 100,
              idleTimeout: 30_000,
              // Retries are the outbox's (with backoff and a record): never resent behind its back.
              maxRequeues: 0,
            }
          : {}),
      });
    });
    return transporter;
  };
  const reset = () => {
    const current = transporter;
    transporter = undefined;
    void current?.then(
      (t) => t.close(),
      () => {},
    );
  };
  return {
    async send(message) {
      const mailer = await open();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new SendError("timed out after 60 s", false)), SEND_DEADLINE_MS);
      });
      try {
        await Promise.race([
          mailer.sendMail({
            messageId: message.messageId,
            from: message.from,
            to: message.to,
            subject: message.subject,
            text: message.text,
            html: message.html,
            // RFC 3834 §5: machine-generated, so vacation responders and the like stay silent.
            headers: { "Auto-Submitted": "auto-generated" },
          }),
          deadline,
        ]);
      } catch (error) {
        // A connection left in an unknown state is not reused.
        reset();
        throw describe(error, secrets);
      } finally {
        clearTimeout(timer);
      }
    },
    close: reset,
  };
}

/** AUTH PLAIN's argument (RFC 4616), in case a relay's reply ever echoed it. */
function plainAuth(config: SmtpConfig): string {
  return Buffer.from(`\0${config.user}\0${config.password}`).toString("base64");
}

/**
 * nodemailer's error as a SendError: a 5xx reply to the envelope (RFC 5321 §4.2.1: permanent, e.g.
 * 550 no such mailbox) will not succeed later; anything else — connection, TLS, authentication, a
 * 4xx — may, once the relay or its configuration is fixed. The summary keeps the code and the
 * relay's reply, cut short and with any credential removed.
 */
function describe(error: unknown, secrets: readonly string[]): SendError {
  if (error instanceof SendError) return error;
  const e = (error ?? {}) as {
    code?: unknown;
    responseCode?: unknown;
    response?: unknown;
    message?: unknown;
  };
  const code = typeof e.code === "string" ? e.code : "ERROR";
  const responseCode = typeof e.responseCode === "number" ? e.responseCode : undefined;
  // nodemailer's message names the step and quotes the relay's reply ("Error upgrading connection
  // with STARTTLS: 500 …").
  const detail = typeof e.message === "string" ? e.message : typeof e.response === "string" ? e.response : "";
  let summary = `${code}${responseCode ? ` ${responseCode}` : ""}: ${detail}`.replace(/\s+/g, " ").trim();
  for (const secret of secrets) summary = summary.split(secret).join("[REDACTED]");
  if (summary.length > 200) summary = `${summary.slice(0, 199)}…`;
  const permanent = code === "EENVELOPE" && responseCode !== undefined && responseCode >= 500;
  return new SendError(summary, permanent);
}
