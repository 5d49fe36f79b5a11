// Runs Kinde's Management API client (@kinde/management-api-js 0.18, unchanged) against Latchkey to
// manage organizations, members, roles, permissions and feature flags — configured as its README
// says (KINDE_DOMAIN, KINDE_MANAGEMENT_CLIENT_ID, KINDE_MANAGEMENT_CLIENT_SECRET), in its own
// process so NODE_EXTRA_CA_CERTS applies. Prints one JSON line per step: {step, ok, value | error}.
// Argument 1: the id of an existing user to make a member.
import * as kinde from "@kinde/management-api-js";
import { step } from "../helpers/kinde-script.js";

// The package's .d.ts files use extension-less relative imports NodeNext cannot follow.
type Call = (data?: Record<string, unknown>) => Promise<unknown>;
const { Organizations, Roles, Permissions, FeatureFlags, Users, init } = kinde as unknown as {
  Organizations: Record<
    | "addOrganizationUsers"
    | "createOrganization"
    | "deleteOrganization"
    | "getOrganization"
    | "getOrganizationFeatureFlags"
    | "getOrganizationUserPermissions"
    | "getOrganizationUserRoles"
    | "getOrganizationUsers"
    | "getOrganizations"
    | "removeOrganizationUser"
    | "updateOrganization"
    | "updateOrganizationFeatureFlagOverride",
    Call
  >;
  Roles: Record<
    "createRole" | "deleteRole" | "getRolePermissions" | "getRoles" | "updateRolePermissions",
    Call
  >;
  Permissions: Record<"createPermission" | "deletePermission" | "getPermissions", Call>;
  FeatureFlags: Record<"createFeatureFlag" | "deleteFeatureFlag" | "updateFeatureFlag", Call>;
  Users: Record<"updateUserFeatureFlagOverride", Call>;
  init: () => void;
};

const userId = process.argv[2] ?? "missing";
init();

const created = (await step("createOrganization", () =>
  Organizations.createOrganization({ requestBody: { name: "Made by management-api-js", handle: "mapi" } }),
)) as { organization?: { code: string } } | undefined;
const orgCode = created?.organization?.code ?? "missing";
await step("getOrganization", () => Organizations.getOrganization({ code: orgCode }));
await step("updateOrganization", () =>
  Organizations.updateOrganization({ orgCode, requestBody: { name: "Renamed by management-api-js" } }),
);
await step("getOrganizations", () => Organizations.getOrganizations({ pageSize: 10, sort: "name_asc" }));

await step("createPermission", () =>
  Permissions.createPermission({ requestBody: { key: "read:things", name: "Read things" } }),
);
const permissions = (await step("getPermissions", () => Permissions.getPermissions({ pageSize: 100 }))) as
  | { permissions?: { id: string; key: string }[] }
  | undefined;
const permissionId = permissions?.permissions?.find((p) => p.key === "read:things")?.id ?? "missing";
const role = (await step("createRole", () =>
  Roles.createRole({ requestBody: { key: "thing-reader", name: "Thing reader", is_default_role: false } }),
)) as { role?: { id: string } } | undefined;
const roleId = role?.role?.id ?? "missing";
await step("updateRolePermissions", () =>
  Roles.updateRolePermissions({ roleId, requestBody: { permissions: [{ id: permissionId }] } }),
);
await step("getRolePermissions", () => Roles.getRolePermissions({ roleId }));
await step("getRoles", () => Roles.getRoles({}));

await step("addOrganizationUsers", () =>
  Organizations.addOrganizationUsers({
    orgCode,
    requestBody: { users: [{ id: userId, roles: ["thing-reader"] }] },
  }),
);
await step("getOrganizationUsers", () => Organizations.getOrganizationUsers({ orgCode }));
await step("getOrganizationUserRoles", () => Organizations.getOrganizationUserRoles({ orgCode, userId }));
await step("getOrganizationUserPermissions", () =>
  Organizations.getOrganizationUserPermissions({ orgCode, userId, expand: "roles" }),
);

await step("createFeatureFlag", () =>
  FeatureFlags.createFeatureFlag({
    requestBody: {
      key: "beta",
      name: "Beta",
      type: "bool",
      default_value: "false",
      allow_override_level: "usr",
    },
  }),
);
await step("updateOrganizationFeatureFlagOverride", () =>
  Organizations.updateOrganizationFeatureFlagOverride({ orgCode, featureFlagKey: "beta", value: "true" }),
);
await step("getOrganizationFeatureFlags", () => Organizations.getOrganizationFeatureFlags({ orgCode }));
await step("updateUserFeatureFlagOverride", () =>
  Users.updateUserFeatureFlagOverride({ userId, featureFlagKey: "beta", value: "false" }),
);
await step("updateFeatureFlag", () =>
  FeatureFlags.updateFeatureFlag({
    featureFlagKey: "beta",
    name: "Beta programme",
    description: "Early features",
    type: "bool",
    allowOverrideLevel: "usr",
    defaultValue: "false",
  }),
);

await step("removeOrganizationUser", () => Organizations.removeOrganizationUser({ orgCode, userId }));
await step("getRemovedUserRoles", () => Organizations.getOrganizationUserRoles({ orgCode, userId }));
await step("deleteFeatureFlag", () => FeatureFlags.deleteFeatureFlag({ featureFlagKey: "beta" }));
await step("deleteRole", () => Roles.deleteRole({ roleId }));
await step("deletePermission", () => Permissions.deletePermission({ permissionId }));
await step("deleteOrganization", () => Organizations.deleteOrganization({ orgCode }));
await step("getDeletedOrganization", () => Organizations.getOrganization({ code: orgCode }));
