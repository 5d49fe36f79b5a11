// A password reset by e-mail code (email-code.routes.ts). The code proves the mailbox only: when
// the sign-in owes a second factor (the account owns one and the policy asks for it), that factor
// is proved too before the new password takes effect — the rule steps.ts keeps for a new password
// an administrator asked for — or whoever reads the mailbox could change the password and sign the
// owner out everywhere without it. The chosen password then waits in the sign-in's progress,
// sealed to that request and account, until the factor is proved (sign-in.routes.ts
// proceedKnown), and is set only then, and only for the account and browser that chose it.
import type { SecretBox } from "../crypto/secret-box.js";
import type { Services } from "../services.js";
import { inTransaction } from "../storage/database.js";

/** A reset's password while it waits: its hash and the code that proved the mailbox. */
export interface WaitingPassword {
  hash: string;
  codeId: string;
}

/** The AAD binding a waiting password to its sign-in request and account (SecretBox). */
const waitingAad = (requestId: string, userId: string) => `reset-password:${requestId}:${userId}`;

export function sealWaitingPassword(
  secretBox: SecretBox,
  requestId: string,
  userId: string,
  waiting: WaitingPassword,
): string {
  return secretBox.seal(JSON.stringify(waiting), waitingAad(requestId, userId));
}

/** The waiting password, or undefined when it cannot be opened (sealed for another account, or a lost key). */
export function openWaitingPassword(
  secretBox: SecretBox,
  requestId: string,
  userId: string,
  sealed: string,
): WaitingPassword | undefined {
  try {
    return JSON.parse(secretBox.open(sealed, waitingAad(requestId, userId))) as WaitingPassword;
  } catch {
    return undefined;
  }
}

/**
 * Sets the reset password: everyone holding the old one is signed out with it (every session and
 * refresh token, setPasswordHash), other codes for the address end, and the owner is told, in one
 * transaction (ASVS 2.5.x, 3.3.3).
 */
export async function setResetPassword(
  services: Services,
  user: { id: string; email: string },
  { hash, codeId }: WaitingPassword,
): Promise<void> {
  await inTransaction(services.db, async (trx) => {
    const scoped = services.withDb(trx);
    await scoped.users.setPasswordHash(user.id, hash);
    await trx
      .updateTable("one_time_codes")
      .set({ consumed_at: services.clock.now() })
      .where("email", "=", user.email)
      .where("consumed_at", "is", null)
      .execute();
    await services.mail.enqueue(trx, {
      idempotencyKey: `password-changed:${codeId}`,
      to: user.email,
      template: { kind: "password_changed" },
    });
  });
  services.mail.wake();
}
