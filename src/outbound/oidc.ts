// Latchkey as an OpenID Connect relying party of an upstream provider: the provider's discovery
// document (OIDC Discovery 1.0), its ID tokens (OIDC Core 1.0 §3.1.3.7) checked against its JWKS,
// and the `iss` authorization response parameter (RFC 9207). Every request goes through the SSRF
// guard in ./http.ts, bounded in time and size, so an issuer URL typed by an administrator is never
// a way into Latchkey's own network and a slow or broken provider costs one deadline.
//
// Exported (stable names; connected apps and connections import them):
//   discover(issuer, options)              → OidcMetadata (every field OIDC Discovery §3 requires)
//   fetchDiscoveryDocument(issuer, options) → DiscoveryDocument (issuer checked; fields optional —
//                                            for OAuth-only uses that read a few endpoints)
//   validateIdToken(idToken, expectations) → IdTokenClaims (signature, alg, iss, aud, azp, nonce,
//                                            exp, iat all checked)
//   checkAuthorizationResponseIssuer(params, expectedIssuer, metadata)   RFC 9207
//   OidcCache      discovery documents and JWKS, per issuer / jwks_uri (one shared by default)
//   OidcError      every refusal, with a `reason` callers map to their own error vocabulary
//   ASYMMETRIC_ID_TOKEN_ALGS, MICROSOFT_TENANT_PLACEHOLDER
//
// OidcError messages are for logs: they may name hosts and addresses (never a token or secret) and
// must not be shown to API callers or end users.
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  type JWTPayload,
  type JWTVerifyOptions,
  errors as joseErrors,
  jwtVerify,
} from "jose";
import { type Clock, systemClock } from "../clock.js";
import { type OutboundOptions, outboundRequest, providerUrlProblem } from "./http.js";

export type OidcErrorReason =
  /** The discovery document could not be fetched or is not a JSON object. */
  | "discovery_failed"
  /** The document lacks a required field or has one of the wrong type. */
  | "invalid_metadata"
  /** The document is about another issuer (OIDC Discovery §4.3). */
  | "issuer_mismatch"
  /** The JWKS could not be fetched or is not a key set. */
  | "jwks_failed"
  /** No key of the provider's JWKS matches the token's kid, even after one refetch. */
  | "unknown_key"
  /** The ID token failed a check: signature, alg, a claim. */
  | "invalid_id_token"
  /** The authorization response's `iss` is wrong or missing (RFC 9207 §2.4). */
  | "authorization_response_issuer";

export class OidcError extends Error {
  constructor(
    readonly reason: OidcErrorReason,
    message: string,
  ) {
    super(message);
  }
}

/** A discovery document whose `issuer` was checked; every other field is as the provider sent it. */
export interface DiscoveryDocument {
  /** The provider's issuer exactly as its document spells it (ID tokens must carry this `iss`). */
  issuer: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  userinfo_endpoint?: string;
  jwks_uri?: string;
  revocation_endpoint?: string;
  end_session_endpoint?: string;
  response_types_supported?: string[];
  response_modes_supported?: string[];
  subject_types_supported?: string[];
  id_token_signing_alg_values_supported?: string[];
  scopes_supported?: string[];
  claims_supported?: string[];
  code_challenge_methods_supported?: string[];
  token_endpoint_auth_methods_supported?: string[];
  /** RFC 9207 §3: the provider puts `iss` in every authorization response. */
  authorization_response_iss_parameter_supported?: boolean;
  /** The whole document as received (provider-specific fields). */
  raw: Readonly<Record<string, unknown>>;
}

/** A discovery document with every field OIDC Discovery 1.0 §3 requires of a code-flow provider. */
export interface OidcMetadata extends DiscoveryDocument {
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  response_types_supported: string[];
  subject_types_supported: string[];
  id_token_signing_alg_values_supported: string[];
}

const STRING_FIELDS = [
  "authorization_endpoint",
  "token_endpoint",
  "userinfo_endpoint",
  "jwks_uri",
  "revocation_endpoint",
  "end_session_endpoint",
] as const;
const LIST_FIELDS = [
  "response_types_supported",
  "response_modes_supported",
  "subject_types_supported",
  "id_token_signing_alg_values_supported",
  "scopes_supported",
  "claims_supported",
  "code_challenge_methods_supported",
  "token_endpoint_auth_methods_supported",
] as const;
/** OIDC Discovery 1.0 §3 REQUIRED (token_endpoint too: it is only optional for implicit-only OPs). */
const REQUIRED_FIELDS = [
  "authorization_endpoint",
  "token_endpoint",
  "jwks_uri",
  "response_types_supported",
  "subject_types_supported",
  "id_token_signing_alg_values_supported",
] as const;

/**
 * Signature algorithms an ID token may use. HS* are left out on purpose: OIDC Core §10.1 keys them
 * with the client secret, no provider we talk to does that by default, and accepting them is what
 * lets a token "signed" with the provider's public key pass (RFC 8725 §2.1, §3.1). `none` never.
 */
export const ASYMMETRIC_ID_TOKEN_ALGS: ReadonlySet<string> = new Set([
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
]);

/** Microsoft Entra ID's multi-tenant issuer template (`…/{tenantid}/v2.0`). */
export const MICROSOFT_TENANT_PLACEHOLDER = "{tenantid}";

const DISCOVERY_MAX_BYTES = 100_000;
const JWKS_MAX_BYTES = 100_000;
/** Leeway for exp and iat (clock skew between Latchkey and the provider), in seconds. */
const DEFAULT_LEEWAY_SECONDS = 60;

// ---------------------------------------------------------------------------------------------------
// The cache

export interface OidcCacheOptions {
  /** Seconds a discovery document is reused for its issuer. Default 3600. */
  discoveryMaxAgeSeconds?: number;
  /** Seconds a JWKS is reused before it is fetched again. Default 600. */
  jwksMaxAgeSeconds?: number;
  /**
   * An unknown `kid` makes the JWKS be fetched again (the provider rotated its key), but not if the
   * last fetch was less than this many seconds ago: a stream of tokens with made-up kids must not
   * turn Latchkey into a load generator against the provider. Default 30.
   */
  jwksRefetchCooldownSeconds?: number;
  /** Entries kept of each kind; the oldest is dropped beyond. Default 500. */
  maxEntries?: number;
  /** Default the system clock. */
  clock?: Clock;
}

interface CachedDocument {
  document: DiscoveryDocument;
  fetchedAt: number;
}

interface CachedJwks {
  keys: ReturnType<typeof createLocalJWKSet>;
  fetchedAt: number;
}

/**
 * Discovery documents per issuer and JWKS per jwks_uri. Concurrent misses for one entry share one
 * request. Entries are keyed with the SSRF policy too: a document read while private networks were
 * allowed is never served to a caller that forbids them.
 */
export class OidcCache {
  readonly discoveryMaxAgeSeconds: number;
  readonly jwksMaxAgeSeconds: number;
  readonly jwksRefetchCooldownSeconds: number;
  readonly clock: Clock;
  private readonly maxEntries: number;
  private readonly documents = new Map<string, CachedDocument>();
  private readonly documentsInflight = new Map<string, Promise<DiscoveryDocument>>();
  private readonly jwks = new Map<string, CachedJwks>();
  private readonly jwksInflight = new Map<string, Promise<CachedJwks>>();
  /** When each JWKS was last asked for, successfully or not (the refetch cooldown counts from it). */
  private readonly jwksAttempts = new Map<string, number>();

  constructor(options: OidcCacheOptions = {}) {
    this.discoveryMaxAgeSeconds = options.discoveryMaxAgeSeconds ?? 3600;
    this.jwksMaxAgeSeconds = options.jwksMaxAgeSeconds ?? 600;
    this.jwksRefetchCooldownSeconds = options.jwksRefetchCooldownSeconds ?? 30;
    this.maxEntries = options.maxEntries ?? 500;
    this.clock = options.clock ?? systemClock;
  }

  /** Forgets everything (tests; an administrator changed a provider). */
  clear(): void {
    this.documents.clear();
    this.jwks.clear();
    this.jwksAttempts.clear();
  }

  /** @internal */
  async document(key: string, load: () => Promise<DiscoveryDocument>): Promise<DiscoveryDocument> {
    const cached = this.documents.get(key);
    if (cached && this.clock.now() - cached.fetchedAt < this.discoveryMaxAgeSeconds) return cached.document;
    return singleFlight(this.documentsInflight, key, async () => {
      const document = await load();
      remember(this.documents, key, { document, fetchedAt: this.clock.now() }, this.maxEntries);
      return document;
    });
  }

  /**
   * @internal The key set of a jwks_uri. `refetch` asks for a fresh copy (an unknown kid), which
   * happens only once the cooldown since the last attempt has passed; otherwise the cached copy is
   * returned and `refetched` is false.
   */
  async keySet(
    key: string,
    load: () => Promise<ReturnType<typeof createLocalJWKSet>>,
    refetch: boolean,
  ): Promise<{ keys: CachedJwks["keys"]; refetched: boolean }> {
    const now = this.clock.now();
    const cached = this.jwks.get(key);
    if (cached) {
      const stale = now - cached.fetchedAt >= this.jwksMaxAgeSeconds;
      const cooling = now - (this.jwksAttempts.get(key) ?? 0) < this.jwksRefetchCooldownSeconds;
      if (!stale && (!refetch || cooling)) return { keys: cached.keys, refetched: false };
    }
    const fresh = await singleFlight(this.jwksInflight, key, async () => {
      remember(this.jwksAttempts, key, this.clock.now(), this.maxEntries);
      const keys = await load();
      const entry = { keys, fetchedAt: this.clock.now() };
      remember(this.jwks, key, entry, this.maxEntries);
      return entry;
    });
    return { keys: fresh.keys, refetched: true };
  }
}

const sharedCache = new OidcCache();

function singleFlight<T>(inflight: Map<string, Promise<T>>, key: string, work: () => Promise<T>): Promise<T> {
  const running = inflight.get(key);
  if (running) return running;
  const started = work().finally(() => inflight.delete(key));
  inflight.set(key, started);
  return started;
}

function remember<T>(map: Map<string, T>, key: string, value: T, maxEntries: number): void {
  map.delete(key);
  map.set(key, value);
  // Map iteration is insertion order: the first key is the least recently stored.
  while (map.size > maxEntries) map.delete(map.keys().next().value as string);
}

// ---------------------------------------------------------------------------------------------------
// Discovery

export interface DiscoveryOptions {
  http: OutboundOptions;
  /** The cache to use (default one shared by the process), or false to read afresh and store nothing. */
  cache?: OidcCache | false;
  /**
   * Accept a document whose issuer is Microsoft's multi-tenant template
   * (`https://login.microsoftonline.com/{tenantid}/v2.0`) when asked at `…/common/v2.0`,
   * `…/organizations/v2.0` or `…/consumers/v2.0`: the placeholder stands for the segment asked.
   * ID tokens from such a provider need validateIdToken's `tenants`.
   */
  allowTenantTemplate?: boolean;
}

/** The provider's discovery document with every field OIDC Discovery 1.0 §3 requires. */
export async function discover(issuer: string, options: DiscoveryOptions): Promise<OidcMetadata> {
  const document = await fetchDiscoveryDocument(issuer, options);
  for (const field of REQUIRED_FIELDS) {
    if (document[field] === undefined) {
      throw new OidcError("invalid_metadata", `the discovery document of ${document.issuer} has no ${field}`);
    }
  }
  // Endpoints Latchkey itself calls or sends browsers to: https (unless private networks are
  // allowed), checked now so a bad document fails at configuration, not at someone's sign-in.
  for (const field of ["authorization_endpoint", "token_endpoint", "jwks_uri"] as const) {
    const problem = providerUrlProblem(document[field]!, options.http.allowPrivateNetworks);
    if (problem) throw new OidcError("invalid_metadata", `${field} of ${document.issuer} ${problem}`);
  }
  return document as OidcMetadata;
}

/**
 * The discovery document of `issuer` (OIDC Discovery 1.0 §4), its `issuer` checked (§4.3) and the
 * fields it has type-checked; none is required beyond `issuer`. For callers that only read a few
 * endpoints (connected apps); sign-in uses discover().
 */
export async function fetchDiscoveryDocument(
  issuer: string,
  options: DiscoveryOptions,
): Promise<DiscoveryDocument> {
  // §4.1: the well-known path is appended to the issuer after removing any trailing slash.
  const asked = issuer.replace(/\/+$/, "");
  const problem = providerUrlProblem(asked, options.http.allowPrivateNetworks);
  if (problem) throw new OidcError("discovery_failed", `issuer ${problem}`);
  const url = new URL(asked);
  // §2 (and RFC 8414 §2): an issuer identifier has no query or fragment.
  if (url.search || url.hash)
    throw new OidcError("discovery_failed", "issuer must not have a query or fragment");
  const load = () => loadDocument(asked, options);
  if (options.cache === false) return load();
  const cache = options.cache ?? sharedCache;
  const key = `${options.http.allowPrivateNetworks}|${options.allowTenantTemplate === true}|${asked}`;
  return cache.document(key, load);
}

async function loadDocument(asked: string, options: DiscoveryOptions): Promise<DiscoveryDocument> {
  let raw: Record<string, unknown>;
  try {
    const response = await outboundRequest(
      `${asked}/.well-known/openid-configuration`,
      { method: "GET", headers: { accept: "application/json" } },
      {
        ...options.http,
        maxResponseBytes: Math.min(options.http.maxResponseBytes ?? Infinity, DISCOVERY_MAX_BYTES),
      },
    );
    if (response.status !== 200) throw new Error(`answered HTTP ${response.status}`);
    raw = jsonObject(response.body);
  } catch (error) {
    throw new OidcError(
      "discovery_failed",
      `the discovery document of ${asked} could not be read: ${errorText(error)}`,
    );
  }
  // §4.3: the document must be about the issuer that was asked — otherwise whoever controls one
  // issuer's document could make Latchkey trust tokens of another. A trailing slash is not a
  // different issuer here (administrators type either); ID tokens are then held to the document's
  // own spelling.
  const named = raw.issuer;
  if (
    typeof named !== "string" ||
    !issuerMatches(named.replace(/\/+$/, ""), asked, options.allowTenantTemplate)
  ) {
    throw new OidcError(
      "issuer_mismatch",
      `the discovery document at ${asked} names the issuer ${typeof named === "string" ? named.slice(0, 200) : "(none)"}`,
    );
  }
  const document: DiscoveryDocument = { issuer: named, raw };
  for (const field of STRING_FIELDS) {
    const value = raw[field];
    if (value === undefined) continue;
    if (typeof value !== "string" || !URL.canParse(value)) {
      throw new OidcError("invalid_metadata", `${field} of ${named} is not a URL`);
    }
    document[field] = value;
  }
  for (const field of LIST_FIELDS) {
    const value = raw[field];
    if (value === undefined) continue;
    if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
      throw new OidcError("invalid_metadata", `${field} of ${named} is not a list of strings`);
    }
    document[field] = value as string[];
  }
  const issParameter = raw.authorization_response_iss_parameter_supported;
  if (issParameter !== undefined) {
    if (typeof issParameter !== "boolean") {
      throw new OidcError(
        "invalid_metadata",
        `authorization_response_iss_parameter_supported of ${named} is not a boolean`,
      );
    }
    document.authorization_response_iss_parameter_supported = issParameter;
  }
  return document;
}

function issuerMatches(named: string, asked: string, allowTenantTemplate: boolean | undefined): boolean {
  if (named === asked) return true;
  if (!allowTenantTemplate || !named.includes(MICROSOFT_TENANT_PLACEHOLDER)) return false;
  // The placeholder stands for exactly one path segment of the issuer asked, and only the
  // multi-tenant ones: a document for tenant X must spell X out.
  const [before, after, ...more] = named.split(MICROSOFT_TENANT_PLACEHOLDER);
  if (more.length > 0 || before === undefined || after === undefined) return false;
  if (!asked.startsWith(before) || !asked.endsWith(after)) return false;
  const segment = asked.slice(before.length, asked.length - after.length);
  return ["common", "organizations", "consumers"].includes(segment);
}

// ---------------------------------------------------------------------------------------------------
// ID tokens

export interface IdTokenExpectations {
  /** The provider's metadata (from discover()): issuer, jwks_uri and the algs it signs with. */
  metadata: Pick<DiscoveryDocument, "issuer" | "jwks_uri" | "id_token_signing_alg_values_supported">;
  /** Latchkey's client id at the provider: must be in `aud` (and be `azp` when there are several). */
  clientId: string;
  /**
   * The nonce sent in the authorization request, which the token must carry (OIDC Core §3.1.3.7
   * point 11); null when the request sent none (the token's nonce is then not looked at).
   */
  nonce: string | null;
  http: OutboundOptions;
  /** Default the shared cache. */
  cache?: OidcCache;
  /** Default the system clock. */
  clock?: Clock;
  /** Clock skew allowed on exp and iat, in seconds. Default 60. */
  leewaySeconds?: number;
  /**
   * Required when the issuer is Microsoft's multi-tenant template: the token's `tid` replaces
   * `{tenantid}` in the expected issuer, and must be one of these tenant ids (case-insensitive),
   * or any tenant with "any". Ignored for ordinary issuers.
   */
  tenants?: "any" | readonly string[];
}

/** The claims of a verified ID token (OIDC Core §2); every other claim is passed through. */
export interface IdTokenClaims extends JWTPayload {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  nonce?: string;
  azp?: string;
  tid?: string;
}

const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Verifies an upstream ID token as OIDC Core §3.1.3.7 says and returns its claims: the signature
 * with a key from the provider's JWKS (fetched through the SSRF guard, refetched once when the kid
 * is unknown), an `alg` the provider's metadata lists (default RS256) and never none or HS*, `iss`,
 * `aud` (and `azp`), `nonce`, `exp` and `iat`. Throws OidcError otherwise.
 */
export async function validateIdToken(
  idToken: string,
  expectations: IdTokenExpectations,
): Promise<IdTokenClaims> {
  const { metadata, clientId } = expectations;
  const cache = expectations.cache ?? sharedCache;
  const clock = expectations.clock ?? cache.clock;
  const leeway = expectations.leewaySeconds ?? DEFAULT_LEEWAY_SECONDS;
  if (!metadata.jwks_uri) throw new OidcError("invalid_metadata", `${metadata.issuer} publishes no jwks_uri`);

  // Point 7: the alg is one the provider says it signs ID tokens with (RS256 when it says nothing,
  // OIDC Discovery §3), and one whose key is public.
  const listed = metadata.id_token_signing_alg_values_supported ?? ["RS256"];
  const allowed = listed.filter((alg) => ASYMMETRIC_ID_TOKEN_ALGS.has(alg));
  if (allowed.length === 0) {
    throw new OidcError(
      "invalid_metadata",
      `${metadata.issuer} signs ID tokens with no asymmetric algorithm`,
    );
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(idToken);
  } catch {
    throw new OidcError("invalid_id_token", "the ID token is not a JWS");
  }
  if (typeof header.alg !== "string" || !allowed.includes(header.alg)) {
    // Refused before any key is looked up: a none/HS256 token never makes us fetch anything.
    throw new OidcError(
      "invalid_id_token",
      `the ID token's alg ${String(header.alg).slice(0, 20)} is not one of ${allowed.join(", ")}`,
    );
  }

  const jwksUri = metadata.jwks_uri;
  const key = `${expectations.http.allowPrivateNetworks}|${jwksUri}`;
  const load = () => loadJwks(jwksUri, expectations.http);
  let payload: JWTPayload;
  let { keys, refetched } = await cache.keySet(key, load, false);
  for (;;) {
    try {
      payload = await verifyWithKeySet(idToken, keys, {
        algorithms: allowed,
        currentDate: new Date(clock.now() * 1000),
        clockTolerance: leeway,
        // Point 10 (exp), OIDC Core §2 (iss, sub, aud, exp, iat are REQUIRED).
        requiredClaims: ["iss", "sub", "aud", "exp", "iat"],
      });
      break;
    } catch (error) {
      if (error instanceof joseErrors.JWKSNoMatchingKey) {
        // The provider may have rotated its key since we fetched the set: ask again, once.
        if (!refetched) {
          ({ keys, refetched } = await cache.keySet(key, load, true));
          if (refetched) continue;
        }
        throw new OidcError(
          "unknown_key",
          `no key of ${jwksUri} matches the ID token (kid ${String(header.kid ?? "none").slice(0, 64)})`,
        );
      }
      throw new OidcError("invalid_id_token", `the ID token was refused: ${joseMessage(error)}`);
    }
  }

  // Point 2: iss is exactly the issuer of the provider (for Microsoft's template, with the token's
  // own tenant put in, and that tenant one we accept).
  let expectedIssuer = metadata.issuer;
  if (expectedIssuer.includes(MICROSOFT_TENANT_PLACEHOLDER)) {
    const { tenants } = expectations;
    if (tenants === undefined) {
      throw new OidcError(
        "invalid_id_token",
        `${metadata.issuer} is a tenant template and no tenants were given`,
      );
    }
    const tid = payload.tid;
    if (typeof tid !== "string" || !TENANT_ID.test(tid)) {
      throw new OidcError("invalid_id_token", "the ID token has no valid tid for a multi-tenant issuer");
    }
    if (
      tenants !== "any" &&
      !tenants.some((allowedTenant) => allowedTenant.toLowerCase() === tid.toLowerCase())
    ) {
      throw new OidcError("invalid_id_token", `the ID token's tenant ${tid} is not allowed`);
    }
    expectedIssuer = expectedIssuer.replace(MICROSOFT_TENANT_PLACEHOLDER, tid);
  }
  if (payload.iss !== expectedIssuer) {
    throw new OidcError(
      "invalid_id_token",
      `the ID token's iss ${String(payload.iss).slice(0, 200)} is not ${expectedIssuer}`,
    );
  }
  if (typeof payload.sub !== "string" || payload.sub === "") {
    throw new OidcError("invalid_id_token", "the ID token has no sub");
  }
  // Points 3-5: aud contains our client id; with several audiences azp must be us; an azp present
  // must be us anyway.
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (!audiences.includes(clientId))
    throw new OidcError("invalid_id_token", "the ID token is for another audience");
  if (audiences.length > 1 && payload.azp === undefined) {
    throw new OidcError("invalid_id_token", "the ID token has several audiences and no azp");
  }
  if (payload.azp !== undefined && payload.azp !== clientId) {
    throw new OidcError("invalid_id_token", "the ID token's azp is another client");
  }
  // Point 10 covers exp (jwtVerify); iat must not be in the future beyond the leeway (a token
  // minted "later" is a clock problem or a forgery, OIDC Core §3.1.3.7 point 9 lets us refuse it).
  if (typeof payload.iat !== "number" || payload.iat > clock.now() + leeway) {
    throw new OidcError("invalid_id_token", "the ID token's iat is in the future");
  }
  // Point 11: the nonce ties the token to the authorization request this browser made.
  if (expectations.nonce !== null && payload.nonce !== expectations.nonce) {
    throw new OidcError(
      "invalid_id_token",
      payload.nonce === undefined ? "the ID token has no nonce" : "the ID token's nonce does not match",
    );
  }
  return payload as IdTokenClaims;
}

/**
 * jwtVerify over a key set. Several keys can match a token (no kid, or a reused kid): jose then
 * throws an error that iterates over the candidates, and the token is valid if one of them
 * verifies it.
 */
async function verifyWithKeySet(
  idToken: string,
  keys: ReturnType<typeof createLocalJWKSet>,
  options: JWTVerifyOptions,
): Promise<JWTPayload> {
  try {
    return (await jwtVerify(idToken, keys, options)).payload;
  } catch (error) {
    if (!(error instanceof joseErrors.JWKSMultipleMatchingKeys)) throw error;
    for await (const candidate of error) {
      try {
        return (await jwtVerify(idToken, candidate, options)).payload;
      } catch (inner) {
        if (!(inner instanceof joseErrors.JWSSignatureVerificationFailed)) throw inner;
      }
    }
    throw new joseErrors.JWSSignatureVerificationFailed();
  }
}

async function loadJwks(
  jwksUri: string,
  http: OutboundOptions,
): Promise<ReturnType<typeof createLocalJWKSet>> {
  let body: Record<string, unknown>;
  try {
    const response = await outboundRequest(
      jwksUri,
      { method: "GET", headers: { accept: "application/json, application/jwk-set+json" } },
      { ...http, maxResponseBytes: Math.min(http.maxResponseBytes ?? Infinity, JWKS_MAX_BYTES) },
    );
    if (response.status !== 200) throw new Error(`answered HTTP ${response.status}`);
    body = jsonObject(response.body);
  } catch (error) {
    throw new OidcError("jwks_failed", `the JWKS at ${jwksUri} could not be read: ${errorText(error)}`);
  }
  const keys = body.keys;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === "object" && k !== null && !Array.isArray(k))) {
    throw new OidcError("jwks_failed", `the JWKS at ${jwksUri} has no list of keys`);
  }
  // Only public signing keys: a symmetric ("oct") key in a published set is a mistake at best.
  const usable = (keys as Record<string, unknown>[]).filter(
    (k) => k.kty !== "oct" && (k.use === undefined || k.use === "sig"),
  );
  try {
    return createLocalJWKSet({ keys: usable as never[] });
  } catch (error) {
    throw new OidcError("jwks_failed", `the JWKS at ${jwksUri} is malformed: ${errorText(error)}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// RFC 9207

/**
 * RFC 9207 §2.4: when the authorization response carries `iss` it must be the issuer the request
 * went to (a mix-up attack otherwise: another provider's response replayed at this callback); when
 * the provider's metadata promises `iss` (authorization_response_iss_parameter_supported), a
 * response without it is refused. Compared as plain strings (RFC 9207 §2.4, RFC 3986 §6.2.1).
 * Throws OidcError("authorization_response_issuer").
 */
export function checkAuthorizationResponseIssuer(
  params: URLSearchParams | Readonly<Record<string, unknown>>,
  expectedIssuer: string,
  metadata: Pick<DiscoveryDocument, "authorization_response_iss_parameter_supported"> | undefined,
): void {
  let values: unknown[];
  if (params instanceof URLSearchParams) values = params.getAll("iss");
  else values = params.iss === undefined ? [] : Array.isArray(params.iss) ? params.iss : [params.iss];
  if (values.length === 0) {
    if (metadata?.authorization_response_iss_parameter_supported === true) {
      throw new OidcError("authorization_response_issuer", "the authorization response has no iss");
    }
    return;
  }
  // A repeated parameter is malformed (RFC 6749 §3.1), not a list to pick from.
  if (values.length > 1 || values[0] !== expectedIssuer) {
    throw new OidcError(
      "authorization_response_issuer",
      `the authorization response's iss is not ${expectedIssuer}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------

function jsonObject(text: string): Record<string, unknown> {
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new Error("not a JSON object");
  return parsed as Record<string, unknown>;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** jose's message, which names the check that failed and never the token. */
function joseMessage(error: unknown): string {
  if (error instanceof joseErrors.JOSEError) return `${error.code}: ${error.message}`;
  return errorText(error);
}
