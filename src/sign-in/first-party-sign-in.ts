// Latchkey's own pages that need a signed-in person (/account, /device) sign them in the way any
// application does: through the authorization endpoint, so the hosted sign-in pages run every step
// a sign-in owes (the policy's second factor, a verified address, a new password) and a suspended
// account is refused exactly as elsewhere. There is no second way in to get wrong.
//
// Each such page is a first-party application of Latchkey, registered on first use. Its client ID
// is derived from the business row's random id instead of being stored: a stored id would need a
// column (a migration), and deriving it lets any instance, at any time, re-create the application
// when it is missing (an administrator deleted it) — two instances doing so at once collide on the
// primary key, and the loser reads the winner's row. Nobody else can hold that id: identifiers of
// other applications are random, and operators choose only the bootstrap M2M one. It is a
// confidential ("reg") application whose secret nobody keeps, so a code that leaked on its way
// could not be exchanged for tokens by anyone; its only callback is the current issuer's.
//
// The request carries PKCE (RFC 7636) and state, kept in a short-lived cookie. The callback takes
// no tokens: it consumes the code itself, with the token endpoint's checks (RFC rule beside each,
// as in grants/authorization_code.ts), and admits it only when it was issued to this browser's
// current session — the sign-in then stands for that session and nothing else. What each page
// asks of that session beyond this is its own (account-sign-in.ts, device-sign-in.ts).
//
// The page's language (issue 20: its ?lang=, else the browser's) goes with the request as Kinde's
// `lang`, so the sign-in pages speak it, and is kept in the cookie, so the callback's refusal does.
import type { FastifyReply, FastifyRequest } from "fastify";
import { redirectUrlProblem } from "../applications/urls.js";
import { randomToken, safeEqual, sha256 } from "../crypto/random.js";
import { type NoValues, t } from "../i18n/catalogue.js";
import { type Locale, requestLocale, storedLocale } from "../i18n/locale.js";
import { pageSignInRefusal } from "../i18n/problems.js";
import { MFA_ACR } from "../oauth/authorize.js";
import { OAuthError } from "../oauth/errors.js";
import { verifyChallenge } from "../oauth/pkce.js";
import type { Services } from "../services.js";
import type { User } from "../users/users.store.js";
import type { BrowserSignIn } from "./browser-sign-in.js";
import { cookieOptions } from "./cookies.js";
import type { BrowserSession } from "./sessions.js";

/** How long a sign-in started from one of these pages may take (the sign-in pages' own limit). */
const SIGN_IN_COOKIE_SECONDS = 30 * 60;

/** One of Latchkey's own applications. */
export interface FirstPartyApplication {
  /** What the sign-in page says the person is signing in to ("to continue to …"). */
  name: string;
  /** Mixed with the business id into the client ID: one per application, never another's. */
  clientIdLabel: string;
  /** Its callback, under the issuer. */
  callbackPath: string;
}

export type CallbackOutcome =
  | { ok: true; returnTo: string; session: BrowserSession }
  /** `message` in `locale`: the language of the page that started the sign-in. */
  | { ok: false; message: string; locale: Locale };

/** What the browser keeps between the redirect to the authorization endpoint and the callback. */
interface PendingSignIn {
  state: string;
  verifier: string;
  returnTo: string;
  /** The language of the page that started it (absent from a cookie set before languages). */
  locale?: Locale;
}

export function firstPartyCallbackUrl(issuer: string, application: FirstPartyApplication): string {
  return `${issuer}${application.callbackPath}`;
}

/** What each of Latchkey's own applications mixes into its client ID (clientIdLabel). */
export const FIRST_PARTY_LABELS = {
  account: "latchkey-account-pages",
  device: "latchkey-device-pages",
  invitations: "latchkey-invitation-pages",
} as const;

/** The client ID of label's application: 32 hex digits, like every client ID (COMPAT.md §2.3). */
export async function firstPartyIdFor(services: Pick<Services, "business">, label: string): Promise<string> {
  const { id } = await services.business.get();
  return Buffer.from(sha256(`${label}:${id}`), "base64url")
    .toString("hex")
    .slice(0, 32);
}

export function firstPartyClientId(
  services: Pick<Services, "business">,
  application: FirstPartyApplication,
): Promise<string> {
  return firstPartyIdFor(services, application.clientIdLabel);
}

/**
 * Whether `applicationId` is one of Latchkey's own (account pages, device pages, invitation links):
 * the Management API neither changes them nor shows their secret (find-application.ts). A callback
 * URL added to one would receive codes for any signed-in person's session.
 */
export async function isFirstPartyApplication(
  services: Pick<Services, "business">,
  applicationId: string,
): Promise<boolean> {
  for (const label of Object.values(FIRST_PARTY_LABELS))
    if ((await firstPartyIdFor(services, label)) === applicationId) return true;
  return false;
}

/**
 * The application, registered when missing, with exactly the current issuer's callback and no
 * other URL (one left on a former ISSUER_URL's origin would send a code there). Undefined when
 * ISSUER_URL cannot carry a callback (http off loopback, RFC 9700 §2.6).
 */
export async function ensureFirstPartyApplication(
  services: Services,
  application: FirstPartyApplication,
): Promise<string | undefined> {
  const wanted = firstPartyCallbackUrl(services.oauth.issuer, application);
  if (redirectUrlProblem(wanted) !== undefined) return undefined;
  const id = await firstPartyClientId(services, application);
  const store = services.applications.store;
  if (!(await store.findById(id))) {
    try {
      // Created without URLs: the callback lies in Latchkey's own URL space, where
      // ApplicationsService refuses to register any; it is set below as the dashboard's is.
      await services.applications.create({ id, type: "reg", name: application.name });
    } catch (error) {
      // Another instance (or request) registered it first.
      if (!(await store.findById(id))) throw error;
    }
  }
  const now = services.clock.now();
  const callbacks = await store.urls(id, "callback");
  // Written only when different: each write moves every instance's configuration cache.
  if (callbacks.length !== 1 || callbacks[0] !== wanted)
    await store.replaceUrls(id, "callback", [wanted], now);
  if ((await store.urls(id, "logout")).length > 0) await store.replaceUrls(id, "logout", [], now);
  return id;
}

/** The authorization response's parameters: a repeated one is no answer of ours, so only text counts. */
export function callbackQuery(query: Record<string, unknown>): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(query).map(([name, value]) => [name, typeof value === "string" ? value : undefined]),
  );
}

export class FirstPartySignIn {
  /** The sign-in under way (state, PKCE verifier, where to go back). */
  private readonly cookieName: string;

  constructor(
    private readonly services: Services,
    private readonly signIn: BrowserSignIn,
    private readonly https: boolean,
    private readonly options: {
      application: FirstPartyApplication;
      /** The pending sign-in's cookie; __Host- is added on https. */
      cookieName: string;
      /** Where the callback may send the browser: `value` when it is one of the page's own. */
      returnPath: (value: unknown) => string;
      /**
       * What the page asks of the session its code was issued to, beyond being this browser's
       * current one: undefined to admit it, or the message refusing it.
       */
      admit?: (session: BrowserSession, locale: Locale) => Promise<string | undefined>;
    },
  ) {
    // __Host- on https: no other host of the site can plant a pending sign-in (RFC 6265bis §4.1.3.2).
    this.cookieName = https ? `__Host-${options.cookieName}` : options.cookieName;
  }

  /** This browser's Latchkey session and its account, when it has both. */
  async signedIn(request: FastifyRequest): Promise<{ session: BrowserSession; user: User } | undefined> {
    const session = await this.signIn.session(request);
    if (!session) return undefined;
    const user = await this.services.users.store.findById(session.userId);
    return user ? { session, user } : undefined;
  }

  /**
   * Sends the browser to the authorization endpoint; back at `returnTo` once signed in. `again`
   * asks for a new proof whatever the session (prompt=login, OIDC Core §3.1.2.1), under `orgCode`'s
   * policy when given. Undefined when ISSUER_URL cannot carry the callback.
   */
  async start(
    reply: FastifyReply,
    options: {
      returnTo: string;
      status: 302 | 303;
      again?: boolean;
      orgCode?: string | null;
      loginHint?: string;
      /** Ask for a second factor whatever the policy (acr_values, a step-up). */
      requireMfa?: boolean;
    },
  ): Promise<FastifyReply | undefined> {
    const { application } = this.options;
    const clientId = await ensureFirstPartyApplication(this.services, application);
    if (!clientId) return undefined;
    const locale = requestLocale(reply.request);
    const pending: PendingSignIn = {
      state: randomToken(),
      verifier: randomToken(),
      returnTo: this.options.returnPath(options.returnTo),
      locale,
    };
    reply.setCookie(
      this.cookieName,
      Buffer.from(JSON.stringify(pending)).toString("base64url"),
      cookieOptions(this.https, SIGN_IN_COOKIE_SECONDS),
    );
    const query = new URLSearchParams({
      response_type: "code",
      client_id: clientId,
      redirect_uri: firstPartyCallbackUrl(this.services.oauth.issuer, application),
      scope: "openid",
      state: pending.state,
      // The verifier is 43 base64url characters: ASCII, so its SHA-256 is S256's (RFC 7636 §4.2).
      code_challenge: sha256(pending.verifier),
      code_challenge_method: "S256",
      lang: locale,
      ...(options.again ? { prompt: "login" } : {}),
      ...(options.orgCode ? { org_code: options.orgCode } : {}),
      ...(options.loginHint ? { login_hint: options.loginHint } : {}),
      ...(options.requireMfa ? { acr_values: MFA_ACR } : {}),
    });
    return reply.code(options.status).header("location", `/oauth2/auth?${query}`).send();
  }

  /** Checks the authorization response at the callback (and forgets the pending sign-in). */
  async callback(
    request: FastifyRequest,
    reply: FastifyReply,
    query: Record<string, string | undefined>,
  ): Promise<CallbackOutcome> {
    const pending = this.pending(request);
    reply.clearCookie(this.cookieName, cookieOptions(this.https));
    const locale = pending?.locale ?? requestLocale(request);
    const refused = refusedIn(locale);
    // RFC 6749 §10.12, RFC 9700 §4.7: the response answers the request this browser made.
    if (!pending || !query.state || !safeEqual(query.state, pending.state))
      return refused("first_party.not_started_here");
    // RFC 9207 §2.4: a response naming another issuer is not ours (mix-up).
    if (query.iss !== undefined && query.iss !== this.services.oauth.issuer)
      return refused("first_party.other_server");
    // RFC 6749 §4.1.2.1: the sign-in ended without a code (refused, or the person gave up). The
    // description is our own server's English: a refusal the catalogue knows is shown translated.
    if (query.error !== undefined) {
      const description = query.error_description?.slice(0, 300);
      return description
        ? { ok: false, message: pageSignInRefusal(locale, description), locale }
        : refused("first_party.did_not_finish");
    }
    if (!query.code) return refused("first_party.did_not_finish");
    const outcome = await this.consume(request, query.code, pending.verifier, locale);
    return outcome.ok ? { ok: true, returnTo: pending.returnTo, session: outcome.session } : outcome;
  }

  /** The token endpoint's checks of a code (grants/authorization_code.ts), without minting tokens. */
  private async consume(
    request: FastifyRequest,
    code: string,
    verifier: string,
    locale: Locale,
  ): Promise<{ ok: true; session: BrowserSession } | { ok: false; message: string; locale: Locale }> {
    const { services } = this;
    const refused = refusedIn(locale);
    const { application } = this.options;
    const now = services.clock.now();
    // RFC 6749 §4.1.2: single use, by one conditional write (a replay finds it consumed).
    const consumed = await services.oauth.store.consumeCode(sha256(code.slice(0, 200)), now);
    if (!consumed?.firstUse) return refused("first_party.used");
    const record = consumed.code;
    // §4.1.3: issued to this client, for this redirect URI; and not expired.
    if (record.clientId !== (await firstPartyClientId(services, application)))
      return refused("first_party.not_ours");
    if (record.redirectUri !== firstPartyCallbackUrl(services.oauth.issuer, application))
      return refused("first_party.not_ours");
    if (record.expiresAt <= now) return refused("first_party.too_long");
    // RFC 7636 §4.6: the verifier this browser kept matches the challenge sent with the request.
    try {
      if (!record.codeChallenge) return refused("first_party.not_ours");
      verifyChallenge(record.codeChallenge, verifier);
    } catch (error) {
      if (error instanceof OAuthError) return refused("first_party.other_browser");
      throw error;
    }
    // The code stands for a sign-in only with the session it made: this browser's current one.
    const session = await this.signIn.session(request);
    if (!session || session.id !== record.sessionId || session.userId !== record.userId)
      return refused("first_party.other_session");
    const refusal = await this.options.admit?.(session, locale);
    return refusal === undefined ? { ok: true, session } : { ok: false, message: refusal, locale };
  }

  private pending(request: FastifyRequest): PendingSignIn | undefined {
    const value = request.cookies[this.cookieName];
    if (!value || value.length > 1000) return undefined;
    try {
      const parsed: unknown = JSON.parse(Buffer.from(value, "base64url").toString("utf8"));
      if (typeof parsed !== "object" || parsed === null) return undefined;
      const { state, verifier, returnTo, locale } = parsed as Record<string, unknown>;
      if (typeof state !== "string" || typeof verifier !== "string") return undefined;
      return { state, verifier, returnTo: this.options.returnPath(returnTo), locale: storedLocale(locale) };
    } catch {
      return undefined;
    }
  }
}

/** A refusal in `locale`, by its catalogue key. */
function refusedIn(locale: Locale) {
  return (key: NoValues): { ok: false; message: string; locale: Locale } => ({
    ok: false,
    message: t(locale, key),
    locale,
  });
}
