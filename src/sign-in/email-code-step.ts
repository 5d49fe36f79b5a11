// The e-mail code step of a sign-in (steps.ts): a code is issued and its message enqueued in one
// transaction — the code exists exactly when its e-mail will be sent, and a crash loses neither
// (DESIGN.md, outbox) — then checked when the person types it.
import type { SecretBox } from "../crypto/secret-box.js";
import type { MailTemplate } from "../mail/templates.js";
import type { Services } from "../services.js";
import { inTransaction } from "../storage/database.js";
import type { OneTimeCodePurpose } from "../storage/schema.js";
import { CODE_LIFETIME_SECONDS, OneTimeCodes } from "./one-time-codes.js";

const TEMPLATES: Record<OneTimeCodePurpose, "verification_code" | "sign_in_code" | "password_reset_code"> = {
  verify_email: "verification_code",
  sign_in: "sign_in_code",
  reset_password: "password_reset_code",
};

export type Sent = { codeId: string } | { refused: true; retryAfter: number; message: string };
export type Checked = { ok: true; email: string } | { ok: false; message: string };

export class EmailCodeStep {
  constructor(
    private readonly services: Services,
    private readonly secretBox: SecretBox,
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
    requestId: string;
  }): Promise<Sent> {
    const { services } = this;
    const issued = await inTransaction(services.db, async (trx) => {
      const issued = await new OneTimeCodes(trx, services.clock, this.secretBox).issue(input);
      if ("code" in issued && input.userId !== undefined) {
        const template: MailTemplate = {
          kind: TEMPLATES[input.purpose],
          code: issued.code,
          expiresInSeconds: CODE_LIFETIME_SECONDS,
        };
        await services.mail.enqueue(trx, { idempotencyKey: `code:${issued.id}`, to: input.email, template });
      }
      return issued;
    });
    if ("code" in issued) {
      services.mail.wake();
      return { codeId: issued.id };
    }
    const wait = issued.retryAfter;
    const when = wait > 90 ? `${Math.ceil(wait / 60)} minutes` : `${wait} seconds`;
    return {
      refused: true,
      retryAfter: wait,
      message:
        issued.refused === "cool_down"
          ? `We sent a code a moment ago. You can ask for another in ${when}.`
          : `We have sent several codes to this address in the last hour. You can ask for another in ${when}.`,
    };
  }

  async verify(codeId: string, purpose: OneTimeCodePurpose, typed: string): Promise<Checked> {
    const { services } = this;
    const result = await new OneTimeCodes(services.db, services.clock, this.secretBox).verify(
      codeId,
      purpose,
      typed.slice(0, 20),
    );
    if (result.ok) return { ok: true, email: result.email };
    if (result.reason === "wrong")
      return {
        ok: false,
        message: `That code is not right. You can try ${result.attemptsLeft} more time${result.attemptsLeft === 1 ? "" : "s"}.`,
      };
    return { ok: false, message: "This code can no longer be used. Ask for a new code below." };
  }
}
