// Latchkey as an OAuth 2.0 client of a provider: the authorization URL, the code exchange, refresh
// and revocation, with each provider's quirks taken from its catalog entry.
import { isIP } from "node:net";
import type { ProviderDefinition } from "./catalog.js";

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
}

/** A provider refused for good (invalid_grant…): the user must connect again. */
export class PermanentProviderError extends Error {}
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
const TIMEOUT_MS = 10_000;

export function authorizationUrl(
  provider: ProviderDefinition,
  input: {
    clientId: string;
    redirectUri: string;
    scopes: string[];
    state: string;
    codeChallenge?: string;
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
    scope: scopes.length ? scopes.join(provider.scopeSeparator) : undefined,
    state: input.state,
    ...(input.codeChallenge ? { code_challenge: input.codeChallenge, code_challenge_method: "S256" } : {}),
  };
  for (const [name, value] of Object.entries(params))
    if (value !== undefined) url.searchParams.set(name, value);
  return url.href;
}

export function exchangeCode(
  provider: ProviderDefinition,
  credentials: ProviderCredentials,
  input: { code: string; redirectUri: string; codeVerifier?: string },
  now: number,
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
  );
}

export function refreshTokens(
  provider: ProviderDefinition,
  credentials: ProviderCredentials,
  refreshToken: string,
  now: number,
): Promise<ProviderTokens> {
  return tokenRequest(
    provider,
    credentials,
    { grant_type: "refresh_token", refresh_token: refreshToken },
    now,
  );
}

/** RFC 7009 revocation; resolves false when the provider has no revocation endpoint. */
export async function revokeToken(
  provider: ProviderDefinition,
  credentials: ProviderCredentials,
  token: string,
  hint: "access_token" | "refresh_token",
): Promise<boolean> {
  if (!provider.revocationUrl) return false;
  const response = await send(provider, provider.revocationUrl, credentials, {
    token,
    token_type_hint: hint,
  });
  await response.arrayBuffer();
  if (!response.ok) throw new TransientProviderError(`revocation answered ${response.status}`);
  return true;
}

async function tokenRequest(
  provider: ProviderDefinition,
  credentials: ProviderCredentials,
  params: Record<string, string>,
  now: number,
): Promise<ProviderTokens> {
  const response = await send(provider, provider.tokenUrl, credentials, params);
  const body = await parseBody(response);
  const error =
    typeof body.error === "string" ? body.error : body.ok === false ? "provider_error" : undefined;
  if (!response.ok || error) {
    const code = error ?? `http_${response.status}`;
    const message = `${code}${typeof body.error_description === "string" ? `: ${body.error_description.slice(0, 200)}` : ""}`;
    if (response.status >= 500 || response.status === 429 || TRANSIENT.has(code)) {
      throw new TransientProviderError(message);
    }
    // Any other refusal — a 4xx, or an error inside a 200 (GitHub, Slack) — will not heal by retrying.
    throw new PermanentProviderError(message);
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
  };
}

async function send(
  provider: ProviderDefinition,
  url: string,
  credentials: ProviderCredentials,
  params: Record<string, string>,
): Promise<Response> {
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
    return await fetch(url, {
      method: "POST",
      headers,
      body,
      redirect: "error",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    throw new TransientProviderError(
      `could not reach the provider: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** JSON, or form-encoded (GitHub without Accept: application/json). */
async function parseBody(response: Response): Promise<Record<string, unknown>> {
  const text = (await response.text()).slice(0, 100_000);
  const type = response.headers.get("content-type") ?? "";
  if (type.includes("application/x-www-form-urlencoded"))
    return Object.fromEntries(new URLSearchParams(text));
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return Object.fromEntries(new URLSearchParams(text));
  }
}

/**
 * SSRF guard for provider URLs (templated or configured): https only, and no loopback or private
 * address literal — unless the operator allows private networks (tests, on-premise providers).
 */
export function providerUrlProblem(value: string, allowPrivateNetworks: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "is not a URL";
  }
  if (allowPrivateNetworks)
    return url.protocol === "https:" || url.protocol === "http:" ? undefined : "must be http(s)";
  if (url.protocol !== "https:") return "must use https";
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".internal"))
    return "must not be a local host";
  if (isIP(host) && isPrivateAddress(host)) return "must not be a private or loopback address";
  return undefined;
}

function isPrivateAddress(ip: string): boolean {
  if (ip.includes(":"))
    return ip === "::1" || /^(fc|fd|fe80)/i.test(ip) || ip.startsWith("::ffff:") || ip === "::";
  const [a, b] = ip.split(".").map(Number) as [number, number];
  return (
    a === 10 ||
    a === 127 ||
    a === 0 ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 100 && b >= 64 && b <= 127)
  );
}
