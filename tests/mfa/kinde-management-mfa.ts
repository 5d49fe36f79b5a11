// Runs Kinde's Management API client (@kinde/management-api-js 0.18, unchanged) against Latchkey's
// MFA and passkey operations, configured as its README says, in its own process (see
// tests/helpers/kinde-script.ts). Arguments: the user id, the id of their authenticator app, an
// organization code the user belongs to. Prints one JSON line per step: {step, ok, value | error}.
import * as kinde from "@kinde/management-api-js";
import type {
  GetOrganizationPasskeyData,
  GetOrganizationPasskeyResponse,
  GetOrgUserMfaData,
  GetOrgUserMfaResponse,
  GetPasskeyResponse,
  GetUsersMfaData,
  GetUsersMfaResponse,
  ReplaceMfaData,
  ReplaceMfaResponse,
  ReplaceOrganizationMfaData,
  ReplaceOrganizationMfaResponse,
  ResetUsersMfaAllData,
  ResetUsersMfaAllResponse,
  ResetUsersMfaData,
  ResetUsersMfaResponse,
  UpdateOrganizationData,
  UpdateOrganizationPasskeyData,
  UpdateOrganizationPasskeyResponse,
  UpdateOrganizationResponse,
  UpdatePasskeyData,
  UpdatePasskeyResponse,
} from "../../node_modules/@kinde/management-api-js/dist/api/types.gen.js";
import { step } from "../helpers/kinde-script.js";

const { Users, Mfa, Environments, Organizations, init } = kinde as unknown as {
  Users: {
    getUsersMfa(data: GetUsersMfaData): Promise<GetUsersMfaResponse>;
    resetUsersMfa(data: ResetUsersMfaData): Promise<ResetUsersMfaResponse>;
    resetUsersMfaAll(data: ResetUsersMfaAllData): Promise<ResetUsersMfaAllResponse>;
  };
  Mfa: { replaceMfa(data: ReplaceMfaData): Promise<ReplaceMfaResponse> };
  Environments: {
    getPasskey(): Promise<GetPasskeyResponse>;
    updatePasskey(data: UpdatePasskeyData): Promise<UpdatePasskeyResponse>;
  };
  Organizations: {
    getOrgUserMfa(data: GetOrgUserMfaData): Promise<GetOrgUserMfaResponse>;
    replaceOrganizationMfa(data: ReplaceOrganizationMfaData): Promise<ReplaceOrganizationMfaResponse>;
    updateOrganization(data: UpdateOrganizationData): Promise<UpdateOrganizationResponse>;
    getOrganizationPasskey(data: GetOrganizationPasskeyData): Promise<GetOrganizationPasskeyResponse>;
    updateOrganizationPasskey(
      data: UpdateOrganizationPasskeyData,
    ): Promise<UpdateOrganizationPasskeyResponse>;
  };
  init: () => void;
};

const [userId = "", factorId = "", orgCode = ""] = process.argv.slice(2);

init();

await step("getUsersMfa", () => Users.getUsersMfa({ userId }));
await step("getOrgUserMfa", () => Organizations.getOrgUserMfa({ orgCode, userId }));
await step("getUsersMfa:unknown-user", () => Users.getUsersMfa({ userId: "kp_nobody" }));
await step("resetUsersMfa:unknown-factor", () =>
  Users.resetUsersMfa({ userId, factorId: `mfa_${"0".repeat(32)}` }),
);
await step("resetUsersMfa", () => Users.resetUsersMfa({ userId, factorId }));
await step("getUsersMfa:after-one", () => Users.getUsersMfa({ userId }));
await step("resetUsersMfaAll", () => Users.resetUsersMfaAll({ userId }));
await step("getUsersMfa:after-all", () => Users.getUsersMfa({ userId }));

await step("replaceMfa", () =>
  Mfa.replaceMfa({
    requestBody: {
      policy: "optional",
      enabled_factors: ["mfa:authenticator_app", "mfa:email"],
      is_recovery_codes_enabled: false,
    },
  }),
);
await step("replaceMfa:bad-policy", () =>
  Mfa.replaceMfa({
    requestBody: { policy: "always" as "required", enabled_factors: ["mfa:email"] },
  }),
);
await step("replaceOrganizationMfa", () =>
  Organizations.replaceOrganizationMfa({ orgCode, requestBody: { enabled_factors: ["mfa:email"] } }),
);
await step("updateOrganization:enforce", () =>
  Organizations.updateOrganization({ orgCode, requestBody: { is_enforce_mfa: true } }),
);

await step("updatePasskey", () => Environments.updatePasskey({ requestBody: { policy: "mandatory" } }));
await step("getPasskey", () => Environments.getPasskey());
await step("updateOrganizationPasskey", () =>
  Organizations.updateOrganizationPasskey({
    orgCode,
    requestBody: { policy: "off", is_override_environment_passkey_settings: true },
  }),
);
await step("getOrganizationPasskey", () => Organizations.getOrganizationPasskey({ orgCode }));
