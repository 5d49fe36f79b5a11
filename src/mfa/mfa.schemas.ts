// Request and response schemas of Kinde's MFA operations (/api/v1/mfa, /api/v1/organizations/
// {org_code}/mfa, /api/v1/users/{user_id}/mfa…, /api/v1/organizations/{org_code}/users/{user_id}/
// mfa…) and of passkey settings (/api/v1/passkey, /api/v1/organizations/{org_code}/passkey), field
// for field as Kinde's specification, plus the few reads Latchkey adds for its dashboard.
import { type Static, Type } from "@sinclair/typebox";
import { nullable, SuccessResponse } from "../management/schemas.js";

const Id = Type.String({ minLength: 1, maxLength: 100 });
const Code = SuccessResponse.properties;

export const UserIdParams = Type.Object({ user_id: Id });
export const UserFactorParams = Type.Object({ user_id: Id, factor_id: Id });
export const OrgCodeParams = Type.Object({ org_code: Id });
export const OrgUserParams = Type.Object({ org_code: Id, user_id: Id });
export const OrgUserFactorParams = Type.Object({ org_code: Id, user_id: Id, factor_id: Id });

const FactorType = Type.Union([
  Type.Literal("mfa:email"),
  Type.Literal("mfa:sms"),
  Type.Literal("mfa:authenticator_app"),
]);
// Three types exist; a longer list can only repeat one (repeats are dropped, not refused).
const EnabledFactors = Type.Array(FactorType, { maxItems: 10 });

export const MfaPolicy = Type.Union([
  Type.Literal("required"),
  Type.Literal("off"),
  Type.Literal("optional"),
]);
export const PasskeyPolicy = Type.Union([
  Type.Literal("off"),
  Type.Literal("optional"),
  Type.Literal("mandatory"),
]);

export const ReplaceMfaBody = Type.Object({
  policy: MfaPolicy,
  enabled_factors: EnabledFactors,
  is_recovery_codes_enabled: Type.Optional(
    Type.Boolean({ description: "Kinde's default: true when left out (this operation replaces)." }),
  ),
});

export const ReplaceOrganizationMfaBody = Type.Object({
  enabled_factors: EnabledFactors,
  is_recovery_codes_enabled: Type.Optional(Type.Boolean({ description: "true when left out, as Kinde." })),
});

export const MfaSettingsResponse = Type.Object({
  ...Code,
  mfa: Type.Object({
    policy: MfaPolicy,
    enabled_factors: Type.Array(FactorType),
    is_recovery_codes_enabled: Type.Boolean(),
  }),
});

export const OrganizationMfaResponse = Type.Object({
  ...Code,
  mfa: Type.Object({
    is_enforce_mfa: Type.Boolean({
      description: "Members signing in to the organization need a second factor (PATCH /organization).",
    }),
    enabled_factors: nullable(
      Type.Array(FactorType, { description: "null: the environment's (GET /api/v1/mfa)." }),
    ),
    is_recovery_codes_enabled: nullable(Type.Boolean({ description: "null: the environment's." })),
  }),
});

/** One factor as Kinde's get_user_mfa_response describes it. */
const Factor = Type.Object({
  id: Type.String(),
  type: Type.String({
    description: "email, sms or authenticator_app (the enabled_factors name without its mfa: prefix).",
  }),
  created_on: Type.String({ format: "date-time" }),
  name: Type.String({ description: "The address or number codes go to, or the app's label." }),
  is_verified: Type.Boolean(),
  usage_count: Type.Integer(),
  // Kinde's schema has no null here: a factor never used leaves it out.
  last_used_on: Type.Optional(Type.String({ format: "date-time" })),
});

export const UserMfaResponse = Type.Object({
  ...Code,
  mfa: Type.Optional(
    Type.Object(Factor.properties, {
      description:
        "Kinde answers one factor: the authenticator app when there is one, else the most recently used. Absent when the user has none.",
    }),
  ),
  factors: Type.Array(Factor, {
    description: "Latchkey extension: every factor of the user, oldest first.",
  }),
});

export const PasskeyBody = Type.Object({ policy: PasskeyPolicy });

export const PasskeyResponse = Type.Object({
  ...Code,
  enabled: Type.Boolean({ description: "policy is not off." }),
  policy: PasskeyPolicy,
});

export const OrganizationPasskeyBody = Type.Object({
  policy: Type.Optional(PasskeyPolicy),
  is_override_environment_passkey_settings: Type.Optional(Type.Boolean()),
});

export const OrganizationPasskeyResponse = Type.Object({
  ...Code,
  enabled: Type.Boolean(),
  policy: PasskeyPolicy,
  is_override_environment_passkey_settings: Type.Boolean(),
  environment_policy: PasskeyPolicy,
});

export const UpdatedOrganizationPasskeyResponse = Type.Object({
  ...Code,
  enabled: Type.Boolean(),
  policy: PasskeyPolicy,
  is_override_environment_passkey_settings: Type.Boolean(),
});

export type OrganizationPasskeyBody = Static<typeof OrganizationPasskeyBody>;
