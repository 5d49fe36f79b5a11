// Kinde's one-time codes: six digits sent by e-mail to verify an address, sign in without a
// password or reset one. What makes a short code safe to accept (NIST SP 800-63B §5.1.3.2, ASVS 2.7):
//   - it is stored only as a keyed hash (SecretBox.mac), so a copy of the database does not reveal it;
//   - it lives CODE_LIFETIME_SECONDS (2 hours by default) and is consumed once;
//   - each code takes at most MAX_ATTEMPTS guesses, counted by one conditional write *before* the
//     comparison, so parallel guesses cannot exceed it (5 guesses at 10^-6 each: 1 in 200 000);
//   - issuing a new code for the same address and purpose ends the earlier ones, and an address gets
//     a code at most once per RESEND_COOL_DOWN_SECONDS and MAX_CODES_PER_HOUR an hour, so the
//     guesses an attacker can have per hour stay bounded (and a mailbox cannot be flooded).
import { randomInt } from "node:crypto";
import type { Clock } from "../clock.js";
import { randomToken } from "../crypto/random.js";
import type { SecretBox } from "../crypto/secret-box.js";
import type { Db } from "../storage/database.js";
import type { OneTimeCodePurpose } from "../storage/schema.js";
import { RateLimiter } from "./rate-limit.js";

export const CODE_LIFETIME_SECONDS = 2 * 60 * 60;
export const MAX_ATTEMPTS = 5;
export const RESEND_COOL_DOWN_SECONDS = 60;
export const MAX_CODES_PER_HOUR = 5;
const HOUR_SECONDS = 60 * 60;

export interface NewCode {
  purpose: OneTimeCodePurpose;
  /** The canonical address the code goes to. */
  email: string;
  userId?: string;
  /** The authorization request (sign-in) the code belongs to. */
  requestId?: string;
}

export type Issued =
  | { id: string; code: string; expiresAt: number }
  | { refused: "cool_down" | "hourly_limit"; retryAfter: number };

export type Verified =
  | { ok: true; email: string; userId: string | null; requestId: string | null }
  | { ok: false; reason: "wrong"; attemptsLeft: number; email: string; userId: string | null }
  | { ok: false; reason: "dead" };

export class OneTimeCodes {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly secretBox: SecretBox,
    private readonly lifetimeSeconds = CODE_LIFETIME_SECONDS,
  ) {}

  /**
   * A new code, or why the address may not have one yet. Run it in the transaction that enqueues
   * the message carrying the code, so a code exists exactly when its e-mail will be sent.
   */
  async issue(input: NewCode): Promise<Issued> {
    const now = this.clock.now();
    // Counted in the database with one atomic upsert each, so concurrent requests on any instance
    // cannot slip two codes past the cool-down.
    const limiter = new RateLimiter(this.db, this.clock);
    const coolDown = await limiter.consume(`code:cool-down:${input.email}`, {
      max: 1,
      windowSeconds: RESEND_COOL_DOWN_SECONDS,
    });
    if (!coolDown.allowed) return { refused: "cool_down", retryAfter: coolDown.resetIn };
    const hourly = await limiter.consume(`code:hour:${input.email}`, {
      max: MAX_CODES_PER_HOUR,
      windowSeconds: HOUR_SECONDS,
    });
    if (!hourly.allowed) return { refused: "hourly_limit", retryAfter: hourly.resetIn };
    // Only the newest code for an address and purpose works.
    await this.db
      .updateTable("one_time_codes")
      .set({ consumed_at: now })
      .where("email", "=", input.email)
      .where("purpose", "=", input.purpose)
      .where("consumed_at", "is", null)
      .execute();
    const id = `otc_${randomToken()}`;
    const code = randomInt(0, 1_000_000).toString().padStart(6, "0");
    const expiresAt = now + this.lifetimeSeconds;
    await this.db
      .insertInto("one_time_codes")
      .values({
        id,
        purpose: input.purpose,
        email: input.email,
        user_id: input.userId ?? null,
        request_id: input.requestId ?? null,
        code_mac: this.secretBox.mac(`${id}:${code}`, "one-time-code"),
        created_at: now,
        expires_at: expiresAt,
        consumed_at: null,
      })
      .execute();
    return { id, code, expiresAt };
  }

  /**
   * Checks a code typed for code `id` (of `purpose`). A right code is consumed: only one caller
   * can win it. Spaces and dashes a person types are ignored.
   */
  async verify(id: string, purpose: OneTimeCodePurpose, typed: string): Promise<Verified> {
    const code = typed.replace(/[\s-]/g, "");
    if (id.length > 100) return { ok: false, reason: "dead" };
    const now = this.clock.now();
    // The guess is counted before it is compared, in one conditional write.
    const row = await this.db
      .updateTable("one_time_codes")
      .set((eb) => ({ attempts: eb("attempts", "+", 1) }))
      .where("id", "=", id)
      .where("purpose", "=", purpose)
      .where("consumed_at", "is", null)
      .where("expires_at", ">", now)
      .where("attempts", "<", MAX_ATTEMPTS)
      .returning(["code_mac", "attempts", "email", "user_id", "request_id"])
      .executeTakeFirst();
    if (!row) return { ok: false, reason: "dead" };
    const right =
      /^\d{6}$/.test(code) && this.secretBox.macMatches(`${id}:${code}`, "one-time-code", row.code_mac);
    if (!right) {
      const attemptsLeft = MAX_ATTEMPTS - row.attempts;
      return attemptsLeft > 0
        ? { ok: false, reason: "wrong", attemptsLeft, email: row.email, userId: row.user_id }
        : { ok: false, reason: "dead" };
    }
    const consumed = await this.db
      .updateTable("one_time_codes")
      .set({ consumed_at: now })
      .where("id", "=", id)
      .where("consumed_at", "is", null)
      .executeTakeFirst();
    if (Number(consumed.numUpdatedRows) !== 1) return { ok: false, reason: "dead" };
    return { ok: true, email: row.email, userId: row.user_id, requestId: row.request_id };
  }
}
