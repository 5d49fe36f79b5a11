// Management API: feature flags (Kinde's /api/v1/feature_flags) and their overrides for the
// environment (/environment/feature_flags), an organization (/organizations/{org_code}/feature_flags)
// and a user (/users/{user_id}/feature_flags). An override is refused at a level the flag's
// allow_override_level does not reach, and a value must parse as the flag's type, so tokens never
// carry an ill-typed value. Kinde's quirks are kept: create answers 201, replace takes query
// parameters, the environment override takes a body but organization and user overrides a query.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ApiError } from "../management/errors.js";
import {
  conflict,
  notFound,
  POST_ERRORS,
  READ_ERRORS,
  WRITE_ERRORS,
} from "../management/responses.schemas.js";
import { SuccessResponse, success } from "../management/schemas.js";
import { findOrganization } from "../organizations/organizations.routes.js";
import { OrgCodeParams } from "../organizations/organizations.schemas.js";
import { pageOf } from "../organizations/paging.js";
import type { FeatureFlagOverrideLevel, FeatureFlagType } from "../storage/schema.js";
import {
  CreateFeatureFlagBody,
  EnvironmentFlagsResponse,
  EnvironmentValueBody,
  FeatureFlagsResponse,
  FlagKeyParams,
  ListFeatureFlagsQuery,
  OrganizationFlagsResponse,
  OrgFlagParams,
  ReplaceFeatureFlagQuery,
  UserFlagParams,
  ValueQuery,
} from "./feature-flags.schemas.js";
import {
  FeatureFlagKeyTakenError,
  type FeatureFlagRow,
  overridable,
  valueProblem,
} from "./feature-flags.service.js";

const TAG = { tags: ["Feature Flags"] };
const ENVIRONMENTS = { tags: ["Environments"] };
const ORGANIZATIONS = { tags: ["Organizations"] };
const USERS = { tags: ["Users"] };
const FLAG_NOT_FOUND = notFound("Feature flag");

const KEY = /^[A-Za-z0-9_\-.:]{1,128}$/;
const CONTROL = /\p{Cc}/u;

async function findFlag(request: FastifyRequest, key: string): Promise<FeatureFlagRow> {
  const flag = await request.services.featureFlags.find(key);
  if (!flag) throw new ApiError("FEATURE_FLAG_NOT_FOUND");
  return flag;
}

function checkValue(type: FeatureFlagType, value: string, field: string): string {
  const problem = valueProblem(type, value);
  if (problem) throw new ApiError("INVALID_FEATURE_FLAG_VALUE", `${field} ${problem}`);
  return value;
}

function checkOverride(flag: FeatureFlagRow, level: FeatureFlagOverrideLevel, value: string): string {
  if (!overridable(flag, level)) {
    const where = { env: "the environment", org: "an organization", usr: "a user" }[level];
    throw new ApiError(
      "FEATURE_FLAG_OVERRIDE_NOT_ALLOWED",
      `The feature flag ${flag.key} cannot be overridden for ${where} (allow_override_level is ${flag.allow_override_level})`,
    );
  }
  return checkValue(flag.type, value, "value");
}

function definition(input: {
  name: string;
  description?: string | null;
  type: FeatureFlagType;
  allow_override_level?: FeatureFlagOverrideLevel;
  default_value: string;
}) {
  const name = input.name.trim();
  if (!name || CONTROL.test(name)) throw new ApiError("INVALID_REQUEST", "name must be text, not blank");
  return {
    name,
    description: input.description?.trim() || null,
    type: input.type,
    // Kinde's default: overridable per environment and organization.
    allow_override_level: input.allow_override_level ?? ("org" as const),
    default_value: checkValue(input.type, input.default_value, "default_value"),
  };
}

export function registerFeatureFlagsRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  // Latchkey extension (the admin dashboard lists flags): Kinde's API has no read of the
  // definitions, only the environment's key → {type, value} map. Guarded by that map's scope, as it
  // reveals the same flags plus their names, defaults and override levels.
  api.get(
    "/feature_flags",
    {
      schema: {
        ...TAG,
        querystring: ListFeatureFlagsQuery,
        response: { 200: FeatureFlagsResponse, ...READ_ERRORS },
      },
      config: { scope: "read:environment_feature_flags" },
    },
    async (request) => {
      const { page, nextToken } = pageOf(await request.services.featureFlags.all(), {
        key: (f) => [f.name, f.key],
        pageSize: request.query.page_size,
        nextToken: request.query.next_token,
      });
      return {
        ...success(),
        feature_flags: page.map((f) => ({
          id: f.id,
          key: f.key,
          name: f.name,
          description: f.description,
          type: f.type,
          allow_override_level: f.allow_override_level,
          default_value: f.default_value,
          environment_value: f.environment_value,
        })),
        next_token: nextToken,
      };
    },
  );

  api.post(
    "/feature_flags",
    {
      schema: {
        ...TAG,
        body: CreateFeatureFlagBody,
        response: { 201: SuccessResponse, ...POST_ERRORS, ...conflict("A feature flag with this key") },
      },
      config: { scope: "create:feature_flags" },
    },
    async (request, reply) => {
      const { key } = request.body;
      if (!KEY.test(key))
        throw new ApiError("INVALID_KEY", "A feature flag key is 1-128 letters, digits or _ - . :");
      try {
        await request.services.featureFlags.create({ key, ...definition(request.body) });
      } catch (error) {
        if (error instanceof FeatureFlagKeyTakenError) throw new ApiError("FEATURE_FLAG_EXISTS");
        throw error;
      }
      return reply.code(201).send(success("Feature flag successfully created"));
    },
  );

  api.put(
    "/feature_flags/:feature_flag_key",
    {
      schema: {
        ...TAG,
        params: FlagKeyParams,
        querystring: ReplaceFeatureFlagQuery,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...FLAG_NOT_FOUND },
      },
      config: { scope: "update:feature_flags" },
    },
    async (request) => {
      const flag = await findFlag(request, request.params.feature_flag_key);
      await request.services.featureFlags.replace(flag, definition(request.query));
      return success("Feature flag successfully updated");
    },
  );

  api.delete(
    "/feature_flags/:feature_flag_key",
    {
      schema: {
        ...TAG,
        params: FlagKeyParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...FLAG_NOT_FOUND },
      },
      config: { scope: "delete:feature_flags" },
    },
    async (request) => {
      const flag = await findFlag(request, request.params.feature_flag_key);
      // Its overrides go with it (foreign keys cascade).
      await request.services.featureFlags.delete(flag.key);
      return success("Feature flag successfully deleted");
    },
  );

  // ---- environment ------------------------------------------------------------------------------

  api.get(
    "/environment/feature_flags",
    {
      schema: { ...ENVIRONMENTS, response: { 200: EnvironmentFlagsResponse, ...READ_ERRORS } },
      config: { scope: "read:environment_feature_flags" },
    },
    async (request) => {
      const flags = await request.services.featureFlags.all();
      return {
        ...success(),
        feature_flags: Object.fromEntries(
          flags.map((f) => [f.key, { type: f.type, value: f.environment_value ?? f.default_value }]),
        ),
        // Every flag is on the one page, so no next_token: Kinde's
        // get_environment_feature_flags_response types it as a non-null string.
      };
    },
  );

  api.delete(
    "/environment/feature_flags",
    {
      schema: { ...ENVIRONMENTS, response: { 200: SuccessResponse, ...WRITE_ERRORS } },
      config: { scope: "delete:environment_feature_flags" },
    },
    async (request) => {
      await request.services.featureFlags.clearEnvironmentValues();
      return success("Feature flag overrides successfully deleted");
    },
  );

  api.patch(
    "/environment/feature_flags/:feature_flag_key",
    {
      schema: {
        ...ENVIRONMENTS,
        params: FlagKeyParams,
        body: EnvironmentValueBody,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...FLAG_NOT_FOUND },
      },
      config: { scope: "update:environment_feature_flags" },
    },
    async (request) => {
      const flag = await findFlag(request, request.params.feature_flag_key);
      const value = checkOverride(flag, "env", request.body.value);
      await request.services.featureFlags.setEnvironmentValue(flag.key, value);
      return success("Feature flag override successfully updated");
    },
  );

  api.delete(
    "/environment/feature_flags/:feature_flag_key",
    {
      schema: {
        ...ENVIRONMENTS,
        params: FlagKeyParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...FLAG_NOT_FOUND },
      },
      config: { scope: "delete:environment_feature_flags" },
    },
    async (request) => {
      const flag = await findFlag(request, request.params.feature_flag_key);
      await request.services.featureFlags.setEnvironmentValue(flag.key, null);
      return success("Feature flag override successfully deleted");
    },
  );

  // ---- organization -----------------------------------------------------------------------------

  api.get(
    "/organizations/:org_code/feature_flags",
    {
      schema: {
        ...ORGANIZATIONS,
        params: OrgCodeParams,
        response: { 200: OrganizationFlagsResponse, ...READ_ERRORS, ...notFound("Organization") },
      },
      config: { scope: "read:organization_feature_flags" },
    },
    async (request) => {
      const org = await findOrganization(request, request.params.org_code);
      const { featureFlags } = request.services;
      const [flags, values] = await Promise.all([
        featureFlags.all(),
        featureFlags.organizationValues(org.code),
      ]);
      // What the organization's members get before any user override.
      return {
        ...success(),
        feature_flags: Object.fromEntries(
          flags.map((f) => {
            const own = values.get(f.key);
            const value =
              own !== undefined && overridable(f, "org") ? own : (f.environment_value ?? f.default_value);
            return [f.key, { type: f.type, value }];
          }),
        ),
      };
    },
  );

  api.delete(
    "/organizations/:org_code/feature_flags",
    {
      schema: {
        ...ORGANIZATIONS,
        params: OrgCodeParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...notFound("Organization") },
      },
      config: { scope: "delete:organization_feature_flags" },
    },
    async (request) => {
      const org = await findOrganization(request, request.params.org_code);
      await request.services.featureFlags.deleteOrganizationValues(org.code);
      return success("Feature flag overrides successfully deleted");
    },
  );

  api.patch(
    "/organizations/:org_code/feature_flags/:feature_flag_key",
    {
      schema: {
        ...ORGANIZATIONS,
        params: OrgFlagParams,
        querystring: ValueQuery,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...notFound("Organization or feature flag") },
      },
      config: { scope: "update:organization_feature_flags" },
    },
    async (request) => {
      const org = await findOrganization(request, request.params.org_code);
      const flag = await findFlag(request, request.params.feature_flag_key);
      const value = checkOverride(flag, "org", request.query.value);
      await request.services.featureFlags.setOrganizationValue(org.code, flag.key, value);
      return success("Feature flag override successfully updated");
    },
  );

  api.delete(
    "/organizations/:org_code/feature_flags/:feature_flag_key",
    {
      schema: {
        ...ORGANIZATIONS,
        params: OrgFlagParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...notFound("Organization or feature flag") },
      },
      config: { scope: "delete:organization_feature_flags" },
    },
    async (request) => {
      const org = await findOrganization(request, request.params.org_code);
      const flag = await findFlag(request, request.params.feature_flag_key);
      await request.services.featureFlags.deleteOrganizationValues(org.code, flag.key);
      return success("Feature flag override successfully deleted");
    },
  );

  // ---- user -------------------------------------------------------------------------------------

  api.patch(
    "/users/:user_id/feature_flags/:feature_flag_key",
    {
      schema: {
        ...USERS,
        params: UserFlagParams,
        querystring: ValueQuery,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...notFound("User or feature flag") },
      },
      config: { scope: "update:user_feature_flags" },
    },
    async (request) => {
      const user = await request.services.users.store.findById(request.params.user_id);
      if (!user) throw new ApiError("USER_NOT_FOUND");
      const flag = await findFlag(request, request.params.feature_flag_key);
      const value = checkOverride(flag, "usr", request.query.value);
      await request.services.featureFlags.setUserValue(user.id, flag.key, value);
      return success("Feature flag override successfully updated");
    },
  );
}
