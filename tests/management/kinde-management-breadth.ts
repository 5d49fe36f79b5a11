// Runs Kinde's Management API client (@kinde/management-api-js 0.18, unchanged) against the
// operations issue 19 added to Latchkey: organization role users, handle, sessions and logos;
// application token settings; the environment, its logos, industries and timezones; environment
// variables; subscribers; SCIM directories. Configured as its README says, in its own process (see
// tests/helpers/kinde-script.ts). Arguments: an organization code (with a handle, and a member
// holding the role), the role's id, an application id, and a second organization's code with the id
// of its enterprise connection, and the id of the first organization's member. Prints one JSON line
// per step: {step, ok, value | error}. Last: the last pages of Kinde's paged lists, whose next_token
// the SDK types as a string (absent, never null, when there is no next page).
//
// Not here, because 0.18 has no function for them (it predates them in Kinde's specification):
// GetOrganizationRoleUsersCount, GetOrganizationRoleActiveUsersCount, the application access roles
// (Get/Add/RemoveApplicationAccessRole), GetSystemPermissions, Get/UpdateRoleSystemPermissions.
import * as kinde from "@kinde/management-api-js";
import type {
  AddOrganizationLogoData,
  AddOrganizationLogoResponse,
  CreateDirectoryData,
  CreateDirectoryResponse,
  CreateEnvironmentVariableData,
  CreateEnvironmentVariableResponse,
  CreateSubscriberData,
  CreateSubscriberResponse,
  DeleteDirectoryData,
  DeleteDirectoryResponse,
  DeleteEnvironmentVariableData,
  DeleteEnvironmentVariableResponse,
  DeleteOrganizationHandleData,
  DeleteOrganizationHandleResponse,
  GetApisData,
  GetApisResponse,
  GetApplicationsData,
  GetApplicationsResponse,
  GetDirectoriesData,
  GetDirectoriesResponse,
  GetDirectoryData,
  GetDirectoryResponse,
  GetEnvironementFeatureFlagsResponse,
  GetEnvironmentResponse,
  GetEnvironmentVariableData,
  GetEnvironmentVariableResponse,
  GetEnvironmentVariablesResponse,
  GetIndustriesResponse,
  GetOrganizationData,
  GetOrganizationResponse,
  GetOrganizationRoleUsersData,
  GetOrganizationRoleUsersResponse,
  GetOrganizationUserRolesData,
  GetOrganizationUserRolesResponse,
  GetOrganizationUsersData,
  GetOrganizationUsersResponse,
  GetRolesData,
  GetRolesResponse,
  GetRoleUsersData,
  GetRoleUsersResponse,
  GetSubscriberData,
  GetSubscriberResponse,
  GetSubscribersData,
  GetSubscribersResponse,
  GetTimezonesResponse,
  ReadLogoResponse,
  ReadOrganizationLogoData,
  ReadOrganizationLogoResponse,
  UpdateApplicationTokensData,
  UpdateApplicationTokensResponse,
  UpdateDirectoryData,
  UpdateDirectoryResponse,
  UpdateEnvironmentVariableData,
  UpdateEnvironmentVariableResponse,
  UpdateOrganizationSessionsData,
  UpdateOrganizationSessionsResponse,
} from "../../node_modules/@kinde/management-api-js/dist/api/types.gen.js";
import { step } from "../helpers/kinde-script.js";

const { Organizations, Roles, Applications, Environments, Industries, Timezones, init } =
  kinde as unknown as {
    Organizations: {
      getOrganization(data: GetOrganizationData): Promise<GetOrganizationResponse>;
      getOrganizationRoleUsers(data: GetOrganizationRoleUsersData): Promise<GetOrganizationRoleUsersResponse>;
      deleteOrganizationHandle(data: DeleteOrganizationHandleData): Promise<DeleteOrganizationHandleResponse>;
      updateOrganizationSessions(
        data: UpdateOrganizationSessionsData,
      ): Promise<UpdateOrganizationSessionsResponse>;
      readOrganizationLogo(data: ReadOrganizationLogoData): Promise<ReadOrganizationLogoResponse>;
      addOrganizationLogo(data: AddOrganizationLogoData): Promise<AddOrganizationLogoResponse>;
      getOrganizationUsers(data: GetOrganizationUsersData): Promise<GetOrganizationUsersResponse>;
      getOrganizationUserRoles(data: GetOrganizationUserRolesData): Promise<GetOrganizationUserRolesResponse>;
    };
    Roles: {
      getRoleUsers(data: GetRoleUsersData): Promise<GetRoleUsersResponse>;
      getRoles(data?: GetRolesData): Promise<GetRolesResponse>;
    };
    Applications: {
      updateApplicationTokens(data: UpdateApplicationTokensData): Promise<UpdateApplicationTokensResponse>;
      getApplications(data?: GetApplicationsData): Promise<GetApplicationsResponse>;
    };
    Environments: {
      getEnvironment(): Promise<GetEnvironmentResponse>;
      readLogo(): Promise<ReadLogoResponse>;
      getEnvironementFeatureFlags(): Promise<GetEnvironementFeatureFlagsResponse>;
    };
    Industries: { getIndustries(): Promise<GetIndustriesResponse> };
    Timezones: { getTimezones(): Promise<GetTimezonesResponse> };
    init: () => void;
  };
const { Apis, EnvironmentVariables, Subscribers, Directories } = kinde as unknown as {
  Apis: { getApis(data?: GetApisData): Promise<GetApisResponse> };
  EnvironmentVariables: {
    getEnvironmentVariables(): Promise<GetEnvironmentVariablesResponse>;
    createEnvironmentVariable(
      data: CreateEnvironmentVariableData,
    ): Promise<CreateEnvironmentVariableResponse>;
    getEnvironmentVariable(data: GetEnvironmentVariableData): Promise<GetEnvironmentVariableResponse>;
    updateEnvironmentVariable(
      data: UpdateEnvironmentVariableData,
    ): Promise<UpdateEnvironmentVariableResponse>;
    deleteEnvironmentVariable(
      data: DeleteEnvironmentVariableData,
    ): Promise<DeleteEnvironmentVariableResponse>;
  };
  Subscribers: {
    getSubscribers(data?: GetSubscribersData): Promise<GetSubscribersResponse>;
    createSubscriber(data: CreateSubscriberData): Promise<CreateSubscriberResponse>;
    getSubscriber(data: GetSubscriberData): Promise<GetSubscriberResponse>;
  };
  Directories: {
    getDirectories(data?: GetDirectoriesData): Promise<GetDirectoriesResponse>;
    createDirectory(data: CreateDirectoryData): Promise<CreateDirectoryResponse>;
    getDirectory(data: GetDirectoryData): Promise<GetDirectoryResponse>;
    updateDirectory(data: UpdateDirectoryData): Promise<UpdateDirectoryResponse>;
    deleteDirectory(data: DeleteDirectoryData): Promise<DeleteDirectoryResponse>;
  };
};

const [
  orgCode = "",
  roleId = "",
  applicationId = "",
  directoryOrgCode = "",
  connectionId = "",
  memberId = "",
] = process.argv.slice(2);

// A 1×1 PNG: the file part the SDK sends as multipart/form-data (field "logo").
const PNG_1PX = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);

init();

// ---- organizations ----
await step("getOrganizationRoleUsers", () => Organizations.getOrganizationRoleUsers({ orgCode, roleId }));
await step("getOrganizationRoleUsers:unknown-role", () =>
  Organizations.getOrganizationRoleUsers({ orgCode, roleId: "00000000-0000-4000-8000-000000000000" }),
);
await step("getRoleUsers", () => Roles.getRoleUsers({ roleId, pageSize: 10 }));
await step("updateOrganizationSessions", () =>
  Organizations.updateOrganizationSessions({
    orgCode,
    requestBody: {
      is_use_org_sso_session_policy: true,
      sso_session_persistence_mode: "non_persistent",
      is_use_org_authenticated_session_lifetime: true,
      authenticated_session_lifetime: 3600,
    },
  }),
);
await step("updateOrganizationSessions:negative", () =>
  Organizations.updateOrganizationSessions({ orgCode, requestBody: { authenticated_session_lifetime: -5 } }),
);
await step("deleteOrganizationHandle", () => Organizations.deleteOrganizationHandle({ orgCode }));
await step("getOrganization:no-handle", () => Organizations.getOrganization({ code: orgCode }));
await step("deleteOrganizationHandle:unknown", () =>
  Organizations.deleteOrganizationHandle({ orgCode: "org_00000000000" }),
);
await step("readOrganizationLogo:none", () => Organizations.readOrganizationLogo({ orgCode }));
await step("addOrganizationLogo", () =>
  Organizations.addOrganizationLogo({
    orgCode,
    type: "light",
    formData: { logo: new Blob([PNG_1PX], { type: "image/png" }) },
  }),
);
await step("addOrganizationLogo:not-an-image", () =>
  Organizations.addOrganizationLogo({
    orgCode,
    type: "dark",
    formData: { logo: new Blob(["<html><script>alert(1)</script>"], { type: "image/png" }) },
  }),
);
await step("readOrganizationLogo", () => Organizations.readOrganizationLogo({ orgCode }));

// ---- applications ----
await step("updateApplicationTokens", () =>
  Applications.updateApplicationTokens({
    applicationId,
    requestBody: { is_hasura_mapping_enabled: true, authenticated_session_lifetime: 7200 },
  }),
);
await step("updateApplicationTokens:unknown", () =>
  Applications.updateApplicationTokens({
    applicationId: "00000000000000000000000000000000",
    requestBody: { is_hasura_mapping_enabled: true },
  }),
);

// ---- environment ----
await step("getEnvironment", () => Environments.getEnvironment());
await step("readLogo", () => Environments.readLogo());
await step("getIndustries", () => Industries.getIndustries());
await step("getTimezones", () => Timezones.getTimezones());

// ---- environment variables ----
const variable = await step("createEnvironmentVariable", () =>
  EnvironmentVariables.createEnvironmentVariable({
    requestBody: { key: "SDK_REGION", value: "eu-west", is_secret: false },
  }),
);
const variableId = variable?.environment_variable?.id ?? "";
await step("createEnvironmentVariable:secret", () =>
  EnvironmentVariables.createEnvironmentVariable({
    requestBody: { key: "SDK_TOKEN", value: "s3cr3t-from-sdk", is_secret: true },
  }),
);
await step("createEnvironmentVariable:duplicate", () =>
  EnvironmentVariables.createEnvironmentVariable({ requestBody: { key: "SDK_REGION", value: "again" } }),
);
await step("getEnvironmentVariables", () => EnvironmentVariables.getEnvironmentVariables());
await step("getEnvironmentVariable", () => EnvironmentVariables.getEnvironmentVariable({ variableId }));
await step("updateEnvironmentVariable", () =>
  EnvironmentVariables.updateEnvironmentVariable({
    variableId,
    requestBody: { key: "SDK_REGION_NAME", value: "us-east" },
  }),
);
await step("getEnvironmentVariable:updated", () =>
  EnvironmentVariables.getEnvironmentVariable({ variableId }),
);
await step("deleteEnvironmentVariable", () => EnvironmentVariables.deleteEnvironmentVariable({ variableId }));
await step("getEnvironmentVariable:deleted", () =>
  EnvironmentVariables.getEnvironmentVariable({ variableId }),
);

// ---- subscribers ----
const subscriber = await step("createSubscriber", () =>
  Subscribers.createSubscriber({ firstName: "Ada", lastName: "Lovelace", email: "ada-sdk@example.com" }),
);
const subscriberId = subscriber?.subscriber?.subscriber_id ?? "";
await step("createSubscriber:bad-email", () =>
  Subscribers.createSubscriber({ firstName: "Bob", lastName: null, email: "not-an-address" }),
);
await step("getSubscribers", () => Subscribers.getSubscribers({ pageSize: 10 }));
await step("getSubscriber", () => Subscribers.getSubscriber({ subscriberId }));
await step("getSubscriber:unknown", () => Subscribers.getSubscriber({ subscriberId: "sub_unknown" }));

// ---- SCIM directories ----
const directory = await step("createDirectory", () =>
  Directories.createDirectory({
    requestBody: {
      org_code: directoryOrgCode,
      directory_name: "SDK Directory",
      provider_code: "okta",
      enterprise_connection_id: connectionId,
    },
  }),
);
const directoryId = directory?.directory?.id ?? "";
await step("createDirectory:unknown-org", () =>
  Directories.createDirectory({
    requestBody: { org_code: "org_00000000000", directory_name: "Nope", provider_code: "okta" },
  }),
);
await step("getDirectories", () => Directories.getDirectories({ organizationCode: directoryOrgCode }));
await step("getDirectory", () => Directories.getDirectory({ directoryId }));
await step("updateDirectory", () =>
  Directories.updateDirectory({ directoryId, requestBody: { directory_name: "SDK Directory, renamed" } }),
);
await step("getDirectory:updated", () => Directories.getDirectory({ directoryId }));
await step("deleteDirectory", () => Directories.deleteDirectory({ directoryId }));
await step("getDirectory:deleted", () => Directories.getDirectory({ directoryId }));

// ---- last pages of Kinde's paged lists (next_token is a string in the SDK's schemas) ----
await step("getRoles:first-page", () => Roles.getRoles({ pageSize: 1 }));
await step("getRoles:last-page", () => Roles.getRoles({ pageSize: 500 }));
await step("getOrganizationUsers:last-page", () =>
  Organizations.getOrganizationUsers({ orgCode, pageSize: 500 }),
);
await step("getOrganizationUserRoles", () =>
  Organizations.getOrganizationUserRoles({ orgCode, userId: memberId }),
);
await step("getApplications:last-page", () => Applications.getApplications({ pageSize: 500 }));
await step("getApis", () => Apis.getApis());
await step("getEnvironementFeatureFlags", () => Environments.getEnvironementFeatureFlags());
