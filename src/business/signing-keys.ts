// Signing-key rotation shared by `latchkey keys rotate` and the Management API: the new key is
// published in the JWKS at once and signs only after `activateInSeconds`, so relying parties that
// cache the JWKS learn it first; the keys it replaces stay published as long as the longest token
// lifetime, so tokens they signed keep verifying (RFC 7517 §5, OIDC Core §10.1.1).
import type { SigningKeyRecord } from "../oauth/ports.js";
import type { Services } from "../services.js";

export const DEFAULT_ACTIVATE_IN_SECONDS = 300;

export async function rotateSigningKey(
  services: Pick<Services, "keys" | "applications">,
  activateInSeconds = DEFAULT_ACTIVATE_IN_SECONDS,
): Promise<SigningKeyRecord> {
  const keep = await services.applications.store.longestTokenLifetime();
  return services.keys.rotate(activateInSeconds, keep);
}

export type SigningKeyStatus = "next" | "current" | "retired";

/** Where a key is in its life: published and waiting, signing, or only verifying. */
export function signingKeyStatus(key: SigningKeyRecord, now: number): SigningKeyStatus {
  if (key.activeAt > now) return "next";
  if (key.retiredAt !== null && key.retiredAt <= now) return "retired";
  return "current";
}
