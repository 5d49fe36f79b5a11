// Who may use the account pages, and how they sign in to them.
//
// Access is this browser's Latchkey session (the sign-in pages' cookie) once that session has
// signed in to the account pages' own application (account-app.ts) through the authorization
// endpoint (first-party-sign-in.ts) — so everything that endpoint asks of a sign-in applies here
// too: the policy's steps (the second factor included), a connection's session admitted only where
// that connection is enabled, a suspended account refused. Once the callback has admitted the code
// for this browser's current session, it marks the browser with that session's id, sealed with the
// master key. The mark means nothing for any other session: signing in again (anywhere, as anyone),
// signing out or any revocation starts over.
//
// On every visit the session's sign-in must still meet today's MFA policy (its amr), so a factor
// added since, or a policy turned on since, sends the person to sign in again. Viewing needs only
// that; a change needs a sign-in within the last RECENT_SIGN_IN_SECONDS as well (NIST SP 800-63B
// §4.2.3, ASVS 3.7.1: re-authentication before sensitive changes), asked with prompt=login (OIDC
// Core §3.1.2.1).
import type { FastifyReply, FastifyRequest } from "fastify";
import type { SecretBox } from "../crypto/secret-box.js";
import { t } from "../i18n/catalogue.js";
import type { Locale } from "../i18n/locale.js";
import { sessionSatisfies } from "../mfa/mfa.service.js";
import type { Services } from "../services.js";
import type { BrowserSignIn } from "../sign-in/browser-sign-in.js";
import { cookieOptions } from "../sign-in/cookies.js";
import { FirstPartySignIn } from "../sign-in/first-party-sign-in.js";
import { type BrowserSession, SESSION_LIFETIME_SECONDS } from "../sign-in/sessions.js";
import type { User } from "../users/users.store.js";
import { ACCOUNT_APPLICATION } from "./account-app.js";

/** How recent a sign-in must be for a change on the account pages. */
export const RECENT_SIGN_IN_SECONDS = 15 * 60;
/** Where the account pages may send the browser after a sign-in: their own pages only. */
const RETURN_PATH = /^\/account(?:\/[A-Za-z0-9_-]{1,40}){0,3}$/;
/** Binds the sealed mark to its use (no other sealed value opens as one). */
const MARK_AAD = "latchkey-account-pages-session";

export type AccountAccess =
  /** `ownsFactor`: a new sign-in for a change must prove a second factor (requireMfa). */
  | { kind: "signed_in"; session: BrowserSession; user: User; fresh: boolean; ownsFactor: boolean }
  /**
   * Sign in: `again` when the session's sign-in falls short of today's policy (a new proof is
   * needed, not the session as it is); otherwise a session may answer the request silently.
   */
  | { kind: "sign_in"; again: boolean; loginHint?: string; requireMfa?: boolean };

/** A refusal's `message` is in `locale`, the language of the page that started the sign-in. */
export type CallbackOutcome = { ok: true; returnTo: string } | { ok: false; message: string; locale: Locale };

export function accountReturnPath(value: unknown): string {
  return typeof value === "string" && RETURN_PATH.test(value) ? value : "/account";
}

export class AccountSignIn {
  private readonly firstParty: FirstPartySignIn;
  /** The mark: which session signed in to the account pages. */
  private readonly markCookie: string;

  constructor(
    private readonly services: Services,
    signIn: BrowserSignIn,
    private readonly secretBox: SecretBox,
    private readonly https: boolean,
  ) {
    this.firstParty = new FirstPartySignIn(services, signIn, https, {
      application: ACCOUNT_APPLICATION,
      cookieName: "latchkey_account",
      returnPath: accountReturnPath,
      // The sign-in ran the policy's steps, so its session meets the policy: were it not to, the
      // page says so rather than send the browser round the sign-in again.
      admit: async (session, locale) => {
        const user = await services.users.store.findById(session.userId);
        if (!user || !sessionSatisfies(await services.mfa.requirement(user, session.amr)))
          return t(locale, "account.incomplete_steps");
        return undefined;
      },
    });
    // __Host- on https: no other host of the site can plant one (RFC 6265bis §4.1.3.2).
    this.markCookie = https ? "__Host-latchkey_account_session" : "latchkey_account_session";
  }

  async access(request: FastifyRequest): Promise<AccountAccess> {
    const signedIn = await this.firstParty.signedIn(request);
    if (!signedIn) return { kind: "sign_in", again: false };
    const { session, user } = signedIn;
    const loginHint = user.email ?? undefined;
    // An account that owns a factor signs in to these pages with it (acr_values), policy or not.
    const requireMfa = await this.services.mfa.ownsFactor(user.id);
    if (this.markedSession(request) !== session.id)
      return { kind: "sign_in", again: false, loginHint, requireMfa };
    if (!(await this.services.mfa.sessionMayChangeFactors(user, session.amr)))
      return { kind: "sign_in", again: true, loginHint, requireMfa };
    const fresh = this.services.clock.now() - session.authTime <= RECENT_SIGN_IN_SECONDS;
    return { kind: "signed_in", session, user, fresh, ownsFactor: requireMfa };
  }

  /**
   * Sends the browser to the authorization endpoint; back at `returnTo` once signed in. `again`
   * when the session is too old for a change or short of what the policy asks. Undefined when
   * ISSUER_URL cannot carry the callback (http off loopback).
   */
  start(
    reply: FastifyReply,
    options: {
      returnTo: string;
      again: boolean;
      loginHint?: string;
      requireMfa?: boolean;
      status: 302 | 303;
    },
  ): Promise<FastifyReply | undefined> {
    return this.firstParty.start(reply, options);
  }

  /** Checks the authorization response at /account/callback, then marks the browser. */
  async callback(
    request: FastifyRequest,
    reply: FastifyReply,
    query: Record<string, string | undefined>,
  ): Promise<CallbackOutcome> {
    const outcome = await this.firstParty.callback(request, reply, query);
    if (!outcome.ok) return outcome;
    reply.setCookie(
      this.markCookie,
      this.secretBox.seal(outcome.session.id, MARK_AAD),
      cookieOptions(this.https, SESSION_LIFETIME_SECONDS),
    );
    return { ok: true, returnTo: outcome.returnTo };
  }

  /** The session id the browser's mark names, if it holds one this server sealed. */
  private markedSession(request: FastifyRequest): string | undefined {
    const sealed = request.cookies[this.markCookie];
    if (!sealed || sealed.length > 500) return undefined;
    try {
      return this.secretBox.open(sealed, MARK_AAD);
    } catch {
      return undefined;
    }
  }
}
