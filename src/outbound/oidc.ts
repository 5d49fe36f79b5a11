// Latchkey as an OpenID Connect relying party of an upstream provider: the provider's discovery
// document (OIDC Discovery 1.0), its ID tokens (OIDC Core 1.0 §3.1.3.7) checked against its JWKS,
// and the `iss` authorization response parameter (RFC 9207). Every request goes through the SSRF
// guard in ./http.ts, bounded in time and size, so an issuer URL typed by an administrator is never
// a way into Latchkey's own network and a slow or broken provider costs one deadline.
//
// This file is the relying party's one entry point; the code lives in
//   oidc-discovery.ts  discovery documents      oidc-cache.ts  their cache and the JWKS cache
//   jwks.ts            fetching a key set       id-token.ts    ID tokens and RFC 9207 `iss`
//   oidc-error.ts      OidcError
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
export {
  ASYMMETRIC_ID_TOKEN_ALGS,
  checkAuthorizationResponseIssuer,
  type IdTokenClaims,
  type IdTokenExpectations,
  validateIdToken,
} from "./id-token.js";
export { OidcCache, type OidcCacheOptions } from "./oidc-cache.js";
export {
  type DiscoveryDocument,
  type DiscoveryOptions,
  discover,
  fetchDiscoveryDocument,
  MICROSOFT_TENANT_PLACEHOLDER,
  type OidcMetadata,
} from "./oidc-discovery.js";
export { OidcError, type OidcErrorReason } from "./oidc-error.js";
