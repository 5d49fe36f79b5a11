// Latchkey as an OAuth 2.0 client of a provider (RFC 6749): the authorization URL with PKCE S256
// (RFC 7636) and state, the code exchange, refresh and revocation (RFC 7009), with each provider's
// quirks described by an OAuthProvider. Connected apps and connections both call out through this
// file; every request goes through the SSRF guard in ./http.ts.
//
// Exported (stable names; connected apps and connections import them):
//   OAuthProvider           endpoints and quirk flags of one provider (catalog entries extend it)
//   ProviderCredentials     client id and secret
//   ProviderTokens          a token response, normalised
//   PermanentProviderError  the grant is dead (invalid_grant…): connect again
//   TransientProviderError  network, 5xx, throttling: try later
//   authorizationUrl        the URL the browser is sent to
//   newCodeVerifier, codeChallengeS256   PKCE (RFC 7636 §4.1, §4.2)
//   exchangeCode, refreshTokens, revokeToken
//   providerUrlProblem      configuration-time URL check (re-exported from ./http.ts)
import { createHash, randomBytes } from "node:crypto";
import { type OutboundOptions, type OutboundResponse, outboundRequest } from "./http.js";

export { providerUrlProblem } from "./http.js";

/** What the OAuth client must know of a provider: its endpoints and how it departs from RFC 6749. */
export interface OAuthProvider {
  authorizationUrl: string;
  tokenUrl: string;
  /** RFC 7009 revocation endpoint (POST token=…); absent when the provider offers none. */
  revocationUrl?: string;
  /** How the client authenticates at the token endpoint: HTTP Basic or client_id/secret fields. */
  clientAuth: "basic" | "body";
  /** Token request body format. */
  bodyFormat: "form" | "json";
  scopeSeparator: " " | ",";
  /**
   * The authorization parameter that carries the scopes (RFC 6749 §3.3's `scope` unless the
   * provider says otherwise): Slack v2 reads `scope` as the bot's scopes and `user_scope` as the
   * person's, and a connected app acts for the person (its token is under `authed_user`).
   */
  scopeParameter?: "scope" | "user_scope";
  /** Sent on every authorization request (e.g. Google's access_type=offline + prompt=consent). */
  authorizationParams?: Record<string, string>;
  /** Scopes always requested in addition to the caller's own (e.g. offline_access). */
  defaultScopes?: string[];
  /** PKCE S256 toward the provider (on unless the provider rejects it). */
  pkce: boolean;
  /** Token response quirks. */
  tokenResponse?: {
    /** The user's token lives under this key (Slack v2: authed_user). */
    nestedUnder?: string;
    /** Errors arrive as HTTP 200 with `error` (GitHub) or `ok:false` (Slack). */
    errorsIn200?: boolean;
  };
}

export interface ProviderCredentials {
  clientId: string;
  clientSecret: string;
}

export interface ProviderTokens {
  accessToken: string;
  refreshToken?: string;
  /** Epoch seconds, or undefined when the provider says nothing (token assumed long-lived). */
  expiresAt?: number;
  scope?: string;
  /** The OpenID Connect ID token, when the provider sent one (validate it with ./oidc.ts). */
  idToken?: string;
}

/** A provider refused for good (invalid_grant…): the user must connect again. */
export class PermanentProviderError extends Error {
  constructor(
    message: string,
    /** The OAuth error code, when it is a plain token safe to show API callers (RFC 6749 §5.2). */
    readonly code?: string,
  ) {
    super(message);
  }
}
/** Network trouble, 5xx or throttling: worth retrying later. */
export class TransientProviderError extends Error {}

/** Error codes that mean "try again later", even inside a 200 or a 4xx. */
const TRANSIENT = new Set([
  "temporarily_unavailable",
  "server_error",
  "slow_down",
  "ratelimited",
  "rate_limited",
  "internal_error",
  "service_unavailable",
  "request_timeout",
]);

/** A PKCE code verifier: 32 random octets, base64url (43 characters, RFC 7636 §4.1). */
export function newCodeVerifier(): string {
  return randomBytes(32).toString("base64url");
}

/** The S256 code challenge of a verifier (RFC 7636 §4.2); `plain` is never used. */
export function codeChallengeS256(verifier: string): string {
  return createHash("sha256").update(verifier).digest("base64url");
}

export function authorizationUrl(
  provider: OAuthProvider,
  input: {
    clientId: string;
    redirectUri: string;
    scopes: string[];
    state: string;
    codeChallenge?: string;
    /** OIDC Core §3.1.2.1: binds the ID token to this authorization request. */
    nonce?: string;
    extra?: Record<string, string>;
  },
): string {
  const url = new URL(provider.authorizationUrl);
  const scopes = [...new Set([...(provider.defaultScopes ?? []), ...input.scopes])];
  // Catalog extras first: they can never replace the parameters that carry the flow's security.
  const params: Record<string, string | undefined> = {
    ...provider.authorizationParams,
    ...input.extra,
    response_type: "code",
    client_id: input.clientId,
    redirect_uri: input.redirectUri,
    [provider.scopeParameter ?? "scope"]: scopes.length ? scopes.join(provider.scopeSeparator) : undefined,
    state: input.state,
    nonce: input.nonce,
    ...(input.codeChallenge ? { code_challenge: input.codeChallenge, code_challenge_method: "S256" } : {}),
  };
  for (const [name, value] of Object.entries(params))
    if (value !== undefined) url.searchParams.set(name, value);
  return url.href;
}

export function exchangeCode(
  provider: OAuthProvider,
  credentials: ProviderCredentials,
  input: { code: string; redirectUri: string; codeVerifier?: string },
  now: number,
  http: OutboundOptions,
): Promise<ProviderTokens> {
  return tokenRequest(
    provider,
    credentials,
    {
      grant_type: "authorization_code",
      code: input.code,
      redirect_uri: input.redirectUri,
      ...(input.codeVerifier ? { code_verifier: input.codeVerifier } : {}),
    },
    now,
    http,
  );
}

export function refreshTokens(
  provider: OAuthProvider,
  credentials: ProviderCredentials,
  refreshToken: string,
  now: number,
  http: OutboundOptions,
): Promise<ProviderTokens> {
  return tokenRequest(
    provider,
    credentials,
    { grant_type: "refresh_token", refresh_token: refreshToken },
    now,
    http,
  );
}

/** RFC 7009 revocation; resolves false when the provider has no revocation endpoint. */
export async function revokeToken(
  provider: OAuthProvider,
  credentials: ProviderCredentials,
  token: string,
  hint: "access_token" | "refresh_token",
  http: OutboundOptions,
): Promise<boolean> {
  if (!provider.revocationUrl) return false;
  const response = await send(
    provider,
    provider.revocationUrl,
    credentials,
    { token, token_type_hint: hint },
    http,
  );
  if (response.status < 200 || response.status > 299)
    throw new TransientProviderError(`revocation answered ${response.status}`);
  return true;
}

async function tokenRequest(
  provider: OAuthProvider,
  credentials: ProviderCredentials,
  params: Record<string, string>,
  now: number,
  http: OutboundOptions,
): Promise<ProviderTokens> {
  const response = await send(provider, provider.tokenUrl, credentials, params, http);
  const body = parseBody(response);
  const error =
    typeof body.error === "string" ? body.error : body.ok === false ? "provider_error" : undefined;
  const ok = response.status >= 200 && response.status <= 299;
  if (!ok || error) {
    const code = error ?? `http_${response.status}`;
    const message = `${code}${typeof body.error_description === "string" ? `: ${body.error_description.slice(0, 200)}` : ""}`;
    if (response.status >= 500 || response.status === 429 || TRANSIENT.has(code)) {
      throw new TransientProviderError(message);
    }
    // Any other refusal — a 4xx, or an error inside a 200 (GitHub, Slack) — will not heal by retrying.
    throw new PermanentProviderError(message, /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : undefined);
  }
  const nested = provider.tokenResponse?.nestedUnder;
  const source =
    nested && typeof body[nested] === "object" && body[nested] !== null
      ? (body[nested] as Record<string, unknown>)
      : body;
  const accessToken = source.access_token;
  if (typeof accessToken !== "string" || accessToken === "")
    throw new PermanentProviderError("the provider returned no access_token");
  const expiresIn = Number(source.expires_in);
  return {
    accessToken,
    refreshToken:
      typeof source.refresh_token === "string" && source.refresh_token ? source.refresh_token : undefined,
    expiresAt: Number.isFinite(expiresIn) && expiresIn > 0 ? now + Math.floor(expiresIn) : undefined,
    scope: typeof source.scope === "string" ? source.scope : undefined,
    idToken: typeof source.id_token === "string" && source.id_token ? source.id_token : undefined,
  };
}

async function send(
  provider: OAuthProvider,
  url: string,
  credentials: ProviderCredentials,
  params: Record<string, string>,
  http: OutboundOptions,
): Promise<OutboundResponse> {
  const headers: Record<string, string> = { accept: "application/json" };
  const fields = { ...params };
  if (provider.clientAuth === "basic") {
    // RFC 6749 §2.3.1: form-encode id and secret before base64.
    const id = encodeURIComponent(credentials.clientId);
    const secret = encodeURIComponent(credentials.clientSecret);
    headers.authorization = `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;
  } else {
    fields.client_id = credentials.clientId;
    fields.client_secret = credentials.clientSecret;
  }
  let body: string;
  if (provider.bodyFormat === "json") {
    headers["content-type"] = "application/json";
    body = JSON.stringify(fields);
  } else {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(fields).toString();
  }
  try {
    return await outboundRequest(url, { method: "POST", headers, body }, http);
  } catch (error) {
    // Unreachable, too slow, refused by the SSRF guard: none of it is the grant's fault, so the
    // connection survives (a rebinding attacker must not be able to force users to reconnect).
    throw new TransientProviderError(
      `could not reach the provider: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** JSON, or form-encoded (GitHub without Accept: application/json). */
function parseBody(response: OutboundResponse): Record<string, unknown> {
  const text = response.body;
  if (response.contentType.includes("application/x-www-form-urlencoded"))
    return Object.fromEntries(new URLSearchParams(text));
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return Object.fromEntries(new URLSearchParams(text));
  }
}
