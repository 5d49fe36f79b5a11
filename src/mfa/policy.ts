// What the environment and an organization ask of a sign-in beyond its first proof (issue 22), and
// how a sign-in's RFC 8176 `amr` values say whether that was given. Pure: the store reads the
// settings, the sign-in steps (src/sign-in/steps.ts) apply them.
import type { MfaFactorType } from "../storage/schema.js";

/** Kinde's PUT /api/v1/mfa `policy`. */
export type MfaPolicy = "off" | "optional" | "required";
/** Kinde's PUT /api/v1/passkey `policy`. */
export type PasskeyPolicy = "off" | "optional" | "mandatory";

export const MFA_POLICIES: readonly MfaPolicy[] = ["off", "optional", "required"];
export const PASSKEY_POLICIES: readonly PasskeyPolicy[] = ["off", "optional", "mandatory"];
export const MFA_FACTOR_TYPES: readonly MfaFactorType[] = ["mfa:email", "mfa:sms", "mfa:authenticator_app"];

export interface MfaSettings {
  policy: MfaPolicy;
  enabledFactors: readonly MfaFactorType[];
  recoveryCodes: boolean;
  passkeyPolicy: PasskeyPolicy;
}

/** An organization's own settings; null fields follow the environment. */
export interface OrganizationMfaSettings {
  /** Kinde's is_enforce_mfa: members signing in to it need a second factor whatever the environment says. */
  enforced: boolean;
  enabledFactors: readonly MfaFactorType[] | null;
  recoveryCodes: boolean | null;
  passkeyPolicy: PasskeyPolicy | null;
}

export const DEFAULT_MFA_SETTINGS: Readonly<MfaSettings> = Object.freeze({
  policy: "off",
  enabledFactors: Object.freeze(["mfa:authenticator_app"] as MfaFactorType[]),
  recoveryCodes: true,
  passkeyPolicy: "optional",
});

/**
 * The settings a sign-in meets: the environment's, made stricter by the organizations it concerns
 * — never looser (an organization cannot switch off what the environment requires). Factors an
 * organization names replace the environment's list, as Kinde's organization MFA does.
 */
export function effectiveMfaSettings(
  environment: Readonly<MfaSettings>,
  organizations: readonly OrganizationMfaSettings[],
): MfaSettings {
  let settings: MfaSettings = { ...environment };
  for (const org of organizations) {
    settings = {
      policy: org.enforced ? "required" : settings.policy,
      enabledFactors: org.enabledFactors ?? settings.enabledFactors,
      recoveryCodes: org.recoveryCodes ?? settings.recoveryCodes,
      passkeyPolicy: org.passkeyPolicy ?? settings.passkeyPolicy,
    };
  }
  // With the policy forced on and no factor left enabled, nobody could comply: the authenticator
  // app, which needs nothing from the business (no mail relay, no SMS provider), stays available.
  if (settings.policy !== "off" && settings.enabledFactors.length === 0)
    settings.enabledFactors = ["mfa:authenticator_app"];
  return settings;
}

/**
 * RFC 8176 values Latchkey writes: `pwd` a password, `email` a code sent by e-mail, `otp` an
 * authenticator app's code (or a recovery code), `sms` a code by text message, `hwk`/`swk` a passkey
 * (device-bound / synced), `ext` a connection's provider, and `mfa` once a second, independent
 * factor was proved in the same sign-in.
 */
export function secondFactorProved(amr: readonly string[]): boolean {
  return amr.includes("mfa");
}

/** The sign-in's amr after a second factor `values` was proved on top of `amr`. */
export function withSecondFactor(amr: readonly string[], values: readonly string[]): string[] {
  return [...new Set([...amr, ...values, "mfa"])];
}

/** Parses a stored JSON list of factor types, keeping only known ones (hand-written SQL included). */
export function parseFactorList(text: string | null): MfaFactorType[] | null {
  if (text === null) return null;
  try {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed)) return [];
    return MFA_FACTOR_TYPES.filter((type) => parsed.includes(type));
  } catch {
    return [];
  }
}

export function parseMfaPolicy(text: string | null | undefined): MfaPolicy {
  // A value no API wrote (hand-made SQL): asking for the second factor is the safe reading.
  return MFA_POLICIES.find((p) => p === text) ?? "required";
}

export function parsePasskeyPolicy(text: string | null | undefined): PasskeyPolicy | null {
  return PASSKEY_POLICIES.find((p) => p === text) ?? null;
}
