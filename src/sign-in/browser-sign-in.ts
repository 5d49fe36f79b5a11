// The parts of signing a person in on this browser that every hosted form shares (the OAuth
// sign-in page and the connected-app link): CSRF, password checking with throttling, and the
// first-party session cookie.
import type { FastifyReply, FastifyRequest } from "fastify";
import { randomToken, safeEqual } from "../crypto/random.js";
import type { Services } from "../services.js";
import { canonicalEmail } from "../users/email.js";
import { assertPasswordHashingAvailable, type ReservedPasswordCheck } from "../users/passwords.js";
import type { User } from "../users/users.store.js";
import { cookieNames, cookieOptions } from "./cookies.js";
import type { Limit } from "./rate-limit.js";
import { type BrowserSession, SESSION_LIFETIME_SECONDS } from "./sessions.js";

/**
 * ASVS 6.3.1: throttle guessing; counters live in the database so they hold across instances.
 * Every attempt is counted before the password is checked (one atomic upsert each), so parallel
 * guesses cannot slip past. Per account *and address* a handful; per account from anywhere more,
 * so a stranger cannot lock a user out with ten wrong guesses; per address a ceiling on hashing.
 */
export const SIGN_IN_LIMITS = {
  perAccountAndIp: { max: 10, windowSeconds: 15 * 60 },
  perAccount: { max: 100, windowSeconds: 15 * 60 },
  perIp: { max: 300, windowSeconds: 15 * 60 },
} as const;

/**
 * Password spraying (a few common passwords tried against many accounts) stays under every counter
 * above, so an address also has a daily budget of *failed* sign-ins across all accounts
 * (SIGN_IN_DAILY_LIMIT_PER_ADDRESS, 0 = off). Like the others it is counted before the password is
 * checked (parallel guesses cannot slip past), and a sign-in that succeeds gives its unit back: an
 * office behind one NAT signing in all day uses none of it.
 */
export const DEFAULT_SIGN_IN_DAILY_LIMIT_PER_ADDRESS = 100;
const DAY_SECONDS = 24 * 60 * 60;

export interface BrowserSignInOptions {
  https: boolean;
  /** Failed sign-ins per address per day (0 = no daily limit). */
  signInDailyLimitPerAddress?: number;
}

export type Form = Record<string, string | string[] | undefined>;

export function field(form: Form | undefined, name: string): string {
  const value = form?.[name];
  return typeof value === "string" ? value : "";
}

export class BrowserSignIn {
  readonly names: ReturnType<typeof cookieNames>;
  private readonly https: boolean;
  private readonly dailyLimit: Limit | undefined;

  constructor(
    private readonly services: Services,
    options: BrowserSignInOptions,
  ) {
    this.https = options.https;
    this.names = cookieNames(options.https);
    const perDay = options.signInDailyLimitPerAddress ?? DEFAULT_SIGN_IN_DAILY_LIMIT_PER_ADDRESS;
    this.dailyLimit = perDay > 0 ? { max: perDay, windowSeconds: DAY_SECONDS } : undefined;
  }

  /** Double-submit CSRF token: a cookie the form must echo (a cross-site POST cannot read it). */
  csrfToken(request: FastifyRequest, reply: FastifyReply): string {
    const existing = request.cookies[this.names.csrf];
    if (existing && /^[\w-]{43}$/.test(existing)) return existing;
    const token = randomToken();
    reply.setCookie(this.names.csrf, token, cookieOptions(this.https));
    return token;
  }

  csrfValid(request: FastifyRequest, form: Form | undefined): boolean {
    const cookie = request.cookies[this.names.csrf];
    const submitted = field(form, "csrf");
    return Boolean(cookie) && submitted !== "" && safeEqual(cookie!, submitted);
  }

  /** The live session of this browser, if any. */
  session(request: FastifyRequest): Promise<BrowserSession | undefined> {
    return this.services.sessions.find(request.cookies[this.names.session]);
  }

  /**
   * Checks an email and password under the throttles. One message for unknown email, wrong
   * password and suspended account (ASVS 6.3.8). With `place`, the check was admitted already
   * (withPasswordCheckReserved).
   */
  async checkPassword(
    request: FastifyRequest,
    emailInput: string,
    password: string,
    place?: ReservedPasswordCheck,
  ): Promise<{ user: User } | { status: number; message: string; retryAfter?: number }> {
    const { services } = this;
    const email = canonicalEmail(emailInput).slice(0, 320);
    if (!email || !password) return { status: 400, message: "Enter your email and password." };
    // Saturated hashing answers 503 before the attempt is counted or anything is written.
    if (!place?.held) assertPasswordHashingAvailable();
    const accountIpKey = `sign-in:account-ip:${email}:${request.ip}`;
    const dailyKey = `sign-in:ip-day:${request.ip}`;
    const { dailyLimit } = this;
    const [daily, ...verdicts] = await Promise.all([
      dailyLimit ? services.rateLimiter.consume(dailyKey, dailyLimit) : undefined,
      services.rateLimiter.consume(accountIpKey, SIGN_IN_LIMITS.perAccountAndIp),
      services.rateLimiter.consume(`sign-in:account:${email}`, SIGN_IN_LIMITS.perAccount),
      services.rateLimiter.consume(`sign-in:ip:${request.ip}`, SIGN_IN_LIMITS.perIp),
    ]);
    const blocked = [...verdicts, ...(daily ? [daily] : [])].filter((v) => !v.allowed);
    if (blocked.length > 0) {
      // RFC 6585 §4: 429 with Retry-After (RFC 9110 §10.2.3), the longest of the waits.
      const wait = Math.max(...blocked.map((v) => v.resetIn));
      const message =
        daily && !daily.allowed
          ? `Too many failed sign-ins from your network today. Try again in ${duration(wait)}.`
          : `Too many sign-in attempts. Try again in ${duration(wait)}.`;
      return { status: 429, retryAfter: wait, message };
    }
    const user = await services.users.store.findByEmail(email);
    // Verifies argon2id and imported bcrypt hashes; a correct password upgrades an old hash.
    const valid = await services.users.verifyPassword(user, password.slice(0, 1024), place);
    if (user && !valid) await services.users.recordFailedSignIn(user.id);
    if (!user || !valid || user.is_suspended === 1) {
      request.log.info({ event: "sign_in_failed" }, "sign-in failed");
      return { status: 401, message: "Incorrect email or password." };
    }
    await Promise.all([
      services.rateLimiter.reset(accountIpKey),
      daily ? services.rateLimiter.refund(dailyKey) : undefined,
    ]);
    request.log.info({ event: "sign_in", userId: user.id }, "user signed in");
    return { user };
  }

  /** Signs `userId` in on this browser: a fresh session (never a fixated one) and its cookie. */
  async startSession(request: FastifyRequest, reply: FastifyReply, userId: string): Promise<BrowserSession> {
    const previous = await this.session(request);
    if (previous) await this.services.sessions.revoke(previous.id);
    const { token, session } = await this.services.sessions.create(userId, {
      ip: request.ip,
      userAgent: request.headers["user-agent"],
    });
    await this.services.users.recordSignIn(userId);
    reply.setCookie(this.names.session, token, cookieOptions(this.https, SESSION_LIFETIME_SECONDS));
    return session;
  }
}

/** "12 minutes", "3 hours": a wait as a person reads it. */
function duration(seconds: number): string {
  const [amount, unit] =
    seconds > 90 * 60 ? [Math.ceil(seconds / 3600), "hour"] : [Math.ceil(seconds / 60), "minute"];
  return `${amount} ${unit}${amount === 1 ? "" : "s"}`;
}
