// Second factors (issue 22): what a sign-in still owes after its first proof, enrolling an
// authenticator app, checking its codes and the recovery codes, and resetting a user's factors.
// The sign-in pages (src/sign-in/mfa.routes.ts) and the Management API call this; the rules live here.

import { randomBytes, randomInt } from "node:crypto";
import type { Clock } from "../clock.js";
import { safeEqual } from "../crypto/random.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { type EventSource, recordEvent } from "../events/events.js";
import { userData } from "../events/payloads.js";
import type { enMfaChecks } from "../i18n/en-mfa-checks.js";
import type { Locale } from "../i18n/locale.js";
import type { MailService } from "../mail/mail.service.js";
import { PasskeysStore } from "../passkeys/passkeys.store.js";
import type { RateLimiter } from "../sign-in/rate-limit.js";
import { type Db, inTransaction } from "../storage/database.js";
import type { MfaFactorType } from "../storage/schema.js";
import type { User } from "../users/users.store.js";
import { UsersStore } from "../users/users.store.js";
import { type MfaFactor, MfaStore, recoveryCodeHash } from "./mfa.store.js";
import {
  effectiveMfaSettings,
  type MfaSettings,
  type OrganizationMfaSettings,
  secondFactorProved,
} from "./policy.js";
import { maskPhoneNumber, SmsNotSent, type SmsSender } from "./sms.js";
import { newTotpSecret, totpStep } from "./totp.js";

/** How a second factor can be proved in this sign-in, in the order the page offers them. */
export type ChallengeMethod = "passkey" | "authenticator_app" | "sms" | "email" | "recovery_code";

/** What the MFA policy still asks of a sign-in (after steps.ts's own steps). */
export type MfaRequirement =
  /** The account has a factor: prove it. */
  | { kind: "mfa_challenge"; methods: ChallengeMethod[]; settings: MfaSettings }
  /** No usable factor yet: set one up — or, when the policy is only "optional", decline. */
  | { kind: "mfa_enroll"; optional: boolean; settings: MfaSettings };

/**
 * Whether a session whose sign-in left `requirement` unmet may still be used without the pages:
 * only an offer the person may decline ("optional" set-up) lets it through.
 */
export function sessionSatisfies(requirement: MfaRequirement | undefined): boolean {
  return requirement === undefined || (requirement.kind === "mfa_enroll" && requirement.optional);
}

/** RFC 6238 guessing: 5 wrong codes per account, then a pause (counted before the check). */
export const MFA_ATTEMPT_LIMIT = { max: 5, windowSeconds: 15 * 60 } as const;
export const RECOVERY_CODE_COUNT = 10;
/** "optional" offers enrolment again this long after the person declined. */
const OFFER_AGAIN_AFTER_SECONDS = 30 * 86_400;
const SECRET_AAD = (userId: string) => `mfa-totp:${userId}`;
const SMS_AAD = (userId: string) => `mfa-sms:${userId}`;
/** Texts per account per hour (each costs money; a mistyped number reaches a stranger). */
export const SMS_SEND_LIMIT = { max: 5, windowSeconds: 60 * 60 } as const;
const SMS_NETWORK_LIMIT = { max: 20, windowSeconds: 60 * 60 } as const;
/** The installation's hourly budget of texts: far above any honest sign-in traffic of a self-hosted server. */
const SMS_GLOBAL_LIMIT = { max: 1000, windowSeconds: 60 * 60 } as const;
const SMS_CODE_LIFETIME_SECONDS = 10 * 60;

interface SmsChallenge {
  phone: string;
  code: string;
  expiresAt: number;
}

/**
 * Why a code was refused, as a catalogue key: the page that shows it says it in the sign-in's
 * language (pageMfaRefusal in src/i18n/problems.ts, issue 20).
 */
export type MfaRefusal = keyof typeof enMfaChecks;
export type CodeCheck =
  | { ok: true }
  | { ok: false; status: 400 | 429; message: MfaRefusal; retryAfter?: number };

export class MfaService {
  readonly store: MfaStore;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly deps: {
      secretBox: SecretBox;
      rateLimiter: RateLimiter;
      mail: MailService;
      sms: SmsSender;
      businessName(): Promise<string>;
    },
  ) {
    this.store = new MfaStore(db, clock);
  }

  /**
   * The settings a sign-in of `userId` (into `orgCode`, when named) meets. `organizations`: those
   * organizations' settings when the caller read them already (with the account, issue 21).
   */
  async settingsFor(
    userId: string,
    orgCode?: string,
    organizations?: readonly OrganizationMfaSettings[],
  ): Promise<MfaSettings> {
    const [environment, concerned] = await Promise.all([
      this.store.environmentSettings(),
      organizations ?? this.store.organizationSettingsFor(userId, orgCode),
    ]);
    return effectiveMfaSettings(environment, concerned);
  }

  /**
   * What the sign-in of `user`, having proved `amr`, still owes before a code is issued; undefined
   * when nothing. Called by every way a sign-in finishes and by silent sign-in with a session, so
   * no path skips it.
   */
  async requirement(
    user: Pick<User, "id" | "email" | "mfa_offer_dismissed_at" | "is_admin">,
    amr: readonly string[],
    orgCode?: string,
    /** The application asked for a second factor (acr_values, step-up): "required" for this sign-in. */
    requireMfa = false,
    /** The concerned organizations' settings, when read already (settingsFor). */
    organizations?: readonly OrganizationMfaSettings[],
  ): Promise<MfaRequirement | undefined> {
    if (secondFactorProved(amr)) return undefined;
    const settings = await this.settingsFor(user.id, orgCode, organizations);
    if (requireMfa) {
      settings.policy = "required";
      if (settings.enabledFactors.length === 0) settings.enabledFactors = ["mfa:authenticator_app"];
    }
    // An administrator is asked for every factor they own whatever the settings say: the policy and
    // its factor list are a machine scope's to change (update:mfa), and turning the policy off, or
    // leaving out their authenticator for an e-mailed code, must not lower what guards the
    // dashboard (docs/security.md, "Who may do what").
    const admin = user.is_admin === 1;
    if (settings.policy === "off" && !admin) return undefined;
    const owned = (await this.store.factors(user.id)).filter((f) => f.verifiedAt !== null);
    const passkeys = await new PasskeysStore(this.db, this.clock).count(user.id);
    const hasRecoveryCodes =
      settings.recoveryCodes && owned.length > 0 && (await this.store.unusedRecoveryCodes(user.id)) > 0;
    if (admin) {
      const ownMethods = challengeMethods({
        owned,
        passkeys,
        implicitEmail: false,
        emailAllowed: !amr.includes("email"),
        recoveryCodes: hasRecoveryCodes,
      });
      if (ownMethods.length > 0) return { kind: "mfa_challenge", methods: ownMethods, settings };
      if (settings.policy === "off") return undefined;
    }
    let methods = challengeMethods({
      owned: owned.filter((f) => settings.enabledFactors.includes(f.type)),
      passkeys: settings.passkeyPolicy !== "off" ? passkeys : 0,
      // A code by e-mail is a second factor only after something other than an e-mailed code: a
      // passwordless sign-in (amr "email") mailing another code proves the same mailbox twice. Under
      // "required" every account with an address has it; under "optional" only those who chose it.
      implicitEmail:
        settings.enabledFactors.includes("mfa:email") &&
        Boolean(user.email) &&
        !amr.includes("email") &&
        settings.policy === "required",
      emailAllowed: !amr.includes("email"),
      recoveryCodes: hasRecoveryCodes,
    });
    // An account that owns a factor is never asked to set one up here: that would let a password
    // alone add one — and replace the owner's — wherever this sign-in's settings leave the owned
    // factor out (an organization listing other factors, passkeys off there, the environment's list
    // changed since). Every factor the account owns proves it then.
    if (methods.length === 0 && (owned.length > 0 || passkeys > 0))
      methods = challengeMethods({
        owned,
        passkeys,
        implicitEmail: false,
        emailAllowed: !amr.includes("email"),
        recoveryCodes: hasRecoveryCodes,
      });
    if (methods.length > 0) return { kind: "mfa_challenge", methods, settings };
    if (settings.policy === "required") return { kind: "mfa_enroll", optional: false, settings };
    const dismissed = user.mfa_offer_dismissed_at;
    const offerAgain = dismissed === null || this.clock.now() - dismissed > OFFER_AGAIN_AFTER_SECONDS;
    if (offerAgain && settings.enabledFactors.includes("mfa:authenticator_app"))
      return { kind: "mfa_enroll", optional: true, settings };
    return undefined;
  }

  /** Whether the account owns a confirmed second factor or a passkey (whatever today's settings allow). */
  async ownsFactor(userId: string): Promise<boolean> {
    const owned = (await this.store.factors(userId)).some((f) => f.verifiedAt !== null);
    return owned || (await new PasskeysStore(this.db, this.clock).count(userId)) > 0;
  }

  /**
   * Whether a session may change how its account signs in (factors, passkeys, recovery codes, the
   * password on the account page): an account that owns a factor only from a sign-in that proved
   * one — whatever the policy, "off" included, or a password alone could add a passkey or remove the
   * authenticator that an application's step-up (acr_values) relies on; otherwise as for any sign-in.
   */
  async sessionMayChangeFactors(
    user: Pick<User, "id" | "email" | "mfa_offer_dismissed_at" | "is_admin">,
    amr: readonly string[],
  ): Promise<boolean> {
    if (await this.ownsFactor(user.id)) return secondFactorProved(amr);
    return sessionSatisfies(await this.requirement(user, amr));
  }

  /** A new authenticator secret for `userId`, sealed to that user (kept with the sign-in under way). */
  newSealedSecret(userId: string): { secret: string; sealed: string } {
    const secret = newTotpSecret();
    return { secret, sealed: this.deps.secretBox.seal(secret, SECRET_AAD(userId)) };
  }

  openSecret(userId: string, sealed: string): string | undefined {
    try {
      return this.deps.secretBox.open(sealed, SECRET_AAD(userId));
    } catch {
      return undefined;
    }
  }

  /**
   * Confirms an enrolment: the first code from the app proves it holds the secret. Then the factor
   * is saved (with that code's step used up) and, when the settings offer them, fresh recovery
   * codes are returned — shown once, stored hashed.
   */
  async confirmAuthenticator(
    user: Pick<User, "id" | "email">,
    sealedSecret: string,
    typed: string,
    settings: Pick<MfaSettings, "recoveryCodes">,
    /** The language of the page it was set up on: the owner's notice is written in it. */
    locale?: Locale,
  ): Promise<CodeCheck & { recoveryCodes?: string[] }> {
    const secret = this.openSecret(user.id, sealedSecret);
    if (!secret) return { ok: false, status: 400, message: "mfa_check.setup_expired" };
    const throttled = await this.throttle(user.id);
    if (throttled) return throttled;
    const step = totpStep(secret, typed, this.clock.now());
    if (step === undefined)
      return {
        ok: false,
        status: 400,
        message: "mfa_check.app_code_wrong",
      };
    const recoveryCodes = settings.recoveryCodes ? newRecoveryCodes() : undefined;
    await this.saveConfirmedFactor(
      user,
      {
        type: "mfa:authenticator_app",
        name: "Authenticator app",
        secretSealed: sealedSecret,
        lastUsedStep: step,
      },
      recoveryCodes,
      { idempotencyKey: `mfa-added:${user.id}:${step}`, locale },
    );
    await this.deps.rateLimiter.reset(attemptKey(user.id));
    return { ok: true, recoveryCodes };
  }

  /** Checks an authenticator app's code: current (±1 step), and not used before (RFC 6238 §5.2). */
  async verifyAuthenticator(userId: string, typed: string): Promise<CodeCheck> {
    const factor = (await this.store.factors(userId)).find(
      (f) => f.type === "mfa:authenticator_app" && f.verifiedAt !== null,
    );
    const secret = factor?.secretSealed ? this.openSecret(userId, factor.secretSealed) : undefined;
    if (!factor || !secret) return { ok: false, status: 400, message: "mfa_check.no_app" };
    const throttled = await this.throttle(userId);
    if (throttled) return throttled;
    const step = totpStep(secret, typed, this.clock.now());
    // A replayed code (its step already used) gets the same answer as a wrong one.
    if (step === undefined || !(await this.store.consumeTotpStep(factor.id, step)))
      return {
        ok: false,
        status: 400,
        message: "mfa_check.app_code_wrong_or_used",
      };
    await this.deps.rateLimiter.reset(attemptKey(userId));
    return { ok: true };
  }

  /**
   * Texts a new 6-digit code to `phone` for this user (at most SMS_SEND_LIMIT an hour: each costs
   * money and reaches a stranger's phone if the number is mistyped). The code comes back sealed to
   * the user, with its number and expiry, for the sign-in under way to keep.
   */
  async sendSmsCode(
    userId: string,
    phone: string,
    /** The asking client's network (clientNetwork). */
    network: string,
  ): Promise<{ sealed: string } | { status: 429 | 502; message: MfaRefusal; retryAfter?: number }> {
    // Texts cost money and reach whatever number is typed: besides the account's own budget, one
    // network, one number and the whole installation each get so many an hour, so fresh accounts
    // cannot be used to pump texts to premium numbers (SMS toll fraud).
    const limiter = this.deps.rateLimiter;
    const verdicts = await Promise.all([
      limiter.consume(`mfa-sms:${userId}`, SMS_SEND_LIMIT),
      limiter.consume(`mfa-sms:network:${network}`, SMS_NETWORK_LIMIT),
      limiter.consume(`mfa-sms:number:${phone}`, SMS_SEND_LIMIT),
      limiter.consume("mfa-sms:all", SMS_GLOBAL_LIMIT),
    ]);
    const blocked = verdicts.filter((v) => !v.allowed);
    if (blocked.length > 0)
      return {
        status: 429,
        retryAfter: Math.max(...blocked.map((v) => v.resetIn)),
        message: "mfa_check.sms_too_many",
      };
    const code = randomInt(0, 1_000_000).toString().padStart(6, "0");
    try {
      await this.deps.sms.send({
        to: phone,
        body: `${code} is your ${await this.deps.businessName()} verification code. Do not share it.`,
      });
    } catch (error) {
      if (!(error instanceof SmsNotSent)) throw error;
      return { status: 502, message: "mfa_check.sms_not_sent" };
    }
    const challenge: SmsChallenge = { phone, code, expiresAt: this.clock.now() + SMS_CODE_LIFETIME_SECONDS };
    return { sealed: this.deps.secretBox.seal(JSON.stringify(challenge), SMS_AAD(userId)) };
  }

  /** Checks a texted code against the sealed challenge; the number it proves on success. */
  async checkSmsCode(
    userId: string,
    sealed: string | undefined,
    typed: string,
  ): Promise<(CodeCheck & { ok: false }) | { ok: true; phone: string }> {
    let challenge: SmsChallenge | undefined;
    try {
      challenge = sealed
        ? (JSON.parse(this.deps.secretBox.open(sealed, SMS_AAD(userId))) as SmsChallenge)
        : undefined;
    } catch {
      challenge = undefined;
    }
    if (!challenge || challenge.expiresAt < this.clock.now())
      return { ok: false, status: 400, message: "mfa_check.sms_expired" };
    const throttled = await this.throttle(userId);
    if (throttled && !throttled.ok) return throttled;
    const digits = typed.replace(/\s/g, "");
    if (digits.length !== 6 || !safeEqual(digits, challenge.code))
      return { ok: false, status: 400, message: "mfa_check.sms_wrong" };
    await this.deps.rateLimiter.reset(attemptKey(userId));
    return { ok: true, phone: challenge.phone };
  }

  /**
   * Saves a proved number as the user's SMS factor; fresh recovery codes when the settings offer
   * them and the account has none left.
   */
  async confirmSms(
    user: Pick<User, "id" | "email">,
    phone: string,
    settings: Pick<MfaSettings, "recoveryCodes">,
    /** The sign-in's language: the owner's notice is written in it. */
    locale?: Locale,
  ): Promise<{ recoveryCodes?: string[] }> {
    const offerCodes = settings.recoveryCodes && (await this.store.unusedRecoveryCodes(user.id)) === 0;
    const recoveryCodes = offerCodes ? newRecoveryCodes() : undefined;
    await this.saveConfirmedFactor(
      user,
      { type: "mfa:sms", name: phone, secretSealed: null, lastUsedStep: null },
      recoveryCodes,
      {
        idempotencyKey: `mfa-sms-added:${user.id}:${this.clock.now()}`,
        smsTo: maskPhoneNumber(phone),
        locale,
      },
    );
    return { recoveryCodes };
  }

  /** Uses one recovery code; the account's owner hears of it by e-mail. */
  async useRecoveryCode(
    user: Pick<User, "id" | "email">,
    typed: string,
    /** The sign-in's language: the owner's notice is written in it. */
    locale?: Locale,
  ): Promise<CodeCheck> {
    const throttled = await this.throttle(user.id);
    if (throttled) return throttled;
    const used = await inTransaction(this.db, async (trx) => {
      const store = new MfaStore(trx, this.clock);
      if (!(await store.consumeRecoveryCode(user.id, typed.slice(0, 64)))) return false;
      if (user.email)
        await this.deps.mail.enqueue(trx, {
          to: user.email,
          idempotencyKey: `recovery-code:${recoveryCodeHash(user.id, typed.slice(0, 64))}`,
          template: {
            kind: "mfa_notice",
            change: "recovery_code_used",
            remaining: await store.unusedRecoveryCodes(user.id),
            locale,
          },
        });
      return true;
    });
    if (!used) return { ok: false, status: 400, message: "mfa_check.recovery_wrong" };
    await this.deps.rateLimiter.reset(attemptKey(user.id));
    return { ok: true };
  }

  /** New recovery codes for a user with a factor; the old ones stop working. */
  async regenerateRecoveryCodes(userId: string): Promise<string[]> {
    const codes = newRecoveryCodes();
    await this.store.replaceRecoveryCodes(
      userId,
      codes.map((code) => recoveryCodeHash(userId, code)),
    );
    return codes;
  }

  /** The person declined enrolling under "optional": not offered again for a while. */
  async dismissOffer(userId: string): Promise<void> {
    await this.db
      .updateTable("users")
      .set({ mfa_offer_dismissed_at: this.clock.now() })
      .where("id", "=", userId)
      .execute();
  }

  /** Counts a use of an e-mailed code as the account's e-mail factor. */
  recordEmailFactorUse(userId: string, email: string): Promise<void> {
    return this.store.recordUse(userId, "mfa:email" satisfies MfaFactorType, email);
  }

  /**
   * Removes one factor (or all, without `factorId`) and signs the user out everywhere: whoever
   * signed in with the factor, or could have, holds no session past the change. `source`: who
   * asked, for the user.updated a reset that removed something records with it.
   */
  async reset(
    userId: string,
    factorId?: string,
    source: EventSource = "admin",
    /** The page's language when the person removed it themselves; else the default (no user locale is kept). */
    locale?: Locale,
  ): Promise<MfaFactor[] | undefined> {
    return inTransaction(this.db, async (trx) => {
      const store = new MfaStore(trx, this.clock);
      const before = await store.factors(userId);
      if (factorId !== undefined) {
        if (!(await store.deleteFactor(userId, factorId))) return undefined;
        // Recovery codes back up the authenticator app: they go with it.
        const removed = before.find((f) => f.id === factorId);
        if (removed?.type === "mfa:authenticator_app") await store.replaceRecoveryCodes(userId, []);
      } else {
        await store.deleteAll(userId);
      }
      const users = new UsersStore(trx);
      await users.revokeEverything(userId, this.clock.now(), "mfa reset");
      const user = await users.findById(userId);
      if (user && before.length > 0)
        await recordEvent(trx, this.clock, {
          type: "user.updated",
          source,
          data: await userData(trx, user),
          userId,
        });
      if (user?.email && before.length > 0)
        await this.deps.mail.enqueue(trx, {
          to: user.email,
          idempotencyKey: `mfa-reset:${userId}:${this.clock.now()}:${factorId ?? "all"}`,
          template: { kind: "mfa_notice", change: "factors_reset", locale },
        });
      return before;
    });
  }

  /**
   * One transaction for a factor the user just proved: the factor, its recovery codes (when given),
   * user.updated for webhooks and the owner's notice by e-mail — all or nothing.
   */
  private async saveConfirmedFactor(
    user: Pick<User, "id" | "email">,
    factor: { type: MfaFactorType; name: string; secretSealed: string | null; lastUsedStep: number | null },
    recoveryCodes: readonly string[] | undefined,
    notice: { idempotencyKey: string; smsTo?: string; locale?: Locale },
  ): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      const store = new MfaStore(trx, this.clock);
      await store.saveFactor({ userId: user.id, ...factor });
      await this.recordFactorAdded(trx, user.id);
      if (recoveryCodes)
        await store.replaceRecoveryCodes(
          user.id,
          recoveryCodes.map((code) => recoveryCodeHash(user.id, code)),
        );
      if (user.email)
        await this.deps.mail.enqueue(trx, {
          to: user.email,
          idempotencyKey: notice.idempotencyKey,
          template: {
            kind: "mfa_notice",
            change: "factor_added",
            smsTo: notice.smsTo,
            locale: notice.locale,
          },
        });
    });
  }

  /** A factor was added by the user: user.updated for webhooks, in the change's transaction. */
  private async recordFactorAdded(trx: Db, userId: string): Promise<void> {
    const user = await new UsersStore(trx).findById(userId);
    if (user)
      await recordEvent(trx, this.clock, {
        type: "user.updated",
        source: "user",
        data: await userData(trx, user),
        userId,
      });
  }

  /** Counts an attempt before it is checked, so parallel guesses cannot slip past. */
  private async throttle(userId: string): Promise<CodeCheck | undefined> {
    const verdict = await this.deps.rateLimiter.consume(attemptKey(userId), MFA_ATTEMPT_LIMIT);
    if (verdict.allowed) return undefined;
    return { ok: false, status: 429, retryAfter: verdict.resetIn, message: "mfa_check.too_many_codes" };
  }
}

/** The ways a sign-in can prove a second factor, in the order the page offers them. */
function challengeMethods(input: {
  owned: readonly MfaFactor[];
  passkeys: number;
  implicitEmail: boolean;
  emailAllowed: boolean;
  recoveryCodes: boolean;
}): ChallengeMethod[] {
  const has = (type: MfaFactorType) => input.owned.some((f) => f.type === type);
  const methods: ChallengeMethod[] = [];
  // A passkey (src/passkeys/) first: it resists phishing and there is nothing to type.
  if (input.passkeys > 0) methods.push("passkey");
  if (has("mfa:authenticator_app")) methods.push("authenticator_app");
  if (has("mfa:sms")) methods.push("sms");
  if (input.implicitEmail || (input.emailAllowed && has("mfa:email"))) methods.push("email");
  if (input.recoveryCodes && methods.length > 0) methods.push("recovery_code");
  return methods;
}

function attemptKey(userId: string): string {
  return `mfa:user:${userId}`;
}

/** Ten codes of ten base32 characters (50 bits each), shown as XXXXX-XXXXX. */
function newRecoveryCodes(): string[] {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const bytes = randomBytes(10);
    const chars = [...bytes].map((b) => alphabet[b & 31]).join("");
    return `${chars.slice(0, 5)}-${chars.slice(5)}`;
  });
}
