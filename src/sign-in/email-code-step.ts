// The e-mail code step of a sign-in (steps.ts): a code is issued and its message enqueued in one
// transaction — the code exists exactly when its e-mail will be sent, and a crash loses neither
// (DESIGN.md, outbox) — then checked when the person types it.
import type { SecretBox } from "../crypto/secret-box.js";
import { type NoValues, plural, t, wait as waitWords } from "../i18n/catalogue.js";
import { DEFAULT_LOCALE, type Locale } from "../i18n/locale.js";
import type { MailTemplate } from "../mail/templates.js";
import type { Services } from "../services.js";
import { inTransaction } from "../storage/database.js";
import type { OneTimeCodePurpose } from "../storage/schema.js";
import { CODE_LIFETIME_SECONDS, OneTimeCodes } from "./one-time-codes.js";

const TEMPLATES: Record<
  OneTimeCodePurpose,
  "verification_code" | "sign_in_code" | "password_reset_code" | "mfa_code"
> = {
  verify_email: "verification_code",
  mfa: "mfa_code",
  sign_in: "sign_in_code",
  reset_password: "password_reset_code",
};

const CODES_PER_NETWORK = { max: 30, windowSeconds: 60 * 60 };
const FAILURES_PER_ADDRESS = { max: 20, windowSeconds: 24 * 60 * 60 };

/** Why no code is sent, and when one may be, in the sign-in's language. */
function refusal(locale: Locale, wait: number, why: NoValues): Sent {
  const when = wait > 90 ? waitWords(locale, wait) : plural(locale, "time.seconds", wait);
  return {
    refused: true,
    retryAfter: wait,
    message: t(locale, "email_code.ask_again", { why: t(locale, why), wait: when }),
  };
}

export type Sent = { codeId: string } | { refused: true; retryAfter: number; message: string };
/** A right code: the address it went to and the account it was issued for (none: never sent). */
/** A failure names the account only when the code was a live one for it (for the authentication log). */
export type Checked =
  | { ok: true; email: string; userId: string | null }
  | { ok: false; message: string; userId?: string | null };

export class EmailCodeStep {
  constructor(
    private readonly services: Services,
    private readonly secretBox: SecretBox,
    readonly lifetimeSeconds = CODE_LIFETIME_SECONDS,
  ) {}

  /**
   * A new code for `purpose` to `email` for the sign-in `requestId`, or why not yet. Without a
   * `userId` (nobody has the address) a code is issued all the same but never sent: the page, its
   * limits and a wrong guess look the same whether or not the address has an account.
   */
  async send(input: {
    purpose: OneTimeCodePurpose;
    email: string;
    userId: string | undefined;
    /**
     * Sent even though no account has the address: the person is creating one with it (a sign-in
     * provider that tells no address, connection-email-proof.ts), so the mailbox must prove it.
     */
    deliverWithoutAccount?: boolean;
    requestId: string;
    /** The asking client's network (clientNetwork): codes it may ask for, across all addresses. */
    network: string;
    /** The sign-in's language: the message's and the refusal's (AuthorizationRequest.locale). */
    locale?: Locale;
  }): Promise<Sent> {
    const { services } = this;
    const locale = input.locale ?? DEFAULT_LOCALE;
    const limiter = services.rateLimiter;
    // Guessing across many accounts: one network asks for at most so many codes an hour, whatever
    // the addresses; and an address that drew FAILURES_PER_ADDRESS wrong codes today gets no more
    // (NIST SP 800-63B §5.2.2 caps consecutive failures; 20 guesses at 10^-6 each stay negligible).
    const failures = await limiter.retryAfter(`code:failures:${input.email}`, FAILURES_PER_ADDRESS);
    if (failures > 0) return refusal(locale, failures, "email_code.too_many_wrong");
    const perNetwork = await limiter.consume(`code:network:${input.network}`, CODES_PER_NETWORK);
    if (!perNetwork.allowed) return refusal(locale, perNetwork.resetIn, "email_code.too_many_network");
    const issued = await inTransaction(services.db, async (trx) => {
      const { network: _network, deliverWithoutAccount, locale: _locale, ...code } = input;
      const issued = await new OneTimeCodes(trx, services.clock, this.secretBox, this.lifetimeSeconds).issue(
        code,
      );
      if ("code" in issued && (input.userId !== undefined || deliverWithoutAccount === true)) {
        const template: MailTemplate = {
          kind: TEMPLATES[input.purpose],
          code: issued.code,
          expiresInSeconds: this.lifetimeSeconds,
          locale,
        };
        await services.mail.enqueue(trx, { idempotencyKey: `code:${issued.id}`, to: input.email, template });
      }
      return issued;
    });
    if ("code" in issued) {
      services.mail.wake();
      return { codeId: issued.id };
    }
    return refusal(
      locale,
      issued.retryAfter,
      issued.refused === "cool_down" ? "email_code.cool_down" : "email_code.hourly_limit",
    );
  }

  async verify(
    codeId: string,
    purpose: OneTimeCodePurpose,
    typed: string,
    locale: Locale = DEFAULT_LOCALE,
  ): Promise<Checked> {
    const { services } = this;
    const result = await new OneTimeCodes(services.db, services.clock, this.secretBox).verify(
      codeId,
      purpose,
      typed.slice(0, 20),
    );
    if (result.ok) return { ok: true, email: result.email, userId: result.userId };
    if (result.reason === "wrong") {
      await services.rateLimiter.hit(`code:failures:${result.email}`, FAILURES_PER_ADDRESS);
      return {
        ok: false,
        userId: result.userId,
        message: plural(locale, "email_code.wrong", result.attemptsLeft),
      };
    }
    return { ok: false, message: t(locale, "email_code.used") };
  }
}
