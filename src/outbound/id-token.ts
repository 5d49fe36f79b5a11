// Upstream ID tokens checked as OIDC Core 1.0 §3.1.3.7 says — signature against the provider's
// JWKS, an asymmetric alg the provider lists, iss (Microsoft's tenant template included), aud and
// azp, nonce, exp and iat — and the `iss` authorization response parameter (RFC 9207), the other
// check that a response came from the provider the request went to.
import { decodeProtectedHeader, type JWTPayload, errors as joseErrors } from "jose";
import type { Clock } from "../clock.js";
import type { OutboundOptions } from "./http.js";
import { loadJwks, verifyWithKeySet } from "./jwks.js";
import { type OidcCache, sharedCache } from "./oidc-cache.js";
import { type DiscoveryDocument, MICROSOFT_TENANT_PLACEHOLDER } from "./oidc-discovery.js";
import { errorText, OidcError } from "./oidc-error.js";

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

/** Leeway for exp and iat (clock skew between Latchkey and the provider), in seconds. */
const DEFAULT_LEEWAY_SECONDS = 60;

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

/** jose's message, which names the check that failed and never the token. */
function joseMessage(error: unknown): string {
  if (error instanceof joseErrors.JOSEError) return `${error.code}: ${error.message}`;
  return errorText(error);
}
