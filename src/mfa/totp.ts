// Authenticator apps (RFC 6238 TOTP: HMAC-SHA1, 6 digits, 30-second steps — what every app reads
// from an otpauth:// URI). The secret is 160 bits (RFC 4226 §4 recommends at least that) and is kept
// sealed with the master key; the QR code is drawn here as SVG, so the secret never leaves the
// server for an image service.
import { Secret, TOTP } from "otpauth";
import { renderSVG } from "uqr";

export const TOTP_PERIOD_SECONDS = 30;
/** Codes of the step before and after are accepted too (RFC 6238 §5.2: clock drift, typing time). */
const WINDOW = 1;

export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

function totp(secretBase32: string, label = "account", issuer = "Latchkey"): TOTP {
  return new TOTP({
    issuer,
    label,
    algorithm: "SHA1",
    digits: 6,
    period: TOTP_PERIOD_SECONDS,
    secret: Secret.fromBase32(secretBase32),
  });
}

/** The otpauth:// URI an authenticator app scans (Key Uri Format). */
export function totpUri(secretBase32: string, account: string, issuer: string): string {
  return totp(
    secretBase32,
    account.slice(0, 200) || "account",
    issuer.slice(0, 100) || "Latchkey",
  ).toString();
}

/** The URI as an inline SVG QR code. */
export function totpQrSvg(uri: string): string {
  return renderSVG(uri, { border: 2, ecc: "M" });
}

/**
 * The RFC 6238 time step a typed code belongs to (within ±WINDOW of now), or undefined when it is
 * not a current code. The caller records the step so the same code is refused the second time.
 */
export function totpStep(secretBase32: string, typed: string, nowSeconds: number): number | undefined {
  const token = typed.replace(/[\s-]/g, "");
  if (!/^\d{6}$/.test(token)) return undefined;
  const timestamp = nowSeconds * 1000;
  const delta = totp(secretBase32).validate({ token, timestamp, window: WINDOW });
  if (delta === null) return undefined;
  return Math.floor(nowSeconds / TOTP_PERIOD_SECONDS) + delta;
}

/** The code of a step (for tests and for showing nothing else). */
export function totpCodeAt(secretBase32: string, nowSeconds: number): string {
  return totp(secretBase32).generate({ timestamp: nowSeconds * 1000 });
}
