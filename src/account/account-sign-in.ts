// Who may use the account pages, and how they sign in to them.
//
// Access is this browser's Latchkey session (the sign-in pages' cookie) once that session has
// signed in to the account pages' own application (account-app.ts) through the authorization
// endpoint — so everything that endpoint asks of a sign-in applies here too: the policy's steps
// (the second factor included), a connection's session admitted only where that connection is
// enabled, a suspended account refused. The callback proves it: it consumes the code itself (the
// checks the token endpoint would make, RFC rule beside each; no tokens are minted), admits it only
// when it was issued to this browser's current session, and then marks the browser with that
// session's id, sealed with the master key. The mark means nothing for any other session: signing
// in again (anywhere, as anyone), signing out or any revocation starts over.
//
// On every visit the session's sign-in must still meet today's MFA policy (its amr), so a factor
// added since, or a policy turned on since, sends the person to sign in again. Viewing needs only
// that; a change needs a sign-in within the last RECENT_SIGN_IN_SECONDS as well (NIST SP 800-63B
// §4.2.3, ASVS 3.7.1: re-authentication before sensitive changes), asked with prompt=login (OIDC
// Core §3.1.2.1). Requests carry PKCE (RFC 7636) and state, kept in a short-lived cookie.
import type { FastifyReply, FastifyRequest } from "fastify";
import { randomToken, safeEqual, sha256 } from "../crypto/random.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { sessionSatisfies } from "../mfa/mfa.service.js";
import { OAuthError } from "../oauth/errors.js";
import { verifyChallenge } from "../oauth/pkce.js";
import type { Services } from "../services.js";
import type { BrowserSignIn } from "../sign-in/browser-sign-in.js";
import { cookieOptions } from "../sign-in/cookies.js";
import { type BrowserSession, SESSION_LIFETIME_SECONDS } from "../sign-in/sessions.js";
import type { User } from "../users/users.store.js";
import { accountCallbackUrl, accountClientId, ensureAccountApplication } from "./account-app.js";

/** How recent a sign-in must be for a change on the account pages. */
export const RECENT_SIGN_IN_SECONDS = 15 * 60;
/** How long a sign-in started from the account pages may take (the sign-in pages' own limit). */
const SIGN_IN_COOKIE_SECONDS = 30 * 60;
/** Where the account pages may send the browser after a sign-in: their own pages only. */
const RETURN_PATH = /^\/account(?:\/[a-z0-9-]{1,40}){0,3}$/;
/** Binds the sealed mark to its use (no other sealed value opens as one). */
const MARK_AAD = "latchkey-account-pages-session";

export type AccountAccess =
  | { kind: "signed_in"; session: BrowserSession; user: User; fresh: boolean }
  /**
   * Sign in: `again` when the session's sign-in falls short of today's policy (a new proof is
   * needed, not the session as it is); otherwise a session may answer the request silently.
   */
  | { kind: "sign_in"; again: boolean; loginHint?: string };

export type CallbackOutcome = { ok: true; returnTo: string } | { ok: false; message: string };

/** What the browser keeps between the redirect to the authorization endpoint and the callback. */
interface PendingSignIn {
  state: string;
  verifier: string;
  returnTo: string;
}

export function accountReturnPath(value: unknown): string {
  return typeof value === "string" && RETURN_PATH.test(value) ? value : "/account";
}

export class AccountSignIn {
  /** The sign-in under way (state, PKCE verifier, where to go back). */
  private readonly pendingCookie: string;
  /** The mark: which session signed in to the account pages. */
  private readonly markCookie: string;

  constructor(
    private readonly services: Services,
    private readonly signIn: BrowserSignIn,
    private readonly secretBox: SecretBox,
    private readonly https: boolean,
  ) {
    // __Host- on https: no other host of the site can plant one (RFC 6265bis §4.1.3.2).
    this.pendingCookie = https ? "__Host-latchkey_account" : "latchkey_account";
    this.markCookie = https ? "__Host-latchkey_account_session" : "latchkey_account_session";
  }

  async access(request: FastifyRequest): Promise<AccountAccess> {
    const session = await this.signIn.session(request);
    if (!session) return { kind: "sign_in", again: false };
    const user = await this.services.users.store.findById(session.userId);
    if (!user) return { kind: "sign_in", again: false };
    const loginHint = user.email ?? undefined;
    if (this.markedSession(request) !== session.id) return { kind: "sign_in", again: false, loginHint };
    if (!sessionSatisfies(await this.services.mfa.requirement(user, session.amr)))
      return { kind: "sign_in", again: true, loginHint };
    const fresh = this.services.clock.now() - session.authTime <= RECENT_SIGN_IN_SECONDS;
    return { kind: "signed_in", session, user, fresh };
  }

  /**
   * Sends the browser to the authorization endpoint; back at `returnTo` once signed in. Undefined
   * when ISSUER_URL cannot carry the callback (http off loopback).
   */
  async start(
    reply: FastifyReply,
    options: { returnTo: string; again: boolean; loginHint?: string; status: 302 | 303 },
  ): Promise<FastifyReply | undefined> {
    const clientId = await ensureAccountApplication(this.services);
    if (!clientId) return undefined;
    const pending: PendingSignIn = {
      state: randomToken(),
      verifier: randomToken(),
      returnTo: accountReturnPath(options.returnTo),
    };
    reply.setCookie(
      this.pendingCookie,
      Buffer.from(JSON.stringify(pending)).toString("base64url"),
      cookieOptions(this.https, SIGN_IN_COOKIE_SECONDS),
    );
    const query = new URLSearchParams({
      response_type: "code",
      client_id: clientId,
      redirect_uri: accountCallbackUrl(this.services.oauth.issuer),
      scope: "openid",
      state: pending.state,
      // The verifier is 43 base64url characters: ASCII, so its SHA-256 is S256's (RFC 7636 §4.2).
      code_challenge: sha256(pending.verifier),
      code_challenge_method: "S256",
      // A new proof, not the session as it is, when the session is too old for a change or short
      // of what the policy asks (OIDC Core §3.1.2.1).
      ...(options.again ? { prompt: "login" } : {}),
      ...(options.loginHint ? { login_hint: options.loginHint } : {}),
    });
    return reply.code(options.status).header("location", `/oauth2/auth?${query}`).send();
  }

  /** Checks the authorization response at /account/callback (and forgets the pending sign-in). */
  async callback(
    request: FastifyRequest,
    reply: FastifyReply,
    query: Record<string, string | undefined>,
  ): Promise<CallbackOutcome> {
    const pending = this.pending(request);
    reply.clearCookie(this.pendingCookie, cookieOptions(this.https));
    // RFC 6749 §10.12, RFC 9700 §4.7: the response answers the request this browser made.
    if (!pending || !query.state || !safeEqual(query.state, pending.state))
      return refused("This sign-in was not started in this browser, or took too long. Try again.");
    // RFC 9207 §2.4: a response naming another issuer is not ours (mix-up).
    if (query.iss !== undefined && query.iss !== this.services.oauth.issuer)
      return refused("This sign-in came back from another server.");
    // RFC 6749 §4.1.2.1: the sign-in ended without a code (refused, or the person gave up).
    if (query.error !== undefined)
      return refused(query.error_description?.slice(0, 300) || "The sign-in did not finish.");
    if (!query.code) return refused("The sign-in did not finish.");
    const outcome = await this.consume(request, query.code, pending.verifier);
    if (!outcome.ok) return outcome;
    reply.setCookie(
      this.markCookie,
      this.secretBox.seal(outcome.sessionId, MARK_AAD),
      cookieOptions(this.https, SESSION_LIFETIME_SECONDS),
    );
    return { ok: true, returnTo: pending.returnTo };
  }

  /** The token endpoint's checks of a code (authorization_code.ts), without minting tokens. */
  private async consume(
    request: FastifyRequest,
    code: string,
    verifier: string,
  ): Promise<{ ok: true; sessionId: string } | { ok: false; message: string }> {
    const { services } = this;
    const now = services.clock.now();
    // RFC 6749 §4.1.2: single use, by one conditional write (a replay finds it consumed).
    const consumed = await services.oauth.store.consumeCode(sha256(code.slice(0, 200)), now);
    if (!consumed?.firstUse) return refused("This sign-in was used already. Try again.");
    const record = consumed.code;
    // §4.1.3: issued to this client, for this redirect URI; and not expired.
    if (record.clientId !== (await accountClientId(services))) return refused("This sign-in is not ours.");
    if (record.redirectUri !== accountCallbackUrl(services.oauth.issuer))
      return refused("This sign-in is not ours.");
    if (record.expiresAt <= now) return refused("This sign-in took too long. Try again.");
    // RFC 7636 §4.6: the verifier this browser kept matches the challenge sent with the request.
    try {
      if (!record.codeChallenge) return refused("This sign-in is not ours.");
      verifyChallenge(record.codeChallenge, verifier);
    } catch (error) {
      if (error instanceof OAuthError) return refused("This sign-in was not started in this browser.");
      throw error;
    }
    // The code stands for a sign-in only with the session it made: this browser's current one.
    const session = await this.signIn.session(request);
    if (!session || session.id !== record.sessionId || session.userId !== record.userId)
      return refused("This sign-in belongs to another browser session. Try again.");
    // The sign-in ran the policy's steps, so its session meets the policy: were it not to, the
    // page says so rather than send the browser round the sign-in again.
    const user = await services.users.store.findById(session.userId);
    if (!user || !sessionSatisfies(await services.mfa.requirement(user, session.amr)))
      return refused("Your sign-in did not complete the steps your account needs.");
    return { ok: true, sessionId: session.id };
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

  private pending(request: FastifyRequest): PendingSignIn | undefined {
    const value = request.cookies[this.pendingCookie];
    if (!value || value.length > 1000) return undefined;
    try {
      const parsed: unknown = JSON.parse(Buffer.from(value, "base64url").toString("utf8"));
      if (typeof parsed !== "object" || parsed === null) return undefined;
      const { state, verifier, returnTo } = parsed as Record<string, unknown>;
      if (typeof state !== "string" || typeof verifier !== "string") return undefined;
      return { state, verifier, returnTo: accountReturnPath(returnTo) };
    } catch {
      return undefined;
    }
  }
}

function refused(message: string): { ok: false; message: string } {
  return { ok: false, message };
}
