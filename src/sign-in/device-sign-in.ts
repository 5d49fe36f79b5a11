// Who may answer a device's request on /device (RFC 8628 §3.3), and how they sign in for it.
//
// The page is used with the browser's Latchkey session (the sign-in pages' cookie). Without one,
// the person signs in as for any application: /device is itself a first-party application of
// Latchkey (registered on first use, its client ID derived from the business row's random id so
// every instance finds the same one) that sends the browser to the authorization endpoint with
// PKCE (RFC 7636) and state, so the hosted sign-in pages run every step the policy asks — the
// verified address, a new password, the second factor — and end by starting a session. The
// callback takes no tokens: it consumes the code itself, with the token endpoint's checks (RFC
// rule beside each), and admits it only when it was issued to this browser's current session.
//
// Answering a device signs the person in to the *device's* application, so the session must also
// be good enough for that application, judged as the authorization endpoint judges a silent
// sign-in (session-admission.ts): the steps the policy asks are done, the second factor the
// organization entered asks for was given, a passkey exists where passkeys are mandatory, and a
// session made through a connection counts only where that connection is enabled for the device's
// application.
import type { FastifyReply, FastifyRequest } from "fastify";
import { redirectUrlProblem } from "../applications/urls.js";
import { randomToken, safeEqual, sha256 } from "../crypto/random.js";
import { OAuthError } from "../oauth/errors.js";
import { verifyChallenge } from "../oauth/pkce.js";
import type { Services } from "../services.js";
import type { User } from "../users/users.store.js";
import type { BrowserSignIn } from "./browser-sign-in.js";
import { cookieOptions } from "./cookies.js";
import { connectionAdmits, policySatisfied } from "./session-admission.js";
import type { BrowserSession } from "./sessions.js";
import type { SignInPolicy } from "./steps.js";

/** What the sign-in page says the person is signing in to ("to continue to …"). */
export const DEVICE_SIGN_IN_APPLICATION_NAME = "Device sign-in";
/** How long a sign-in started from /device may take (the sign-in pages' own limit). */
const SIGN_IN_COOKIE_SECONDS = 30 * 60;
/** Where the callback may send the browser: /device, with a well-formed user code at most. */
const RETURN_PATH = /^\/device(?:\?user_code=[A-Z]{4}-[A-Z]{4})?$/;

export type DeviceAccess = { kind: "signed_in"; session: BrowserSession; user: User } | { kind: "sign_in" };

export type CallbackOutcome = { ok: true; returnTo: string } | { ok: false; message: string };

/** What the browser keeps between the redirect to the authorization endpoint and the callback. */
interface PendingSignIn {
  state: string;
  verifier: string;
  returnTo: string;
}

export function deviceCallbackUrl(issuer: string): string {
  return `${issuer}/device/callback`;
}

export function deviceReturnPath(value: unknown): string {
  return typeof value === "string" && RETURN_PATH.test(value) ? value : "/device";
}

/** The /device pages' client ID: 32 hex digits, like every client ID (COMPAT.md §2.3). */
export async function deviceSignInClientId(services: Pick<Services, "business">): Promise<string> {
  const { id } = await services.business.get();
  return Buffer.from(sha256(`latchkey-device-pages:${id}`), "base64url")
    .toString("hex")
    .slice(0, 32);
}

/**
 * The /device pages' application, registered when missing, with exactly the current issuer's
 * callback (one left on a former ISSUER_URL's origin would send a code there). Undefined when
 * ISSUER_URL cannot carry a callback (http off loopback, RFC 9700 §2.6).
 */
export async function ensureDeviceSignInApplication(services: Services): Promise<string | undefined> {
  const wanted = deviceCallbackUrl(services.oauth.issuer);
  if (redirectUrlProblem(wanted) !== undefined) return undefined;
  const id = await deviceSignInClientId(services);
  const store = services.applications.store;
  if (!(await store.findById(id))) {
    try {
      // A confidential application whose secret nobody keeps: its codes never reach the token
      // endpoint. Created without URLs: ApplicationsService refuses any in Latchkey's own space.
      await services.applications.create({ id, type: "reg", name: DEVICE_SIGN_IN_APPLICATION_NAME });
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

export class DeviceSignIn {
  private readonly cookieName: string;

  constructor(
    private readonly services: Services,
    private readonly signIn: BrowserSignIn,
    private readonly https: boolean,
    private readonly policy: SignInPolicy,
  ) {
    // __Host- on https: no other host of the site can plant a pending sign-in (RFC 6265bis §4.1.3.2).
    this.cookieName = https ? "__Host-latchkey_device_sign_in" : "latchkey_device_sign_in";
  }

  async access(request: FastifyRequest): Promise<DeviceAccess> {
    const session = await this.signIn.session(request);
    if (!session) return { kind: "sign_in" };
    const user = await this.services.users.store.findById(session.userId);
    if (!user) return { kind: "sign_in" };
    return { kind: "signed_in", session, user };
  }

  /**
   * Whether this session may sign its person in to `clientId` in `orgCode` without another step
   * (see the file's comment).
   */
  async admits(
    access: { session: BrowserSession },
    clientId: string,
    orgCode: string | null,
  ): Promise<boolean> {
    const request = { clientId, orgCode: orgCode ?? undefined };
    return (
      (await policySatisfied(this.services, access.session, request, this.policy)) &&
      (await connectionAdmits(this.services, access.session, request))
    );
  }

  /**
   * Sends the browser to the authorization endpoint; back at `returnTo` once signed in. `fresh`
   * asks for a new proof whatever the session (prompt=login), with the organization whose policy
   * it must meet. Undefined when ISSUER_URL cannot carry the callback.
   */
  async start(
    reply: FastifyReply,
    options: { returnTo: string; status: 302 | 303; fresh?: { orgCode: string | null; loginHint?: string } },
  ): Promise<FastifyReply | undefined> {
    const clientId = await ensureDeviceSignInApplication(this.services);
    if (!clientId) return undefined;
    const pending: PendingSignIn = {
      state: randomToken(),
      verifier: randomToken(),
      returnTo: deviceReturnPath(options.returnTo),
    };
    reply.setCookie(
      this.cookieName,
      Buffer.from(JSON.stringify(pending)).toString("base64url"),
      cookieOptions(this.https, SIGN_IN_COOKIE_SECONDS),
    );
    const { fresh } = options;
    const query = new URLSearchParams({
      response_type: "code",
      client_id: clientId,
      redirect_uri: deviceCallbackUrl(this.services.oauth.issuer),
      scope: "openid",
      state: pending.state,
      // The verifier is 43 base64url characters: ASCII, so its SHA-256 is S256's (RFC 7636 §4.2).
      code_challenge: sha256(pending.verifier),
      code_challenge_method: "S256",
      ...(fresh ? { prompt: "login" } : {}),
      ...(fresh?.orgCode ? { org_code: fresh.orgCode } : {}),
      ...(fresh?.loginHint ? { login_hint: fresh.loginHint } : {}),
    });
    return reply.code(options.status).header("location", `/oauth2/auth?${query}`).send();
  }

  /** Checks the authorization response at /device/callback (and forgets the pending sign-in). */
  async callback(
    request: FastifyRequest,
    reply: FastifyReply,
    query: Record<string, string | undefined>,
  ): Promise<CallbackOutcome> {
    const pending = this.pending(request);
    reply.clearCookie(this.cookieName, cookieOptions(this.https));
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
    return outcome.ok ? { ok: true, returnTo: pending.returnTo } : outcome;
  }

  /** The token endpoint's checks of a code (grants/authorization_code.ts), without minting tokens. */
  private async consume(request: FastifyRequest, code: string, verifier: string): Promise<CallbackOutcome> {
    const { services } = this;
    const now = services.clock.now();
    // RFC 6749 §4.1.2: single use, by one conditional write (a replay finds it consumed).
    const consumed = await services.oauth.store.consumeCode(sha256(code.slice(0, 200)), now);
    if (!consumed?.firstUse) return refused("This sign-in was used already. Try again.");
    const record = consumed.code;
    // §4.1.3: issued to this client, for this redirect URI; and not expired.
    if (record.clientId !== (await deviceSignInClientId(services)))
      return refused("This sign-in is not ours.");
    if (record.redirectUri !== deviceCallbackUrl(services.oauth.issuer))
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
    return { ok: true, returnTo: "/device" };
  }

  private pending(request: FastifyRequest): PendingSignIn | undefined {
    const value = request.cookies[this.cookieName];
    if (!value || value.length > 1000) return undefined;
    try {
      const parsed: unknown = JSON.parse(Buffer.from(value, "base64url").toString("utf8"));
      if (typeof parsed !== "object" || parsed === null) return undefined;
      const { state, verifier, returnTo } = parsed as Record<string, unknown>;
      if (typeof state !== "string" || typeof verifier !== "string") return undefined;
      return { state, verifier, returnTo: deviceReturnPath(returnTo) };
    } catch {
      return undefined;
    }
  }
}

function refused(message: string): CallbackOutcome {
  return { ok: false, message };
}
