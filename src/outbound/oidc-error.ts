// The one error of the OpenID Connect relying party (discovery, JWKS, ID tokens, RFC 9207 `iss`),
// with a `reason` each caller maps to its own error vocabulary, and the small parsing helpers the
// fetching files share. Its messages are for logs: they may name hosts and addresses (never a token
// or secret) and must not be shown to API callers or end users.

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

export function jsonObject(text: string): Record<string, unknown> {
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new Error("not a JSON object");
  return parsed as Record<string, unknown>;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
