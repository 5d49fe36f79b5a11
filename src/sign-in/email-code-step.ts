// The e-mail code step of a sign-in (steps.ts): a code is issued and its message enqueued in one
// transaction — the code exists exactly when its e-mail will be sent, and a crash loses neither
// (DESIGN.md, outbox) — then checked when the person types it.
import type { SecretBox } from "../crypto/secret-box.js";
import type { Services } from "../services.js";
import { inTransaction } from "../storage/database.js";
import { CODE_LIFETIME_SECONDS, OneTimeCodes } from "./one-time-codes.js";

export type Sent = { codeId: string } | { refused: true; retryAfter: number; message: string };
export type Checked = { ok: true; email: string } | { ok: false; message: string };

export class EmailCodeStep {
  constructor(
    private readonly services: Services,
    private readonly secretBox: SecretBox,
  ) {}

  /** A new verification code to `email` for the sign-in `requestId`, or why not yet. */
  async send(input: { email: string; userId: string; requestId: string }): Promise<Sent> {
    const { services } = this;
    const issued = await inTransaction(services.db, async (trx) => {
      const issued = await new OneTimeCodes(trx, services.clock, this.secretBox).issue({
        purpose: "verify_email",
        ...input,
      });
      if ("code" in issued)
        await services.mail.enqueue(trx, {
          idempotencyKey: `verify:${issued.id}`,
          to: input.email,
          template: { kind: "verification_code", code: issued.code, expiresInSeconds: CODE_LIFETIME_SECONDS },
        });
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

  async verify(codeId: string, typed: string): Promise<Checked> {
    const { services } = this;
    const result = await new OneTimeCodes(services.db, services.clock, this.secretBox).verify(
      codeId,
      "verify_email",
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
