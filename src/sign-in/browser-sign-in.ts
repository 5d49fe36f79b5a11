// The parts of signing a person in on this browser that every hosted form shares (the OAuth
// sign-in page and the connected-app link): CSRF, password checking with throttling, and the
// first-party session cookie.

import type { FastifyReply, FastifyRequest } from "fastify";
import { signInMethod } from "../audit/authentication-log.js";
import { randomToken, safeEqual, sha256 } from "../crypto/random.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { t, wait as waitFor } from "../i18n/catalogue.js";
import { DEFAULT_LOCALE, type Locale } from "../i18n/locale.js";
import type { Services } from "../services.js";
import { inTransaction } from "../storage/database.js";
import { canonicalEmail } from "../users/email.js";
import { assertPasswordHashingAvailable, type ReservedPasswordCheck } from "../users/passwords.js";
import type { User } from "../users/users.store.js";
import { cookieNames, cookieOptions } from "./cookies.js";
import { type CounterSettlement, clientNetwork, type Limit } from "./rate-limit.js";
import { organizationToEnter, sessionRules } from "./session-lifetime.js";
import { type BrowserSession, SESSION_LIFETIME_SECONDS, type SessionMeta } from "./sessions.js";
import { findAccountForSignIn, type SignInAccount } from "./sign-in-account.js";

/**
 * ASVS 6.3.1: throttle guessing; counters live in the database so they hold across instances.
 * Every attempt is counted before the password is checked (one atomic upsert each), so parallel
 * guesses cannot slip past. Per account *and address* a handful; per account from anywhere more,
 * so a stranger cannot lock a user out with ten wrong guesses; per address a ceiling on hashing.
 * "Address" is the client's network (clientNetwork: an IPv6 client's whole /64).
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
 *
 * Failures count whoever made them, so one guesser behind a NAT (or every client, when the server
 * cannot see addresses behind an untrusted proxy) would lock the whole address out for the day,
 * right password or not. So the daily budget does not apply to a browser that holds a *device
 * cookie* for the account it signs in to (OWASP, "Slow down online guessing attacks with device
 * cookies"): set at every successful sign-in, naming the accounts signed in to on this browser (at
 * most DEVICE_COOKIE_ACCOUNTS) and when, sealed with the master key (AES-256-GCM: only the server
 * makes or reads one) and honoured for DEVICE_COOKIE_LIFETIME_SECONDS after that sign-in. A sprayer
 * holds no such cookie for its victims, so spraying stays limited; the 15-minute limits still
 * apply to the cookie's holder (ten guesses per account and address), so a stolen cookie buys
 * little. A cookie rather than a remembered (account, address) pair: at a shared address the
 * guesser and the account's owner look the same, and remembering the pair would exempt the
 * guesser too. The 15-minute per-address ceiling stays for everyone: it bounds the hashing one
 * address can cause, and an attacker could otherwise mint cookies for accounts of its own.
 */
export const DEFAULT_SIGN_IN_DAILY_LIMIT_PER_ADDRESS = 100;
const DAY_SECONDS = 24 * 60 * 60;
export const DEVICE_COOKIE_LIFETIME_SECONDS = 30 * DAY_SECONDS;
const DEVICE_COOKIE_ACCOUNTS = 5;
/** Binds the sealed value to its use (no other sealed value opens as a device cookie). */
const DEVICE_COOKIE_AAD = "latchkey-device-cookie";

export interface BrowserSignInOptions {
  https: boolean;
  /** Seals and opens device cookies (the master key's box). */
  secretBox: SecretBox;
  /** Failed sign-ins per address per day (0 = no daily limit). */
  signInDailyLimitPerAddress?: number;
}

/** [user id, time of the last successful sign-in on this browser], newest first. */
type DeviceAccounts = [string, number][];

export type Form = Record<string, string | string[] | undefined>;

/** What a sign-in proved (RFC 8176 `amr`), for which application, into which organization. */
export interface SessionProof {
  amr: readonly string[];
  clientId?: string;
  externalIdentityId?: string;
  /** The organization the sign-in enters; null: none; absent: the usual one (chooseOrganization's). */
  orgCode?: string | null;
}

/**
 * A correct password's throttle bookkeeping (the account-and-address counter reset, the daily
 * budget's unit given back), left to the caller so that it commits with the sign-in's other writes
 * when they commit together (sign-in-finish.ts); `within`: the services of that transaction, or
 * the usual ones.
 */
export interface SettleCounters {
  (within: Services): Promise<void>;
  /** The counters it settles, for a caller that writes them in one statement (sign-in-writes.ts). */
  readonly counters: CounterSettlement;
}

/** planSession's answer. */
export interface SessionPlan {
  /** The session this browser held, revoked when the new one is written (no fixation). */
  previousId?: string;
  /** The organization the sign-in is expected to enter (null: none). */
  orgCode: string | null;
  /** Whether the session cookie carries Max-Age. */
  persistent: boolean;
}

export function field(form: Form | undefined, name: string): string {
  const value = form?.[name];
  return typeof value === "string" ? value : "";
}

export class BrowserSignIn {
  readonly names: ReturnType<typeof cookieNames>;
  private readonly https: boolean;
  private readonly secretBox: SecretBox;
  private readonly dailyLimit: Limit | undefined;

  constructor(
    private readonly services: Services,
    options: BrowserSignInOptions,
  ) {
    this.https = options.https;
    this.secretBox = options.secretBox;
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

  /**
   * What binds a sign-in under way to this browser (SignInProgress.browser): the hash of its CSRF
   * cookie, which only this browser holds; another browser with the request id cannot continue it.
   */
  browserBinding(request: FastifyRequest): string {
    return this.browserBindingOf(request.cookies[this.names.csrf] ?? "");
  }

  /** The binding of the browser holding this CSRF cookie (csrfToken's answer, set or found). */
  browserBindingOf(csrfCookie: string): string {
    return sha256(`sign-in-progress:${csrfCookie}`);
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
    locale: Locale = DEFAULT_LOCALE,
  ): Promise<
    | { user: User; settle: SettleCounters; account: SignInAccount }
    | { status: number; message: string; retryAfter?: number }
  > {
    const { services } = this;
    // Cut before canonicalising: NFC and IDNA over unbounded text cost CPU before any limit (a run
    // of combining marks is quadratic to reorder: seconds for a megabyte).
    const email = canonicalEmail(emailInput.slice(0, 320)).slice(0, 320);
    if (!email || !password) return { status: 400, message: t(locale, "sign_in.enter_email_and_password") };
    // Saturated hashing answers 503 before the attempt is counted or anything is written.
    if (!place?.held) assertPasswordHashingAvailable();
    const network = clientNetwork(request.ip);
    const accountIpKey = `sign-in:account-ip:${email}:${network}`;
    const dailyKey = `sign-in:ip-day:${network}`;
    // A device cookie naming this account lifts the daily budget (see DEVICE_COOKIE_…); only a
    // browser that presents one pays for reading the account before the counters.
    const deviceAccounts = this.deviceAccounts(request);
    // The account comes with its memberships and their MFA settings (sign-in-account.ts): the
    // steps after a correct password need no read of their own.
    const early = deviceAccounts.length > 0 ? await findAccountForSignIn(services.db, email) : undefined;
    const knownDevice = early !== undefined && deviceAccounts.some(([id]) => id === early.user.id);
    const dailyLimit = knownDevice ? undefined : this.dailyLimit;
    const limiter = services.rateLimiter;
    const counted = await limiter.consumeAll([
      { key: accountIpKey, limit: SIGN_IN_LIMITS.perAccountAndIp },
      { key: `sign-in:account:${email}`, limit: SIGN_IN_LIMITS.perAccount },
      { key: `sign-in:ip:${network}`, limit: SIGN_IN_LIMITS.perIp },
      ...(dailyLimit ? [{ key: dailyKey, limit: dailyLimit }] : []),
    ]);
    const daily = dailyLimit ? counted[3] : undefined;
    const blocked = counted.filter((v) => !v.allowed);
    if (blocked.length > 0) {
      // RFC 6585 §4: 429 with Retry-After (RFC 9110 §10.2.3), the longest of the waits.
      const wait = Math.max(...blocked.map((v) => v.resetIn));
      const message =
        daily && !daily.allowed
          ? t(locale, "sign_in.too_many_network_today", { wait: waitFor(locale, wait) })
          : t(locale, "sign_in.too_many_attempts", { wait: waitFor(locale, wait) });
      return { status: 429, retryAfter: wait, message };
    }
    const account = deviceAccounts.length > 0 ? early : await findAccountForSignIn(services.db, email);
    const user = account?.user;
    // Verifies argon2id and imported bcrypt hashes; a correct password upgrades an old hash.
    const valid = await services.users.verifyPassword(user, password.slice(0, 1024), place);
    if (user && !valid) await services.users.recordFailedSignIn(user.id);
    if (!account || !user || !valid || user.is_suspended === 1) {
      request.log.info({ event: "sign_in_failed" }, "sign-in failed");
      services.authenticationLog.record(request, {
        type: "sign_in_failed",
        userId: user?.id,
        method: "password",
      });
      services.metrics.signIn("failure");
      return { status: 401, message: t(locale, "sign_in.incorrect") };
    }
    request.log.info({ event: "sign_in", userId: user.id }, "user signed in");
    services.metrics.signIn("success");
    const counters = { reset: accountIpKey, refund: daily ? dailyKey : undefined };
    const settle: SettleCounters = Object.assign(
      (within: Services) => within.rateLimiter.resetAndRefund(counters.reset, counters.refund),
      { counters },
    );
    return { user, settle, account };
  }

  /**
   * Signs `userId` in on this browser: a fresh session (never a fixated one) and its cookie, and
   * the device cookie renewed with this account first. `proof` is what the sign-in proved (RFC 8176
   * `amr`) and for which application, for the authentication log.
   */
  async startSession(request: FastifyRequest, reply: FastifyReply, userId: string, proof: SessionProof) {
    const plan = await this.planSession(request, userId, proof.orgCode);
    const { token, session } = await inTransaction(this.services.db, (trx) =>
      this.writeSession(this.services.withDb(trx), request, userId, proof, plan),
    );
    this.announceSession(request, reply, userId, proof, plan, token);
    return session;
  }

  /**
   * What a new session needs read before it is written (startSession, or a caller that writes it in
   * a transaction of its own): the session it replaces, the organization it will enter and whether
   * its cookie outlives the browser — an organization's non_persistent SSO session policy
   * (session-lifetime.ts); without org_code, the organization that will be entered (review M3).
   */
  async planSession(
    request: FastifyRequest,
    userId: string,
    orgCode: string | null | undefined,
  ): Promise<SessionPlan> {
    const previous = await this.session(request);
    const entered =
      orgCode === undefined ? await organizationToEnter(this.services.db, userId) : (orgCode ?? undefined);
    const { persistent } = await sessionRules(this.services.db, { orgCode: entered });
    return { previousId: previous?.id, orgCode: entered ?? null, persistent };
  }

  /**
   * The session's writes in the caller's transaction (`within`: the services over it): the
   * replaced session revoked, the new one stored, the account's sign-in counters and event.
   */
  async writeSession(
    within: Services,
    request: FastifyRequest,
    userId: string,
    proof: SessionProof,
    plan: SessionPlan,
  ): Promise<{ token: string; session: BrowserSession }> {
    if (plan.previousId) await within.sessions.revoke(plan.previousId);
    const created = await within.sessions.create(userId, this.sessionMeta(request, proof));
    await within.users.recordSignIn(userId);
    return created;
  }

  /** What a new session records of the request and the proof (BrowserSessions.create's meta). */
  sessionMeta(request: FastifyRequest, proof: SessionProof): SessionMeta {
    return {
      ip: request.ip,
      userAgent: request.headers["user-agent"],
      externalIdentityId: proof.externalIdentityId,
      amr: proof.amr,
    };
  }

  /**
   * planSession for a sign-in whose organization was chosen on the account's read and whose writes
   * replace this browser's session by its cookie (sign-in-writes.ts): only the organization's
   * session rules are read, from the configuration cache.
   */
  async planKnown(orgCode: string | null): Promise<SessionPlan> {
    const { persistent } = await sessionRules(this.services.db, { orgCode: orgCode ?? undefined });
    return { orgCode, persistent };
  }

  /** This browser's session cookie, when it could name a session (BrowserSessions.find's bound). */
  sessionCookie(request: FastifyRequest): string | undefined {
    const token = request.cookies[this.names.session];
    return token && token.length <= 100 ? token : undefined;
  }

  /** Once the session is committed: the authentication log, the session and device cookies. */
  announceSession(
    request: FastifyRequest,
    reply: FastifyReply,
    userId: string,
    proof: SessionProof,
    plan: SessionPlan,
    token: string,
  ): void {
    this.services.authenticationLog.record(request, {
      type: "sign_in",
      userId,
      clientId: proof.clientId,
      method: signInMethod(proof.amr),
    });
    reply.setCookie(
      this.names.session,
      token,
      cookieOptions(this.https, plan.persistent ? SESSION_LIFETIME_SECONDS : undefined),
    );
    const now: [string, number] = [userId, this.services.clock.now()];
    const others = this.deviceAccounts(request).filter(([id]) => id !== userId);
    const accounts: DeviceAccounts = [now, ...others].slice(0, DEVICE_COOKIE_ACCOUNTS);
    reply.setCookie(
      this.names.device,
      this.secretBox.seal(JSON.stringify(accounts), DEVICE_COOKIE_AAD),
      cookieOptions(this.https, DEVICE_COOKIE_LIFETIME_SECONDS),
    );
  }

  /**
   * The accounts this browser's device cookie vouches for (signed in to here within the last
   * DEVICE_COOKIE_LIFETIME_SECONDS); none when it has no cookie, or one that does not open under
   * this server's keys (forged, altered, or sealed under a master key since retired).
   */
  private deviceAccounts(request: FastifyRequest): DeviceAccounts {
    const sealed = request.cookies[this.names.device];
    if (!sealed || sealed.length > 2048) return [];
    let accounts: unknown;
    try {
      accounts = JSON.parse(this.secretBox.open(sealed, DEVICE_COOKIE_AAD));
    } catch {
      return [];
    }
    if (!Array.isArray(accounts)) return [];
    const since = this.services.clock.now() - DEVICE_COOKIE_LIFETIME_SECONDS;
    return accounts.filter(
      (entry): entry is [string, number] =>
        Array.isArray(entry) &&
        typeof entry[0] === "string" &&
        typeof entry[1] === "number" &&
        entry[1] > since,
    );
  }
}
