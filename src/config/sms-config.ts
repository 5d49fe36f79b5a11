// The SMS settings (issue 22: text-message codes as a second factor), parsed for config.ts's
// loadConfig. No provider is built in: Latchkey hands each message to an HTTP gateway of the
// operator's choosing (a small adapter in front of Twilio, Vonage, SNS …), or keeps it in the
// development outbox (the database) when none is configured.
import type { Fail } from "./config.js";

export interface SmsConfig {
  /** http: POST to SMS_HTTP_URL; outbox: kept in the database, nothing sent (development). */
  transport: "http" | "outbox";
  url?: string;
  /** The gateway's Authorization header value; never logged. */
  authorization?: string;
}

export function parseSms(
  get: (key: string) => string | undefined,
  production: boolean,
  fail: Fail,
): SmsConfig {
  const url = get("SMS_HTTP_URL");
  const authorization = get("SMS_HTTP_AUTHORIZATION");
  const transport = get("SMS_TRANSPORT") ?? (url ? "http" : "outbox");
  if (transport !== "http" && transport !== "outbox") {
    fail("SMS_TRANSPORT", "must be http or outbox");
    return { transport: "outbox" };
  }
  if (transport === "http") {
    if (!url) {
      fail("SMS_HTTP_URL", "is required when SMS_TRANSPORT=http");
      return { transport };
    }
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      fail("SMS_HTTP_URL", "is not a URL");
    }
    // The message carries a sign-in code: only TLS, or a gateway on this machine.
    if (parsed && parsed.protocol !== "https:" && !(production === false && parsed.protocol === "http:"))
      fail("SMS_HTTP_URL", "must be an https:// URL (http:// only outside production)");
  }
  return { transport, url, authorization };
}
