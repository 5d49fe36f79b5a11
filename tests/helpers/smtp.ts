// A real SMTP server for tests (the `smtp-server` package on a loopback port), receiving what
// Latchkey sends and parsing each message with `mailparser`: plain, STARTTLS (RFC 3207) or implicit
// TLS, optionally requiring AUTH, optionally slow to accept.

import { readFileSync } from "node:fs";
import { simpleParser } from "mailparser";
import { SMTPServer, type SMTPServerOptions } from "smtp-server";
import type { TestCertificate } from "./tls.js";

export interface ReceivedMail {
  /** The Message-ID header, with its angle brackets. */
  messageId: string;
  envelopeFrom: string;
  envelopeTo: string[];
  from: string;
  subject: string;
  text: string;
  html: string;
  headers: Map<string, unknown>;
  /** Whether the session was encrypted (STARTTLS or implicit TLS). */
  secure: boolean;
}

export interface SmtpPeer {
  port: number;
  received: ReceivedMail[];
  /** Resolves once at least `count` messages arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface SmtpPeerOptions {
  /** none: STARTTLS not offered; starttls: offered with `certificate`; implicit: TLS from the first byte. */
  tls: "none" | "starttls" | "implicit";
  certificate?: TestCertificate;
  /** Listen on this port (0: any free one). */
  port?: number;
  /** Required credentials; without them AUTH is not asked for. */
  auth?: { user: string; pass: string };
  /** Milliseconds before each message is accepted (250 after DATA). */
  acceptDelayMs?: number;
  /** Recipients refused with 550 (RFC 5321 §4.2.2: mailbox unavailable, a permanent failure). */
  refuse?: RegExp;
  /**
   * How long close() lets open sessions (a client's pooled connection) run before it answers them
   * 421 and drops them (smtp-server's default: 30 s). A short one stops the relay at once, as a
   * relay going down would.
   */
  closeTimeoutMs?: number;
}

export async function startSmtpPeer(options: SmtpPeerOptions): Promise<SmtpPeer> {
  const received: ReceivedMail[] = [];
  const waiters = new Set<() => void>();
  const settings: SMTPServerOptions = {
    logger: false,
    secure: options.tls === "implicit",
    disabledCommands: options.tls === "none" ? ["STARTTLS"] : [],
    ...(options.closeTimeoutMs ? { closeTimeout: options.closeTimeoutMs } : {}),
    ...(options.certificate
      ? { key: readFileSync(options.certificate.keyFile), cert: readFileSync(options.certificate.certFile) }
      : {}),
    authOptional: !options.auth,
    // Plain-text AUTH only where the test allows plain SMTP at all (loopback).
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass)
        callback(null, { user: auth.username });
      else callback(new Error("Invalid username or password"));
    },
    onRcptTo(address, _session, callback) {
      if (options.refuse?.test(address.address))
        callback(Object.assign(new Error("5.1.1 No such mailbox"), { responseCode: 550 }));
      else callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        void simpleParser(Buffer.concat(chunks)).then(
          (parsed) => {
            const accept = () => {
              received.push({
                messageId: parsed.messageId ?? "",
                envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
                envelopeTo: session.envelope.rcptTo.map((r) => r.address),
                from: parsed.from?.text ?? "",
                subject: parsed.subject ?? "",
                text: parsed.text ?? "",
                html: typeof parsed.html === "string" ? parsed.html : "",
                headers: parsed.headers as Map<string, unknown>,
                secure: session.secure,
              });
              for (const waiter of waiters) waiter();
              callback();
            };
            if (options.acceptDelayMs) setTimeout(accept, options.acceptDelayMs);
            else accept();
          },
          (error: Error) => callback(error),
        );
      });
    },
  };
  const server = new SMTPServer(settings);
  server.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const address = server.server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    received,
    waitFor(count, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (received.length >= count) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${count} messages; ${received.length} arrived`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
