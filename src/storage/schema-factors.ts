// Row types of second factors and passkeys (issue 22): MFA factors, recovery codes, passkeys and
// their challenges, and the text-message outbox.
import type { Generated } from "kysely";

export type MfaFactorType = "mfa:authenticator_app" | "mfa:email" | "mfa:sms";

export interface MfaFactorsTable {
  id: string;
  user_id: string;
  type: MfaFactorType;
  name: string;
  secret_sealed: string | null;
  verified_at: number | null;
  last_used_step: number | null;
  usage_count: Generated<number>;
  last_used_at: number | null;
  created_at: number;
}

export interface MfaRecoveryCodesTable {
  code_hash: string;
  user_id: string;
  created_at: number;
  used_at: number | null;
}

export interface PasskeysTable {
  id: string;
  user_id: string;
  credential_id: string;
  public_key: string;
  sign_count: number;
  transports: Generated<string>;
  device_type: string;
  backed_up: Generated<number>;
  aaguid: string | null;
  name: string;
  created_at: number;
  last_used_at: number | null;
}

export type PasskeyChallengePurpose = "sign_in" | "second_factor" | "register";

/** WebAuthn challenges, hashed, single-use (0026; src/passkeys/passkeys.store.ts). */
export interface PasskeyChallengesTable {
  challenge_hash: string;
  purpose: PasskeyChallengePurpose;
  request_id: string | null;
  browser: string | null;
  session_id: string | null;
  user_id: string | null;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
}

export interface SmsOutboxTable {
  id: string;
  to_number: string;
  body_sealed: string;
  created_at: number;
}
