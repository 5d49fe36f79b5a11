// Sending text messages (the mfa:sms factor). Latchkey ships no SMS provider: a message goes to an
// HTTP gateway the operator runs or rents (SMS_HTTP_URL: a JSON POST, any 2xx is success) or, with
// none configured, into the development outbox (the sms_outbox table, bodies sealed), where tests
// and operators read it. Nothing here logs a message's body: it carries a sign-in code.

import type { Clock } from "../clock.js";
import type { SmsConfig } from "../config/sms-config.js";
import { randomHex } from "../crypto/random.js";
import type { SecretBox } from "../crypto/secret-box.js";
import type { Db } from "../storage/database.js";

export interface SmsMessage {
  /** E.164, e.g. +14155550100. */
  to: string;
  body: string;
}

export interface SmsSender {
  /** Resolves once the message was accepted for delivery; throws SmsNotSent otherwise. */
  send(message: SmsMessage): Promise<void>;
}

export class SmsNotSent extends Error {}

/** E.164: a plus, a country code not starting with 0, at most 15 digits in all. */
export function normalisePhoneNumber(typed: string): string | undefined {
  const compact = typed.replace(/[\s().-]/g, "");
  const withPlus = compact.startsWith("00") ? `+${compact.slice(2)}` : compact;
  return /^\+[1-9]\d{6,14}$/.test(withPlus) ? withPlus : undefined;
}

/** A number as a page shows it to its owner: only the last digits. */
export function maskPhoneNumber(number: string): string {
  return `•••• ${number.slice(-3)}`;
}

export const smsBodyAad = (id: string) => `sms-outbox:${id}`;

/** The development outbox: nothing leaves the machine. */
export class OutboxSms implements SmsSender {
  constructor(
    private readonly db: Db,
    private readonly secretBox: SecretBox,
    private readonly clock: Clock,
  ) {}

  async send(message: SmsMessage): Promise<void> {
    const id = `sms_${randomHex(16)}`;
    await this.db
      .insertInto("sms_outbox")
      .values({
        id,
        to_number: message.to,
        body_sealed: this.secretBox.seal(message.body, smsBodyAad(id)),
        created_at: this.clock.now(),
      })
      .execute();
  }
}

/** An operator's gateway: one POST per message, bounded in time. */
export class HttpSms implements SmsSender {
  constructor(private readonly config: { url: string; authorization?: string }) {}

  async send(message: SmsMessage): Promise<void> {
    const id = `sms_${randomHex(16)}`;
    let status: number;
    try {
      const response = await fetch(this.config.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(this.config.authorization ? { authorization: this.config.authorization } : {}),
        },
        body: JSON.stringify({ id, to: message.to, body: message.body }),
        redirect: "error",
        signal: AbortSignal.timeout(10_000),
      });
      status = response.status;
      await response.body?.cancel();
    } catch {
      throw new SmsNotSent("the SMS gateway could not be reached");
    }
    if (status < 200 || status > 299) throw new SmsNotSent(`the SMS gateway answered ${status}`);
  }
}

export function smsSenderFor(
  config: SmsConfig | undefined,
  db: Db,
  secretBox: SecretBox,
  clock: Clock,
): SmsSender {
  if (config?.transport === "http" && config.url)
    return new HttpSms({ url: config.url, authorization: config.authorization });
  return new OutboxSms(db, secretBox, clock);
}
