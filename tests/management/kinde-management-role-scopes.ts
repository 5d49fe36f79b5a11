// Runs Kinde's Management API client (@kinde/management-api-js 0.18, unchanged) against Latchkey
// for role scopes and organization-user API scopes — configured as its README says, in its own
// process so NODE_EXTRA_CA_CERTS applies. Prints one JSON line per step: {step, ok, value | error}.
// Arguments: role id, scope id, API id, organization code, user id (a member of it).
import * as kinde from "@kinde/management-api-js";
import { step } from "../helpers/kinde-script.js";

// The package's .d.ts files use extension-less relative imports NodeNext cannot follow.
type Call = (data?: Record<string, unknown>) => Promise<unknown>;
const { Roles, Organizations, init } = kinde as unknown as {
  Roles: Record<"getRoleScopes" | "addRoleScope" | "deleteRoleScope", Call>;
  Organizations: Record<"addOrganizationUserApiScope" | "deleteOrganizationUserApiScope", Call>;
  init: () => void;
};

const [roleId, scopeId, apiId, orgCode, userId] = process.argv.slice(2).map((a) => a ?? "missing");
init();

await step("getRoleScopes:empty", () => Roles.getRoleScopes({ roleId }));
await step("addRoleScope", () => Roles.addRoleScope({ roleId, requestBody: { scope_id: scopeId } }));
await step("getRoleScopes", () => Roles.getRoleScopes({ roleId }));
await step("addRoleScope:unknown", () =>
  Roles.addRoleScope({ roleId, requestBody: { scope_id: "api_scope_00000000000000000000000000000000" } }),
);
await step("deleteRoleScope", () => Roles.deleteRoleScope({ roleId, scopeId }));
await step("getRoleScopes:deleted", () => Roles.getRoleScopes({ roleId }));
await step("addOrganizationUserApiScope", () =>
  Organizations.addOrganizationUserApiScope({ orgCode, userId, apiId, scopeId }),
);
await step("deleteOrganizationUserApiScope", () =>
  Organizations.deleteOrganizationUserApiScope({ orgCode, userId, apiId, scopeId }),
);
