// Identifiers and bearer secrets in Kinde's formats (COMPAT.md §2.3), all from the CSPRNG.
import { createHash, randomBytes, randomInt, timingSafeEqual } from "node:crypto";

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}

/** Unbiased alphanumeric string (52 characters ≈ 309 bits for client secrets). */
export function randomAlphanumeric(length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

/** 256-bit URL-safe token for codes, refresh tokens and session ids (RFC 6749 §10.10). */
export function randomToken(): string {
  return randomBytes(32).toString("base64url");
}

export function sha256(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("base64url");
}

/** Constant-time comparison; hashing first hides the lengths as well as the contents. */
export function safeEqual(a: string, b: string): boolean {
  const left = createHash("sha256").update(a, "utf8").digest();
  const right = createHash("sha256").update(b, "utf8").digest();
  return timingSafeEqual(left, right);
}

export const newId = {
  user: () => `kp_${randomHex(16)}`,
  clientId: () => randomHex(16),
  clientSecret: () => randomAlphanumeric(52),
  apiId: () => randomHex(16),
  apiScope: () => `api_scope_${randomHex(16)}`,
  identity: () => `identity_${randomHex(16)}`,
  session: () => `session_0x${randomHex(16)}`,
  business: () => `bus_${randomHex(6).slice(0, 11)}`,
  organization: () => `org_${randomHex(6).slice(0, 11)}`,
};
