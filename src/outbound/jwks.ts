// A provider's JWKS, fetched through the SSRF guard in ./http.ts and bounded in size, keeping only
// public signing keys, and a JWT verified over such a set when several of its keys match the token.
// The set is cached per jwks_uri in ./oidc-cache.ts; ./id-token.ts decides when to refetch it.
import {
  createLocalJWKSet,
  type JWTPayload,
  type JWTVerifyOptions,
  errors as joseErrors,
  jwtVerify,
} from "jose";
import { type OutboundOptions, outboundRequest } from "./http.js";
import { errorText, jsonObject, OidcError } from "./oidc-error.js";

const JWKS_MAX_BYTES = 100_000;

/**
 * jwtVerify over a key set. Several keys can match a token (no kid, or a reused kid): jose then
 * throws an error that iterates over the candidates, and the token is valid if one of them
 * verifies it.
 */
export async function verifyWithKeySet(
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

export async function loadJwks(
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
