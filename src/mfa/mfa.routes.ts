// Management API: multi-factor authentication (issue 22). The environment's policy (Kinde's
// PUT /api/v1/mfa), an organization's factors (PUT /api/v1/organizations/{org_code}/mfa; its
// is_enforce_mfa is PATCH /organization's), and a user's factors, read and reset — directly, or as a
// member of an organization (the same factors: Latchkey keeps one set per user). The reads Kinde
// lacks (GET /api/v1/mfa, GET /api/v1/organizations/{org_code}/mfa) are Latchkey extensions for the
// dashboard. Resetting signs the user out everywhere (MfaService.reset).
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { sourceOfCaller } from "../events/events.js";
import { ApiError } from "../management/errors.js";
import { notFound, READ_ERRORS, WRITE_ERRORS } from "../management/responses.schemas.js";
import { isoSeconds, SuccessResponse, success } from "../management/schemas.js";
import { findMember, findOrganization } from "../organizations/organizations.routes.js";
import type { MfaFactorType } from "../storage/schema.js";
import { findChangeableUser, findUser } from "../users/users.http.js";
import {
  MfaSettingsResponse,
  OrganizationMfaResponse,
  OrgCodeParams,
  OrgUserFactorParams,
  OrgUserParams,
  ReplaceMfaBody,
  ReplaceOrganizationMfaBody,
  UserFactorParams,
  UserIdParams,
  UserMfaResponse,
} from "./mfa.schemas.js";
import type { MfaFactor } from "./mfa.store.js";
import type { MfaPolicy } from "./policy.js";

const ENVIRONMENT = { tags: ["MFA"] };
const USERS = { tags: ["Users"] };
const ORGANIZATIONS = { tags: ["Organizations"] };
const USER_NOT_FOUND = notFound("User or MFA factor");
const ORGANIZATION_NOT_FOUND = notFound("Organization");
const MEMBER_NOT_FOUND = notFound("Organization, member or MFA factor");

/** Kinde lists each factor once; a repeated one in the body means the same thing said twice. */
const distinct = (factors: readonly MfaFactorType[]) => [...new Set(factors)];

/**
 * A policy that asks for a second factor with none enabled could not be met: refused rather than
 * quietly turned into the authenticator app (which effectiveMfaSettings falls back to at sign-in).
 */
function checkFactors(policy: MfaPolicy, factors: readonly MfaFactorType[]): void {
  if (policy !== "off" && factors.length === 0)
    throw new ApiError(
      "INVALID_REQUEST",
      `enabled_factors must name at least one factor when policy is ${policy}`,
    );
}

function factorBody(factor: MfaFactor) {
  return {
    id: factor.id,
    // Kinde's example answers "email" where enabled_factors says "mfa:email".
    type: factor.type.replace(/^mfa:/, ""),
    created_on: isoSeconds(factor.createdAt),
    name: factor.name,
    is_verified: factor.verifiedAt !== null,
    usage_count: factor.usageCount,
    ...(factor.lastUsedAt === null ? {} : { last_used_on: isoSeconds(factor.lastUsedAt) }),
  };
}

/**
 * Kinde's one `mfa`: the authenticator app when the user has one (the factor that has a secret to
 * lose), otherwise the most recently used; `factors` lists them all.
 */
async function userMfa(request: FastifyRequest, userId: string) {
  const factors = await request.services.mfa.store.factors(userId);
  const app = factors.find((f) => f.type === "mfa:authenticator_app");
  const recent = [...factors].sort(
    (a, b) => (b.lastUsedAt ?? -1) - (a.lastUsedAt ?? -1) || b.createdAt - a.createdAt,
  )[0];
  const chosen = app ?? recent;
  return {
    ...success(),
    ...(chosen ? { mfa: factorBody(chosen) } : {}),
    factors: factors.map(factorBody),
  };
}

/** Removes one factor (404 when the user has no such factor) or all, signing the user out everywhere. */
async function reset(request: FastifyRequest, userId: string, factorId?: string) {
  const removed = await request.services.mfa.reset(userId, factorId, sourceOfCaller(request.caller));
  if (!removed) throw new ApiError("MFA_FACTOR_NOT_FOUND");
  return success("User's MFA successfully reset");
}

export function registerMfaRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/mfa",
    {
      schema: {
        ...ENVIRONMENT,
        summary: "Get MFA configuration",
        description:
          "Latchkey extension (Kinde can only replace it): the environment's MFA policy, enabled factors and recovery codes.",
        response: { 200: MfaSettingsResponse, ...READ_ERRORS },
      },
      config: { scope: "read:mfa" },
    },
    async (request) => {
      const settings = await request.services.mfa.store.environmentSettings();
      return {
        ...success(),
        mfa: {
          policy: settings.policy,
          enabled_factors: [...settings.enabledFactors],
          is_recovery_codes_enabled: settings.recoveryCodes,
        },
      };
    },
  );

  api.put(
    "/mfa",
    {
      schema: {
        ...ENVIRONMENT,
        summary: "Replace MFA configuration",
        body: ReplaceMfaBody,
        response: { 200: SuccessResponse, ...WRITE_ERRORS },
      },
      config: { scope: "update:mfa" },
    },
    async (request) => {
      const { policy, enabled_factors, is_recovery_codes_enabled } = request.body;
      const enabledFactors = distinct(enabled_factors);
      checkFactors(policy, enabledFactors);
      await request.services.mfa.store.setEnvironmentSettings({
        policy,
        enabledFactors,
        // A replacement: left out means Kinde's default, not "as it was".
        recoveryCodes: is_recovery_codes_enabled ?? true,
      });
      return success("MFA Configuration updated successfully");
    },
  );

  api.get(
    "/organizations/:org_code/mfa",
    {
      schema: {
        ...ORGANIZATIONS,
        summary: "Get organization MFA configuration",
        description:
          "Latchkey extension (Kinde can only replace it): whether the organization enforces MFA, and the factors and recovery-code setting it overrides (null: the environment's).",
        params: OrgCodeParams,
        response: { 200: OrganizationMfaResponse, ...READ_ERRORS, ...ORGANIZATION_NOT_FOUND },
      },
      config: { scope: "read:organization_mfa" },
    },
    async (request) => {
      const org = await findOrganization(request, request.params.org_code);
      const settings = await request.services.mfa.store.organizationSettings(org.code);
      return {
        ...success(),
        mfa: {
          is_enforce_mfa: settings?.enforced ?? false,
          enabled_factors: settings?.enabledFactors ? [...settings.enabledFactors] : null,
          is_recovery_codes_enabled: settings?.recoveryCodes ?? null,
        },
      };
    },
  );

  api.put(
    "/organizations/:org_code/mfa",
    {
      schema: {
        ...ORGANIZATIONS,
        summary: "Replace organization MFA configuration",
        params: OrgCodeParams,
        body: ReplaceOrganizationMfaBody,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...ORGANIZATION_NOT_FOUND },
      },
      config: { scope: "update:organization_mfa" },
    },
    async (request) => {
      const org = await findOrganization(request, request.params.org_code);
      const updated = await request.services.mfa.store.setOrganizationSettings(org.code, {
        enabledFactors: distinct(request.body.enabled_factors),
        recoveryCodes: request.body.is_recovery_codes_enabled ?? true,
      });
      // Deleted between the lookup and the write: the same answer as before it.
      if (!updated) throw new ApiError("ORGANIZATION_NOT_FOUND");
      return success("MFA Configuration updated successfully");
    },
  );

  api.get(
    "/users/:user_id/mfa",
    {
      schema: {
        ...USERS,
        summary: "Get user's MFA configuration",
        params: UserIdParams,
        response: { 200: UserMfaResponse, ...READ_ERRORS, ...USER_NOT_FOUND },
      },
      config: { scope: "read:user_mfa" },
    },
    async (request) => {
      const user = await findUser(request, request.params.user_id);
      return userMfa(request, user.id);
    },
  );

  api.delete(
    "/users/:user_id/mfa",
    {
      schema: {
        ...USERS,
        summary: "Reset all environment MFA for a user",
        description: "Removes every factor and recovery code of the user and signs them out everywhere.",
        params: UserIdParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...USER_NOT_FOUND },
      },
      config: { scope: "delete:user_mfa" },
    },
    async (request) => {
      const user = await findChangeableUser(request, request.params.user_id);
      return reset(request, user.id);
    },
  );

  api.delete(
    "/users/:user_id/mfa/:factor_id",
    {
      schema: {
        ...USERS,
        summary: "Reset specific environment MFA for a user",
        description:
          "Removes one factor (an authenticator app takes the recovery codes with it) and signs the user out everywhere.",
        params: UserFactorParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...USER_NOT_FOUND },
      },
      config: { scope: "delete:user_mfa" },
    },
    async (request) => {
      const user = await findChangeableUser(request, request.params.user_id);
      return reset(request, user.id, request.params.factor_id);
    },
  );

  api.get(
    "/organizations/:org_code/users/:user_id/mfa",
    {
      schema: {
        ...ORGANIZATIONS,
        summary: "Get an organization user's MFA configuration",
        description: "The member's factors: Latchkey keeps one set per user, whatever the organization.",
        params: OrgUserParams,
        response: { 200: UserMfaResponse, ...READ_ERRORS, ...MEMBER_NOT_FOUND },
      },
      config: { scope: "read:organization_user_mfa" },
    },
    async (request) => {
      const { org_code, user_id } = request.params;
      await findMember(request, org_code, user_id);
      return userMfa(request, user_id);
    },
  );

  api.delete(
    "/organizations/:org_code/users/:user_id/mfa",
    {
      schema: {
        ...ORGANIZATIONS,
        summary: "Reset all organization MFA for a user",
        description: "Removes every factor of the member (the same as the user's own reset).",
        params: OrgUserParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...MEMBER_NOT_FOUND },
      },
      config: { scope: "delete:organization_user_mfa" },
    },
    async (request) => {
      const { org_code, user_id } = request.params;
      await findMember(request, org_code, user_id);
      const user = await findChangeableUser(request, user_id);
      return reset(request, user.id);
    },
  );

  api.delete(
    "/organizations/:org_code/users/:user_id/mfa/:factor_id",
    {
      schema: {
        ...ORGANIZATIONS,
        summary: "Reset specific organization MFA for a user",
        params: OrgUserFactorParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...MEMBER_NOT_FOUND },
      },
      config: { scope: "delete:organization_user_mfa" },
    },
    async (request) => {
      const { org_code, user_id, factor_id } = request.params;
      await findMember(request, org_code, user_id);
      const user = await findChangeableUser(request, user_id);
      return reset(request, user.id, factor_id);
    },
  );
}
