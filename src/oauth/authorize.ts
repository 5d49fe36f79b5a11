// The authorization endpoint's rules (RFC 6749 §4.1.1-4.1.2, OIDC Core §3.1.2, RFC 7636, RFC 9700):
// validate the request, decide whether the user must sign in, and mint the code.

import { matchRegisteredUrl } from "../applications/urls.js";
import { randomToken, sha256 } from "../crypto/random.js";
import type { Locale } from "../i18n/locale.js";
import { INVITATION_CODE } from "../invitations/invitation-code.js";
import { marketingParameters } from "../properties/marketing.js";
import { accessRefusal } from "./access-control.js";
import { CODE_LIFETIME_SECONDS, type OAuthContext } from "./context.js";
import { OAuthError } from "./errors.js";
import type { Params } from "./params.js";
import { parseChallenge } from "./pkce.js";
import type { ClientRecord, CodeRecord, OrganizationChoice } from "./ports.js";
import { joinScope, OIDC_SCOPES, splitScope } from "./scopes.js";

/**
 * The authentication context class of a sign-in that proved two factors (OpenID PAPE's
 * multi-factor policy, the value most relying parties already send): requested with acr_values, and
 * the ID token's `acr` whenever the sign-in's amr includes "mfa".
 */
export const MFA_ACR = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";

const PROMPTS = new Set(["none", "login", "create", "consent", "select_account"]);

/** A validated authorization request, as stored while the user signs in. */
/**
 * A sign-in under way (DESIGN.md: a sign-in is a sequence of steps kept with its authorization
 * request): who has been identified, what they proved (RFC 8176 `amr` values), and the browser
 * doing it (the SHA-256 of its CSRF cookie: another browser holding the request id cannot continue).
 */
export interface SignInProgress {
  /** The identified account; "" while a code goes to an address no account has (never sent). */
  userId: string;
  amr: string[];
  browser: string;
  /** The one-time code the current step waits for. */
  codeId?: string;
  /** What that code is for, and where it went (passwordless sign-in, password reset). */
  purpose?: "verify_email" | "sign_in" | "reset_password";
  email?: string;
  /** A provider account waiting for that code to prove the address before it is linked. */
  link?: PendingLink;
  /** An authenticator app being set up in this sign-in: its new secret, sealed (src/mfa/). */
  totpSecretSealed?: string;
  /** A code texted in this sign-in, with its number and expiry, sealed (MfaService.sendSmsCode). */
  smsChallengeSealed?: string;
  /** A password chosen at a reset, sealed, set once the account's factor is proved (password-reset.ts). */
  newPasswordSealed?: string;
}

/** A connection's account for `userId`, linked once the code sent to its address comes back. */
export interface PendingLink {
  userId: string;
  connectionId: string;
  subject: string;
  email: string | null;
  emailVerified: boolean;
  /** The provider's profile claims, bounded (boundedClaims) as an identity keeps them. */
  claims: Record<string, unknown>;
}

export interface AuthorizationRequest {
  clientId: string;
  /** The redirect_uri exactly as the client sent it (the token request must repeat it). */
  redirectUri: string;
  state?: string;
  nonce?: string;
  scope: string;
  audience: string[];
  codeChallenge?: string;
  prompt: string[];
  maxAge?: number;
  loginHint?: string;
  /** The browser session that signed in for this request (set by the sign-in pages). */
  signedInSession?: string;
  /** What the sign-in pages proved so far, while a step remains (src/sign-in/steps.ts). */
  signInProgress?: SignInProgress;
  /** Kinde's org_code: sign the user into this organization (they must be a member). */
  orgCode?: string;
  /** Kinde's is_create_org (+ org_name): create an organization for the user; "" = name it for them. */
  createOrgName?: string;
  /** Kinde's connection_id: go straight to this connection's provider (src/sign-in/connection-sign-in.routes.ts). */
  connectionId?: string;
  /** acr_values named MFA_ACR: a second factor is proved in this sign-in whatever the policy. */
  requireMfa?: boolean;
  /** The external identity this sign-in proved (a connection); its session carries ext_provider. */
  externalIdentityId?: string;
  /** Kinde's invitation_code as sent; exchanged for `invitation` before the request is stored. */
  invitationCode?: string;
  /**
   * The invitation this sign-in accepts (src/invitations/invitation-sign-in.ts): the organization
   * it enters, and the one address that may sign in or up for it.
   */
  invitation?: { id: string; email: string; orgCode: string; organizationName: string };
  /** js-utils' marketing parameters (utm_source, gclid …): a new account keeps them as properties. */
  marketing?: Record<string, string>;
  /**
   * The language of the sign-in pages (src/i18n/), chosen when the request arrives from Kinde's
   * `lang` or the browser's Accept-Language and kept so every page of the sign-in speaks it.
   */
  locale?: Locale;
}

export type AuthorizationValidation =
  /** client_id or redirect_uri cannot be trusted: show an error page and never redirect (§4.1.2.1). */
  | { kind: "page_error"; message: string }
  /** Report the error to the client's redirect URI. */
  | { kind: "redirect_error"; redirectUri: string; state?: string; error: OAuthError }
  | { kind: "valid"; request: AuthorizationRequest; client: ClientRecord };

export async function validateAuthorizationRequest(
  ctx: OAuthContext,
  params: Params,
): Promise<AuthorizationValidation> {
  let clientId: string | undefined;
  let redirectUri: string | undefined;
  try {
    clientId = params.get("client_id");
    redirectUri = params.get("redirect_uri");
  } catch {
    return { kind: "page_error", message: "The request repeats client_id or redirect_uri." };
  }
  if (!clientId)
    return { kind: "page_error", message: "The request does not name an application (client_id)." };
  const client = await ctx.store.findClient(clientId);
  if (!client)
    return { kind: "page_error", message: "The application that sent you here is not registered." };
  if (client.type === "m2m") {
    return {
      kind: "page_error",
      message: "This application is machine-to-machine and cannot sign users in.",
    };
  }
  // A device signs its user in by the device authorization grant (RFC 8628), never by redirects.
  if (client.type === "device") {
    return {
      kind: "page_error",
      message: "This application is a device: sign in on it with the code it shows, at /device.",
    };
  }
  if (!redirectUri)
    return { kind: "page_error", message: "The request does not say where to return (redirect_uri)." };
  // Latchkey's try callback is registered for no application: it is admitted only with a ticket an
  // administrator minted for this client (applications/try-sign-in.ts).
  if (
    !matchRegisteredUrl(redirectUri, client.callbackUrls) &&
    !ctx.trySignIn?.admits(client.id, redirectUri, params)
  ) {
    return {
      kind: "page_error",
      message: "The return address (redirect_uri) is not registered for this application.",
    };
  }

  let state: string | undefined;
  try {
    state = params.get("state");
  } catch (error) {
    return { kind: "redirect_error", redirectUri, error: error as OAuthError };
  }
  try {
    return { kind: "valid", client, request: await validateRest(ctx, params, client, redirectUri, state) };
  } catch (error) {
    if (error instanceof OAuthError) return { kind: "redirect_error", redirectUri, state, error };
    throw error;
  }
}

async function validateRest(
  ctx: OAuthContext,
  params: Params,
  client: ClientRecord,
  redirectUri: string,
  state: string | undefined,
): Promise<AuthorizationRequest> {
  if (params.has("request"))
    throw new OAuthError("request_not_supported", "Request objects are not supported");
  if (params.has("request_uri"))
    throw new OAuthError("request_uri_not_supported", "request_uri is not supported");

  const responseType = params.get("response_type");
  if (responseType === undefined)
    throw new OAuthError("invalid_request", "Missing required parameter response_type");
  // RFC 9700 §2.1.2: no implicit or hybrid flow; tokens never leave through the front channel.
  if (responseType !== "code")
    throw new OAuthError("unsupported_response_type", "Only response_type=code is supported");
  const responseMode = params.get("response_mode");
  if (responseMode !== undefined && responseMode !== "query") {
    throw new OAuthError("invalid_request", "Only response_mode=query is supported");
  }

  const codeChallenge = parseChallenge(params.get("code_challenge"), params.get("code_challenge_method"));
  if (client.type === "spa" && !codeChallenge) {
    throw new OAuthError(
      "invalid_request",
      "Code challenge required: front-end applications must use PKCE (S256)",
    );
  }

  const prompt = splitScope(params.get("prompt"));
  if (prompt.some((p) => !PROMPTS.has(p)))
    throw new OAuthError("invalid_request", "Unsupported prompt value");
  if (prompt.includes("none") && prompt.length > 1) {
    throw new OAuthError("invalid_request", "prompt=none cannot be combined with other values");
  }
  // Kinde's deprecated alias (COMPAT.md §1.2).
  if (prompt.length === 0 && params.get("start_page") === "registration") prompt.push("create");

  const maxAgeRaw = params.get("max_age");
  let maxAge: number | undefined;
  if (maxAgeRaw !== undefined) {
    if (!/^\d{1,10}$/.test(maxAgeRaw))
      throw new OAuthError("invalid_request", "max_age must be a number of seconds");
    maxAge = Number(maxAgeRaw);
  }

  // OIDC Core §3.1.2.1 acr_values: the one class Latchkey names is multi-factor authentication
  // (MFA_ACR); asking for it makes this sign-in prove a second factor whatever the MFA policy says
  // (step-up). Other values are voluntary requests the server may not meet, so they are ignored.
  const acrValues = params.get("acr_values");
  if ((acrValues?.length ?? 0) > 512) throw new OAuthError("invalid_request", "acr_values is too long");
  const requireMfa = splitScope(acrValues).includes(MFA_ACR);

  const requestedAudience = params.all("audience");
  const audience = await ctx.store.authorizedAudiences(client.id, requestedAudience);
  const apiScopes = await ctx.store.apiScopes(audience);
  // Scopes we do not know are dropped rather than refused (RFC 6749 §3.3 lets the server narrow).
  const scope = splitScope(params.get("scope")).filter((s) => OIDC_SCOPES.has(s) || apiScopes.has(s));

  // Kept while the user signs in: bounded so one request cannot store kilobytes of junk.
  const nonce = params.get("nonce");
  const loginHint = params.get("login_hint");
  if ((state?.length ?? 0) > 2048 || (nonce?.length ?? 0) > 512 || (loginHint?.length ?? 0) > 320) {
    throw new OAuthError("invalid_request", "state, nonce or login_hint is too long");
  }

  // Kinde's organization parameters (COMPAT.md §1.2). The TS SDK may send the text "undefined".
  const orgCode = params.get("org_code");
  if (orgCode !== undefined && orgCode !== "undefined") {
    if (!/^org_[0-9a-z_]{1,60}$/i.test(orgCode) || !(await ctx.store.organizationExists(orgCode)))
      throw new OAuthError("invalid_request", "org_code does not name an organization");
  }
  let createOrgName: string | undefined;
  if (params.get("is_create_org") === "true") {
    const name = params.get("org_name");
    createOrgName = name === undefined || name === "undefined" ? "" : name.trim();
    if (createOrgName.length > 128 || /\p{Cc}/u.test(createOrgName))
      throw new OAuthError("invalid_request", "org_name must be at most 128 characters of text");
    // Never silently (a signed-in browser sent here by any site): an organization is created only
    // by someone completing the sign-up (or sign-in) page, as Kinde's createOrg starts on it.
    if (prompt.includes("none"))
      throw new OAuthError("login_required", "Creating an organization requires the user to sign in");
    if (!prompt.includes("login") && !prompt.includes("create")) prompt.push("create");
  }
  // The dashboard's sign-in makes no accounts (issue 20, src/sign-in/dashboard-sign-in.ts): asked
  // to start at registration (prompt=create, its alias start_page=registration, is_create_org), the
  // server denies the request (RFC 6749 §4.1.2.1 access_denied) rather than show a page that
  // would only refuse.
  if (prompt.includes("create") && (await ctx.store.isEnvironmentClient(client.id)))
    throw new OAuthError(
      "access_denied",
      "The Latchkey dashboard takes no sign-ups: sign in with an administrator account",
    );

  // Kinde's connection_id (COMPAT.md §1.2): only the shape is checked here; whether the connection
  // exists and is enabled for this client is the sign-in pages' question (they show an error).
  const connectionId = params.get("connection_id");
  if (connectionId !== undefined && !/^conn_[0-9a-f]{32}$/.test(connectionId))
    throw new OAuthError("invalid_request", "connection_id is not a connection id");

  // Kinde's invitation_code (+ is_invitation=true, COMPAT.md §1.2): the shape only here; the
  // invitation itself is looked up before the request is stored (src/invitations/). Accepting one
  // always takes the pages (never silently): a person signs in or up as the invited address.
  const invitationCode = params.get("invitation_code");
  const invited = invitationCode !== undefined && invitationCode !== "undefined";
  if (invited) {
    if (!INVITATION_CODE.test(invitationCode))
      throw new OAuthError("invalid_request", "invitation_code is not an invitation code");
    if (prompt.includes("none"))
      throw new OAuthError("login_required", "Accepting an invitation requires the user to sign in");
    if (createOrgName !== undefined)
      throw new OAuthError("invalid_request", "is_create_org cannot be combined with invitation_code");
  }
  const marketing = marketingParameters(params);

  return {
    clientId: client.id,
    redirectUri,
    state,
    nonce,
    scope: joinScope(scope),
    audience,
    codeChallenge,
    prompt,
    maxAge,
    loginHint,
    ...(orgCode !== undefined && orgCode !== "undefined" ? { orgCode } : {}),
    ...(createOrgName !== undefined ? { createOrgName } : {}),
    ...(connectionId !== undefined ? { connectionId } : {}),
    ...(requireMfa ? { requireMfa } : {}),
    ...(invited ? { invitationCode } : {}),
    ...(marketing ? { marketing } : {}),
  };
}

/**
 * Why this user cannot be signed in for the request's organization (a page can show it), or
 * undefined when they can. Kinde refuses a user who is not a member of the org_code asked for,
 * and, for an application with access control, one holding none of its access roles there (in
 * any of their organizations when no org_code is asked for: issueAuthorizationCode then judges
 * the one entered).
 */
export async function organizationRefusal(
  ctx: OAuthContext,
  request: AuthorizationRequest,
  userId: string,
  /** The codes of every organization the user belongs to, when read already (with the account). */
  memberOf?: readonly string[],
): Promise<string | undefined> {
  // An invitation's organization is joined when the invitation is accepted, at the end.
  if (request.createOrgName !== undefined || request.invitation) return undefined;
  if (request.orgCode !== undefined) {
    const memberships = memberOf ?? (await ctx.store.userClaims(userId, null)).id.org_codes;
    if (!Array.isArray(memberships) || !memberships.includes(request.orgCode))
      return "This account is not a member of the organization you are signing in to.";
  }
  return accessRefusal(ctx.store, await ctx.store.findClient(request.clientId), userId, request.orgCode);
}

/**
 * What issueAuthorizationCode answers instead of a code when the session is older than the
 * lifetime of the organization actually entered (security review M3): the person signs in again.
 */
export const STALE_SESSION: unique symbol = Symbol("stale session");

/**
 * The configuration issueAuthorizationCode reads, read ahead (codeIssueFacts) when the code is to
 * be written in a transaction with the sign-in's other writes: the configuration cache serves these
 * outside a transaction, and inside one each would be a statement of its own.
 */
export interface CodeIssueFacts {
  environmentClient: boolean;
  client: ClientRecord | undefined;
  /** The session lifetime for the organization the sign-in is expected to enter. */
  lifetime: { orgCode: string | null; maxAgeSeconds: number | undefined };
}

export async function codeIssueFacts(
  ctx: OAuthContext,
  clientId: string,
  expectedOrgCode: string | null,
): Promise<CodeIssueFacts> {
  const [environmentClient, client, maxAgeSeconds] = await Promise.all([
    ctx.store.isEnvironmentClient(clientId),
    ctx.store.findClient(clientId),
    ctx.store.sessionLifetime(clientId, expectedOrgCode),
  ]);
  return { environmentClient, client, lifetime: { orgCode: expectedOrgCode, maxAgeSeconds } };
}

/**
 * Where a validated request goes once the user is known: a fresh single-use code. `facts`: the
 * configuration as codeIssueFacts read it (`ctx` then works in the caller's transaction).
 */
export async function issueAuthorizationCode(
  ctx: OAuthContext,
  request: AuthorizationRequest,
  user: { id: string; sessionId: string; authTime: number },
  facts?: CodeIssueFacts,
): Promise<string | typeof STALE_SESSION> {
  let createName = request.createOrgName;
  if (createName === "") {
    const person = await ctx.store.findUser(user.id);
    const who = [person?.givenName, person?.familyName].filter(Boolean).join(" ") || person?.email;
    createName = who ? `${who}'s organization` : "My organization";
  }
  let entered: OrganizationChoice;
  try {
    // The admin dashboard acts for the whole environment: its sign-in enters no organization, so no
    // organization's suspension, deletion or membership change can refuse an administrator or end
    // the dashboard's grants (they carry no org_code to revoke by).
    entered =
      (facts?.environmentClient ?? (await ctx.store.isEnvironmentClient(request.clientId)))
        ? { orgCode: null }
        : await ctx.store.enterOrganization(user.id, { requested: request.orgCode, createName });
  } catch (error) {
    // E.g. the user has created too many organizations today: the client hears why.
    if (!(error instanceof OAuthError)) throw error;
    return errorRedirect(ctx.issuer, request.redirectUri, error, request.state);
  }
  if ("refused" in entered) {
    const reason =
      entered.refused === "suspended"
        ? "The organization is suspended"
        : "The user is not a member of the organization";
    return errorRedirect(
      ctx.issuer,
      request.redirectUri,
      new OAuthError("access_denied", reason),
      request.state,
    );
  }
  const { location, code } = await authorizationCodeFor(ctx, request, user, entered.orgCode, facts);
  if (code) await ctx.store.saveCode(code);
  return location;
}

/**
 * issueAuthorizationCode once the organization is entered (`orgCode`): the code to save and the
 * redirect carrying it, or a redirect alone (the session too old for that organization, or no
 * access role there). A caller that enters the organization in a write of its own
 * (src/sign-in/sign-in-writes.ts) saves the code there.
 */
export async function authorizationCodeFor(
  ctx: OAuthContext,
  request: AuthorizationRequest,
  user: { id: string; sessionId: string; authTime: number },
  orgCode: string | null,
  facts?: CodeIssueFacts,
): Promise<
  { location: string; code: CodeRecord } | { location: string | typeof STALE_SESSION; code?: never }
> {
  // The session lifetime judged again against the organization actually entered (security review
  // M3): the authorization endpoint only predicted it, and a prediction that differs (a membership
  // changed in between) must not let a session older than this organization allows through.
  const maxAge =
    facts?.lifetime.orgCode === orgCode
      ? facts.lifetime.maxAgeSeconds
      : await ctx.store.sessionLifetime(request.clientId, orgCode);
  if (maxAge !== undefined && ctx.clock.now() - user.authTime > maxAge) return { location: STALE_SESSION };
  // Role-based access to the application, in the organization entered (access-control.ts).
  const refused = await accessRefusal(
    ctx.store,
    facts ? facts.client : await ctx.store.findClient(request.clientId),
    user.id,
    orgCode,
  );
  if (refused)
    return {
      location: errorRedirect(
        ctx.issuer,
        request.redirectUri,
        new OAuthError("access_denied", refused),
        request.state,
      ),
    };
  const code = randomToken();
  const now = ctx.clock.now();
  return {
    code: {
      codeHash: sha256(code),
      clientId: request.clientId,
      userId: user.id,
      sessionId: user.sessionId,
      redirectUri: request.redirectUri,
      scope: request.scope,
      audience: request.audience,
      nonce: request.nonce ?? null,
      codeChallenge: request.codeChallenge ?? null,
      authTime: user.authTime,
      createdAt: now,
      expiresAt: now + CODE_LIFETIME_SECONDS,
      grantId: null,
      orgCode,
    },
    location: redirectWith(ctx.issuer, request.redirectUri, {
      code,
      scope: request.scope || undefined,
      state: request.state,
    }),
  };
}

/** An error response to the client (§4.1.2.1), with `iss` for mix-up defence (RFC 9207). */
export function errorRedirect(
  issuer: string,
  redirectUri: string,
  error: OAuthError,
  state?: string,
): string {
  const body = error.toJSON();
  return redirectWith(issuer, redirectUri, {
    error: body.error,
    error_description: body.error_description,
    state,
  });
}

function redirectWith(
  issuer: string,
  redirectUri: string,
  values: Record<string, string | undefined>,
): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(values))
    if (value !== undefined) url.searchParams.append(name, value);
  url.searchParams.append("iss", issuer);
  return url.href;
}
