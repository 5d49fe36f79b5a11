// "Try sign-in" (issue 20): an administrator runs a real authorization-code flow against one of
// their applications from its dashboard page and sees the ID and access tokens' claims, without
// running the app.
//
//   POST /api/v1/applications/{id}/try_sign_in  (try-sign-in.routes.ts) mints the ticket: a sealed
//        `state` naming the application, PKCE verifier, nonce and a hash of a cookie it sets in the
//        administrator's browser; answers the authorization URL.
//   GET  /oauth2/auth …&redirect_uri=<issuer>/admin/try-callback&state=<ticket>  the hosted pages,
//        every check of a real sign-in (prompt=login, so the admin signs in as a test user).
//   GET  /admin/try-callback  (dashboard/try-callback.routes.ts) the ticket used up, Latchkey
//        exchanges the code itself and shows the claims; nothing is kept.
//
// Why this does not widen what a client_id gives an attacker: the try callback is registered for
// no application (the Management API keeps Latchkey's URL space to the dashboard, urls.ts). The
// authorization endpoint admits it only with a ticket sealed under the master key for this very
// client, unexpired (RFC 9700 §4.1: exact redirect URIs; this is one more exact URI, per request),
// and the token endpoint never admits it at all: only Latchkey's own callback can redeem such a
// code, and only in the browser holding the ticket's cookie (RFC 9700 §4.7.1), once. For a
// back-end app Latchkey does the exchange as the authorization server it is, so the client secret
// never leaves the sealed store; for a front-end app the exchange is the same PKCE one its SDK does.
import { randomUUID } from "node:crypto";
import type { Clock } from "../clock.js";
import { randomToken, safeEqual, sha256 } from "../crypto/random.js";
import type { SecretBox } from "../crypto/secret-box.js";
import type { Params } from "../oauth/params.js";
import { codeChallengeS256, newCodeVerifier } from "../outbound/oauth-client.js";

export const TRY_CALLBACK_PATH = "/admin/try-callback";
/** Long enough to sign in as a test user; short enough that a forgotten tab is worthless. */
export const TRY_TICKET_LIFETIME_SECONDS = 600;
/** Binds the ticket to the browser that asked for it (RFC 9700 §4.7.1, like a login-state cookie). */
export function tryCookieName(https: boolean): string {
  return https ? "__Host-latchkey_try" : "latchkey_try";
}
const AAD = "latchkey try sign-in ticket";

export interface TryTicket {
  /** Names the ticket's single use (try-callback.routes.ts). */
  id: string;
  clientId: string;
  /** The administrator who asked for it. */
  userId: string;
  verifier: string;
  nonce: string;
  /** SHA-256 of the cookie value set in the administrator's browser. */
  browser: string;
  expiresAt: number;
}

/** What the authorization endpoint asks (oauth/context.ts): is this try callback admitted here? */
export interface TrySignInPort {
  admits(clientId: string, redirectUri: string, params: Params): boolean;
}

export class TrySignInTickets implements TrySignInPort {
  constructor(
    private readonly issuer: string,
    private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {}

  get callbackUrl(): string {
    return `${this.issuer}${TRY_CALLBACK_PATH}`;
  }

  /** A new ticket for `clientId`: the state to send, and the cookie value for the admin's browser. */
  mint(clientId: string, userId: string): { state: string; browserSecret: string; ticket: TryTicket } {
    const browserSecret = randomToken();
    const ticket: TryTicket = {
      id: randomUUID(),
      clientId,
      userId,
      verifier: newCodeVerifier(),
      nonce: randomToken(),
      browser: sha256(browserSecret),
      expiresAt: this.clock.now() + TRY_TICKET_LIFETIME_SECONDS,
    };
    return { state: this.box.seal(JSON.stringify(ticket), AAD), browserSecret, ticket };
  }

  /** The authorization request that starts a try: Latchkey's callback, PKCE S256, a nonce. */
  authorizationUrl(state: string, ticket: TryTicket): string {
    const query = new URLSearchParams({
      client_id: ticket.clientId,
      redirect_uri: this.callbackUrl,
      response_type: "code",
      scope: "openid profile email",
      state,
      nonce: ticket.nonce,
      code_challenge: codeChallengeS256(ticket.verifier),
      code_challenge_method: "S256",
      // The admin is signed in to Latchkey already: ask who to sign in as (OIDC Core §3.1.2.1).
      prompt: "login",
    });
    return `${this.issuer}/oauth2/auth?${query}`;
  }

  /** The ticket a state carries, or undefined when it is not one of ours or has expired. */
  open(state: string | undefined): TryTicket | undefined {
    if (!state || state.length > 4096) return undefined;
    let ticket: TryTicket;
    try {
      ticket = JSON.parse(this.box.open(state, AAD)) as TryTicket;
    } catch {
      return undefined;
    }
    if (typeof ticket?.clientId !== "string" || typeof ticket.expiresAt !== "number") return undefined;
    return ticket.expiresAt > this.clock.now() ? ticket : undefined;
  }

  /** Whether the browser presenting `cookie` is the one the ticket was minted for. */
  sameBrowser(ticket: TryTicket, cookie: string | undefined): boolean {
    return cookie !== undefined && cookie.length <= 200 && safeEqual(sha256(cookie), ticket.browser);
  }

  admits(clientId: string, redirectUri: string, params: Params): boolean {
    if (redirectUri !== this.callbackUrl) return false;
    let state: string | undefined;
    try {
      state = params.get("state");
    } catch {
      return false;
    }
    return this.open(state)?.clientId === clientId;
  }
}
