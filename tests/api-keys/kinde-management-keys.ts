// Runs Kinde's Management API client (@kinde/management-api-js 0.18, unchanged) against Latchkey's
// organization invitations and API keys, configured as its README says, in its own process (see
// tests/helpers/kinde-script.ts). Arguments: an organization code, a role key, an API id and one of
// its scope ids. Prints one JSON line per step: {step, ok, value | error}.
import * as kinde from "@kinde/management-api-js";
import type {
  CreateApiKeyData,
  CreateApiKeyResponse,
  CreateOrganizationInviteData,
  CreateOrganizationInviteResponse,
  DeleteApiKeyData,
  DeleteApiKeyResponse,
  DeleteOrganizationInviteData,
  DeleteOrganizationInviteResponse,
  GetApiKeyData,
  GetApiKeyResponse,
  GetApiKeysData,
  GetApiKeysResponse,
  GetOrganizationInviteData,
  GetOrganizationInviteResponse,
  GetOrganizationInvitesData,
  GetOrganizationInvitesResponse,
  RotateApiKeyData,
  RotateApiKeyResponse,
  VerifyApiKeyData,
  VerifyApiKeyResponse,
} from "../../node_modules/@kinde/management-api-js/dist/api/types.gen.js";
import { step } from "../helpers/kinde-script.js";

const { Organizations, ApiKeys, init } = kinde as unknown as {
  Organizations: {
    createOrganizationInvite(data: CreateOrganizationInviteData): Promise<CreateOrganizationInviteResponse>;
    getOrganizationInvites(data: GetOrganizationInvitesData): Promise<GetOrganizationInvitesResponse>;
    getOrganizationInvite(data: GetOrganizationInviteData): Promise<GetOrganizationInviteResponse>;
    deleteOrganizationInvite(data: DeleteOrganizationInviteData): Promise<DeleteOrganizationInviteResponse>;
  };
  ApiKeys: {
    createApiKey(data: CreateApiKeyData): Promise<CreateApiKeyResponse>;
    getApiKeys(data: GetApiKeysData): Promise<GetApiKeysResponse>;
    getApiKey(data: GetApiKeyData): Promise<GetApiKeyResponse>;
    rotateApiKey(data: RotateApiKeyData): Promise<RotateApiKeyResponse>;
    deleteApiKey(data: DeleteApiKeyData): Promise<DeleteApiKeyResponse>;
    verifyApiKey(data: VerifyApiKeyData): Promise<VerifyApiKeyResponse>;
  };
  init: () => void;
};

const [orgCode = "", roleKey = "", apiId = "", scopeId = ""] = process.argv.slice(2);

init();

// ---- invitations ----
const created = await step("createOrganizationInvite", () =>
  Organizations.createOrganizationInvite({
    orgCode,
    requestBody: { email: "sdk-invitee@example.com", first_name: "Sdk", roles: [roleKey], send_email: true },
  }),
);
const inviteId = created?.invite?.id ?? "";
await step("createOrganizationInvite:unknown-role", () =>
  Organizations.createOrganizationInvite({
    orgCode,
    requestBody: { email: "x@example.com", roles: ["nope"] },
  }),
);
await step("getOrganizationInvites", () => Organizations.getOrganizationInvites({ orgCode, pageSize: 5 }));
await step("getOrganizationInvite", () =>
  Organizations.getOrganizationInvite({ orgCode, inviteCode: inviteId }),
);
await step("getOrganizationInvite:unknown", () =>
  Organizations.getOrganizationInvite({ orgCode, inviteCode: "inv_00000000000000000000000000000000" }),
);
await step("deleteOrganizationInvite", () =>
  Organizations.deleteOrganizationInvite({ orgCode, inviteCode: inviteId }),
);
await step("getOrganizationInvites:revoked", () =>
  Organizations.getOrganizationInvites({ orgCode, includeRevoked: true, sort: "email_asc" }),
);

// ---- API keys ----
const key = await step("createApiKey", () =>
  ApiKeys.createApiKey({
    requestBody: {
      name: "SDK key",
      type: "organization",
      api_id: apiId,
      scope_ids: [scopeId],
      org_code: orgCode,
    },
  }),
);
const keyId = key?.api_key?.id ?? "";
await step("createApiKey:bad-owner", () =>
  ApiKeys.createApiKey({ requestBody: { name: "SDK key", type: "user", api_id: apiId } }),
);
await step("verifyApiKey", () => ApiKeys.verifyApiKey({ requestBody: { api_key: key?.api_key?.key ?? "" } }));
await step("getApiKeys", () => ApiKeys.getApiKeys({ pageSize: 10, keyType: "organization", orgCode }));
await step("getApiKey", () => ApiKeys.getApiKey({ keyId }));
const rotated = await step("rotateApiKey", () => ApiKeys.rotateApiKey({ keyId }));
await step("verifyApiKey:old", () =>
  ApiKeys.verifyApiKey({ requestBody: { api_key: key?.api_key?.key ?? "" } }),
);
await step("verifyApiKey:rotated", () =>
  ApiKeys.verifyApiKey({ requestBody: { api_key: rotated?.api_key?.key ?? "" } }),
);
await step("deleteApiKey", () => ApiKeys.deleteApiKey({ keyId }));
await step("getApiKey:deleted", () => ApiKeys.getApiKey({ keyId }));
