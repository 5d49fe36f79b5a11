// The mail settings: SMTP_URL and what goes with it (SMTP_ALLOW_INSECURE, SMTP_TLS_CA_FILE,
// MAIL_TRANSPORT, MAIL_FROM), parsed for config.ts's loadConfig.
import { existsSync } from "node:fs";
import { emailProblem } from "../users/email.js";
import type { Fail } from "./config.js";

export interface SmtpConfig {
  host: string;
  port: number;
  /** smtps://: TLS from the first byte (RFC 8314 §3.3); otherwise STARTTLS (RFC 3207). */
  implicitTls: boolean;
  /** SMTP_ALLOW_INSECURE: plain SMTP without TLS, allowed only to a loopback host. */
  allowInsecure: boolean;
  user?: string;
  /** Never logged: only the transport reads it. */
  password?: string;
  /** A PEM file of certificates trusted besides the public roots (a self-signed relay). */
  caFile?: string;
}

export interface MailConfig {
  /** smtp: a worker delivers; outbox: messages stay in the database (development, or chosen). */
  transport: "smtp" | "outbox";
  /** Set when SMTP_URL is. */
  smtp?: SmtpConfig;
  /** The envelope and From address; the business name is its display name at send time. */
  from: string;
}

/** Loopback: the one place plain SMTP (SMTP_ALLOW_INSECURE) may go — the bytes never leave the machine. */
function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  if (host === "localhost" || host === "::1") return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * SMTP_URL and the mail settings around it. The URL carries the relay's password: no message here
 * ever repeats the URL or any part of its credentials.
 */
export function parseMail(
  get: (key: string) => string | undefined,
  production: boolean,
  issuerUrl: string,
  fail: Fail,
): MailConfig {
  const raw = get("SMTP_URL");
  const allowInsecureRaw = get("SMTP_ALLOW_INSECURE") ?? "false";
  if (allowInsecureRaw !== "true" && allowInsecureRaw !== "false")
    fail("SMTP_ALLOW_INSECURE", "must be true or false");
  const allowInsecure = allowInsecureRaw === "true";
  const caFile = get("SMTP_TLS_CA_FILE");
  if (caFile && !existsSync(caFile)) fail("SMTP_TLS_CA_FILE", `file not found: ${caFile}`);

  let smtp: SmtpConfig | undefined;
  if (raw !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(raw);
    } catch {
      fail("SMTP_URL", "is not a URL (smtp://user:password@host:587 or smtps://user:password@host:465)");
    }
    if (url) {
      const implicitTls = url.protocol === "smtps:";
      let user: string | undefined;
      let password: string | undefined;
      try {
        user = url.username ? decodeURIComponent(url.username) : undefined;
        password = url.password ? decodeURIComponent(url.password) : undefined;
      } catch {
        fail("SMTP_URL", "has credentials that are not valid percent-encoding");
      }
      if (url.protocol !== "smtp:" && !implicitTls) fail("SMTP_URL", "must start with smtp:// or smtps://");
      else if (!url.hostname) fail("SMTP_URL", "names no host");
      else if ((url.pathname !== "" && url.pathname !== "/") || url.search || url.hash)
        fail("SMTP_URL", "must not have a path, query or fragment: only smtp(s)://user:password@host:port");
      else {
        // RFC 6409 §3.1: message submission on 587 with STARTTLS; RFC 8314 §3.3: 465 with implicit TLS.
        const port = url.port ? Number(url.port) : implicitTls ? 465 : 587;
        if (port === 0) fail("SMTP_URL", "names port 0");
        // An IPv6 literal comes bracketed out of the URL; the socket wants the bare address.
        const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
        smtp = { host, port, implicitTls, allowInsecure, user, password, caFile };
      }
    }
  }
  // Plain SMTP sends the password and every one-time code in clear: only to this machine.
  if (allowInsecure && smtp && !isLoopbackHost(smtp.host)) {
    fail(
      "SMTP_ALLOW_INSECURE",
      `allows plain SMTP only to a loopback host (localhost, 127.0.0.1, ::1), not ${smtp.host}: ` +
        "use STARTTLS (smtp://, the default) or smtps://, and SMTP_TLS_CA_FILE for a self-signed relay",
    );
  }

  const transportRaw = get("MAIL_TRANSPORT");
  // The outbox is a default only in development: production sends, or says it will not.
  let transport: MailConfig["transport"] = raw !== undefined || production ? "smtp" : "outbox";
  if (transportRaw !== undefined) {
    if (transportRaw !== "smtp" && transportRaw !== "outbox")
      fail("MAIL_TRANSPORT", "must be smtp or outbox");
    else transport = transportRaw;
  }
  if (transport === "smtp" && raw === undefined) {
    fail(
      "SMTP_URL",
      production && transportRaw === undefined
        ? "is required when NODE_ENV=production: users receive sign-in and password-reset codes by e-mail " +
            "(or set MAIL_TRANSPORT=outbox to keep every message in the database, unsent)"
        : "is required when MAIL_TRANSPORT=smtp",
    );
  }

  const fromRaw = get("MAIL_FROM");
  let from: string;
  if (fromRaw !== undefined) {
    const problem = emailProblem(fromRaw);
    if (problem) fail("MAIL_FROM", `is not a usable e-mail address: it ${problem}`);
    from = fromRaw;
  } else {
    // An IP issuer (a test or a LAN installation) gives an address literal (RFC 5321 §4.1.3).
    const host = new URL(issuerUrl).hostname;
    const literal = /^[\d.]+$/.test(host)
      ? `[${host}]`
      : host.startsWith("[")
        ? `[IPv6:${host.slice(1)}`
        : host;
    from = `no-reply@${literal}`;
  }
  return { transport, smtp, from };
}
