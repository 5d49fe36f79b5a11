// PKCE (RFC 7636), S256 only: `plain` would expose the verifier (RFC 9700 §2.1.1).
import { createHash } from "node:crypto";
import { safeEqual } from "../crypto/random.js";
import { OAuthError } from "./errors.js";

const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
const S256_CHALLENGE = /^[A-Za-z0-9\-_]{43}$/;

/** Validates the authorization request's challenge; returns it, or undefined when none was sent. */
export function parseChallenge(
  challenge: string | undefined,
  method: string | undefined,
): string | undefined {
  if (challenge === undefined) {
    if (method !== undefined)
      throw new OAuthError("invalid_request", "code_challenge_method without code_challenge");
    return undefined;
  }
  // §4.3: an absent method means plain, which we refuse like any other transform but S256.
  if (method !== "S256")
    throw new OAuthError(
      "invalid_request",
      "Transform algorithm not supported; use code_challenge_method=S256",
    );
  if (!S256_CHALLENGE.test(challenge))
    throw new OAuthError("invalid_request", "code_challenge must be 43 base64url characters");
  return challenge;
}

/** §4.6: the verifier must match; a missing or malformed verifier fails the same way. */
export function verifyChallenge(challenge: string, verifier: string | undefined): void {
  if (verifier === undefined || !VERIFIER.test(verifier)) {
    throw new OAuthError("invalid_grant", "code_verifier is missing or malformed");
  }
  const computed = createHash("sha256").update(verifier, "ascii").digest("base64url");
  if (!safeEqual(computed, challenge))
    throw new OAuthError("invalid_grant", "code_verifier does not match the code_challenge");
}
