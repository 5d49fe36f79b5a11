// Management API: the passkey policy (issue 22) of the environment (Kinde's /api/v1/passkey) and of
// an organization (/api/v1/organizations/{org_code}/passkey), which either follows the environment
// (its passkey_policy is null) or overrides it. The WebAuthn ceremonies that apply it are in
// src/passkeys/; this only stores what they read.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ApiError } from "../management/errors.js";
import { notFound, READ_ERRORS, WRITE_ERRORS } from "../management/responses.schemas.js";
import { success } from "../management/schemas.js";
import { findOrganization } from "../organizations/organizations.routes.js";
import {
  OrganizationPasskeyBody,
  OrganizationPasskeyResponse,
  OrgCodeParams,
  PasskeyBody,
  PasskeyResponse,
  UpdatedOrganizationPasskeyResponse,
} from "./mfa.schemas.js";
import type { PasskeyPolicy } from "./policy.js";

const ENVIRONMENT = { tags: ["Environments"] };
const ORGANIZATIONS = { tags: ["Organizations"] };
const ORGANIZATION_NOT_FOUND = notFound("Organization");

/** What the organization's sign-ins meet: its own policy when it overrides, else the environment's. */
async function organizationPasskey(request: FastifyRequest, orgCode: string) {
  const { store } = request.services.mfa;
  const [environment, org] = await Promise.all([
    store.environmentSettings(),
    store.organizationSettings(orgCode),
  ]);
  const own = org?.passkeyPolicy ?? null;
  const policy = own ?? environment.passkeyPolicy;
  return {
    ...success(),
    enabled: policy !== "off",
    policy,
    is_override_environment_passkey_settings: own !== null,
    environment_policy: environment.passkeyPolicy,
  };
}

/**
 * The organization's own policy a PUT asks for: null to follow the environment. The override flag
 * and the policy must agree — a policy sent with the override off would be silently dropped, and an
 * override without a policy says nothing to store.
 */
function requestedPolicy(body: OrganizationPasskeyBody): PasskeyPolicy | null {
  const { policy, is_override_environment_passkey_settings: override } = body;
  if (policy === undefined && override === undefined) throw new ApiError("NO_FIELDS_TO_UPDATE");
  if (override === false) {
    if (policy !== undefined)
      throw new ApiError(
        "INVALID_REQUEST",
        "policy cannot be set with is_override_environment_passkey_settings false (the environment's applies)",
      );
    return null;
  }
  if (policy === undefined)
    throw new ApiError(
      "INVALID_REQUEST",
      "policy is required to override the environment's passkey settings",
    );
  return policy;
}

export function registerPasskeySettingsRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/passkey",
    {
      schema: {
        ...ENVIRONMENT,
        summary: "Get environment passkey settings",
        response: { 200: PasskeyResponse, ...READ_ERRORS },
      },
      config: { scope: "read:passkey" },
    },
    async (request) => {
      const { passkeyPolicy } = await request.services.mfa.store.environmentSettings();
      return { ...success(), enabled: passkeyPolicy !== "off", policy: passkeyPolicy };
    },
  );

  api.put(
    "/passkey",
    {
      schema: {
        ...ENVIRONMENT,
        summary: "Update environment passkey settings",
        body: PasskeyBody,
        response: { 200: PasskeyResponse, ...WRITE_ERRORS },
      },
      config: { scope: "update:passkey" },
    },
    async (request) => {
      const { policy } = request.body;
      await request.services.mfa.store.setEnvironmentSettings({ passkeyPolicy: policy });
      return { ...success("Passkey settings successfully updated"), enabled: policy !== "off", policy };
    },
  );

  api.get(
    "/organizations/:org_code/passkey",
    {
      schema: {
        ...ORGANIZATIONS,
        summary: "Get organization passkey settings",
        params: OrgCodeParams,
        response: { 200: OrganizationPasskeyResponse, ...READ_ERRORS, ...ORGANIZATION_NOT_FOUND },
      },
      config: { scope: "read:organization_passkey" },
    },
    async (request) => {
      const org = await findOrganization(request, request.params.org_code);
      return organizationPasskey(request, org.code);
    },
  );

  api.put(
    "/organizations/:org_code/passkey",
    {
      schema: {
        ...ORGANIZATIONS,
        summary: "Update organization passkey settings",
        params: OrgCodeParams,
        body: OrganizationPasskeyBody,
        response: { 200: UpdatedOrganizationPasskeyResponse, ...WRITE_ERRORS, ...ORGANIZATION_NOT_FOUND },
      },
      config: { scope: "update:organization_passkey" },
    },
    async (request) => {
      const org = await findOrganization(request, request.params.org_code);
      const passkeyPolicy = requestedPolicy(request.body);
      if (!(await request.services.mfa.store.setOrganizationSettings(org.code, { passkeyPolicy })))
        throw new ApiError("ORGANIZATION_NOT_FOUND");
      const current = await organizationPasskey(request, org.code);
      return { ...current, ...success("Organization passkey settings successfully updated") };
    },
  );
}
