// Management API: organizations (Kinde's /api/v1/organization and /api/v1/organizations); their
// members and each member's roles and permissions are in organization-users.routes.ts. Kinde's
// quirks are kept: singular /organization for create/get/update/delete, the organization itself
// (unwrapped) as the GET body.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { colourValue, HEX_COLOUR } from "../branding/colours.js";
import { sourceOfCaller } from "../events/events.js";
import { overridable, valueProblem } from "../feature-flags/feature-flags.service.js";
import { ApiError } from "../management/errors.js";
import { normalizePrefix } from "../management/listing.js";
import {
  conflict,
  notFound,
  POST_ERRORS,
  READ_ERRORS,
  WRITE_ERRORS,
} from "../management/responses.schemas.js";
import { encodeCursor, isTimeCursor, readPage, SuccessResponse, success } from "../management/schemas.js";
import { registerOrganizationSessionsRoutes } from "./organization-sessions.routes.js";
import {
  COLOUR_FIELDS,
  CreateOrganizationBody,
  CreateOrganizationResponse,
  GetOrganizationQuery,
  ListOrganizationsQuery,
  OrganizationResponse,
  OrganizationsResponse,
  OrgCodeParams,
  UpdateOrganizationBody,
  UpdateOrganizationQuery,
} from "./organizations.schemas.js";
import { type OrganizationFields, OrganizationTakenError } from "./organizations.service.js";
import type { OrganizationRow } from "./organizations.store.js";
import { pageOf } from "./paging.js";
import { registerRoleUsersRoutes } from "./role-users.routes.js";

const TAG = { tags: ["Organizations"] };
const ORGANIZATION_NOT_FOUND = notFound("Organization");
const ORGANIZATION_EXISTS = conflict("An organization with this handle or external_id");

/** Seconds since the epoch as Kinde's ISO 8601 timestamps (null stays null). */
export const iso = (seconds: number | null | undefined): string | null =>
  seconds === null || seconds === undefined ? null : new Date(seconds * 1000).toISOString();

const CONTROL = /\p{Cc}/u;

export async function findOrganization(request: FastifyRequest, code: string): Promise<OrganizationRow> {
  const org = await request.services.organizations.store.find(code);
  if (!org) throw new ApiError("ORGANIZATION_NOT_FOUND");
  return org;
}

/** The organization in the path, and the user in the path as one of its members. */
export async function findMember(
  request: FastifyRequest,
  orgCode: string,
  userId: string,
): Promise<OrganizationRow> {
  const org = await findOrganization(request, orgCode);
  if (!(await request.services.organizations.store.isMember(org.code, userId)))
    throw new ApiError("ORGANIZATION_USER_NOT_FOUND");
  return org;
}

function text(value: string | null | undefined, field: string): string | null | undefined {
  if (value === undefined || value === null) return value;
  const trimmed = value.trim();
  if (CONTROL.test(trimmed))
    throw new ApiError("INVALID_REQUEST", `${field} must not contain control characters`);
  return trimmed === "" ? null : trimmed;
}

/** The fields of a create or update body that Latchkey stores, checked. */
function organizationFields(body: CreateOrganizationBody | UpdateOrganizationBody): OrganizationFields {
  const branding: Record<string, string> = {};
  for (const field of COLOUR_FIELDS) {
    const value = body[field];
    if (value === undefined) continue;
    if (!HEX_COLOUR.test(value))
      throw new ApiError("INVALID_REQUEST", `${field} must be a hex colour such as #0055ff`);
    branding[field] = value;
  }
  if (body.theme_code !== undefined) branding.theme_code = body.theme_code;
  if ("allowed_domains" in body && body.allowed_domains !== undefined) {
    for (const domain of body.allowed_domains) {
      if (!/^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i.test(domain))
        throw new ApiError("INVALID_REQUEST", `allowed_domains: ${JSON.stringify(domain)} is not a domain`);
    }
    branding.allowed_domains = JSON.stringify(body.allowed_domains.map((d) => d.toLowerCase()));
  }
  if ("is_auto_join_domain_list" in body && body.is_auto_join_domain_list !== undefined)
    branding.is_auto_join_domain_list = String(body.is_auto_join_domain_list);
  if ("is_enable_advanced_orgs" in body && body.is_enable_advanced_orgs !== undefined)
    branding.is_enable_advanced_orgs = String(body.is_enable_advanced_orgs);
  const name = body.name === undefined ? undefined : text(body.name, "name");
  if (body.name !== undefined && !name) throw new ApiError("INVALID_REQUEST", "name must not be blank");
  const senderEmail = text(body.sender_email, "sender_email");
  if (senderEmail && !/^[^\s@]{1,64}@[^\s@]{1,255}$/.test(senderEmail))
    throw new ApiError("INVALID_EMAIL", "sender_email is not a valid email address");
  return {
    name: name ?? undefined,
    handle: text(body.handle, "handle"),
    external_id: text(body.external_id, "external_id"),
    is_auto_membership_enabled: body.is_auto_membership_enabled,
    is_allow_registrations: body.is_allow_registrations,
    sender_name: text(body.sender_name, "sender_name"),
    sender_email: senderEmail,
    ...("is_suspended" in body ? { is_suspended: body.is_suspended } : {}),
    // Sign-ins into the organization then need a second factor whatever the environment's policy
    // (src/mfa/policy.ts: the stricter wins); sessions are checked against it at their next use.
    ...("is_enforce_mfa" in body ? { is_enforce_mfa: body.is_enforce_mfa } : {}),
    ...(Object.keys(branding).length > 0 ? { branding } : {}),
  };
}

const summary = (org: OrganizationRow) => ({
  code: org.code,
  name: org.name,
  handle: org.handle,
  is_default: org.is_default === 1,
  external_id: org.external_id,
  is_auto_membership_enabled: org.is_auto_membership_enabled === 1,
});

function taken(error: unknown): never {
  if (error instanceof OrganizationTakenError)
    throw new ApiError("ORGANIZATION_EXISTS", `An organization with this ${error.field} already exists`);
  throw error;
}

export function registerOrganizationsRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.post(
    "/organization",
    {
      schema: {
        ...TAG,
        body: CreateOrganizationBody,
        response: { 200: CreateOrganizationResponse, ...POST_ERRORS, ...ORGANIZATION_EXISTS },
      },
      config: { scope: "create:organizations" },
    },
    async (request) => {
      const { body, services } = request;
      if (body.is_create_billing_customer || body.billing_email || body.billing_plan_code)
        throw new ApiError("INVALID_REQUEST", "Billing is not supported; leave out the billing fields");
      const fields = organizationFields(body);
      // Initial feature flag overrides: every key must be a flag overridable per organization.
      const flags = Object.entries(body.feature_flags ?? {});
      for (const [key, value] of flags) {
        const flag = await services.featureFlags.find(key);
        if (!flag) throw new ApiError("FEATURE_FLAG_NOT_FOUND", `No feature flag has the key ${key}`);
        if (!overridable(flag, "org")) throw new ApiError("FEATURE_FLAG_OVERRIDE_NOT_ALLOWED");
        const problem = valueProblem(flag.type, value);
        if (problem) throw new ApiError("INVALID_FEATURE_FLAG_VALUE", `feature_flags.${key} ${problem}`);
      }
      let org: OrganizationRow;
      try {
        org = await services.organizations.create(
          { ...fields, name: fields.name! },
          sourceOfCaller(request.caller),
        );
      } catch (error) {
        taken(error);
      }
      for (const [key, value] of flags)
        await services.featureFlags.setOrganizationValue(org.code, key, value);
      return { ...success(), organization: { code: org.code } };
    },
  );

  api.get(
    "/organization",
    {
      schema: {
        ...TAG,
        querystring: GetOrganizationQuery,
        response: { 200: OrganizationResponse, ...READ_ERRORS, ...ORGANIZATION_NOT_FOUND },
      },
      config: { scope: "read:organizations" },
    },
    async (request) => {
      const org = await findOrganization(request, request.query.code);
      const branding = JSON.parse(org.branding) as Record<string, string>;
      const theme = (branding.theme_code ?? "light") as "light" | "dark" | "user_preference";
      return {
        ...summary(org),
        allowed_domains: branding.allowed_domains ? (JSON.parse(branding.allowed_domains) as string[]) : [],
        ...Object.fromEntries(COLOUR_FIELDS.map((field) => [field, colourValue(branding[field])])),
        theme_code: theme,
        color_scheme: theme === "user_preference" ? "light dark" : theme,
        created_on: iso(org.created_at)!,
        is_allow_registrations: org.is_allow_registrations === 1,
        sender_name: org.sender_name,
        sender_email: org.sender_email,
        is_suspended: org.is_suspended === 1,
        suspended_on: iso(org.suspended_at),
      } as never;
    },
  );

  api.get(
    "/organizations",
    {
      schema: {
        ...TAG,
        querystring: ListOrganizationsQuery,
        response: { 200: OrganizationsResponse, ...READ_ERRORS },
      },
      config: { scope: "read:organizations" },
    },
    async (request) => {
      const { sort, page_size, next_token } = request.query;
      const store = request.services.organizations.store;
      const prefix = normalizePrefix(request.query.starts_with);
      const total = request.query.include_count ? await store.count(prefix) : undefined;
      const counted = total ? { total_count: total.count, total_count_accuracy: total.accuracy } : {};
      if (sort === "created_on_desc") {
        const { limit, after } = readPage(page_size ?? undefined, next_token, isTimeCursor);
        const rows = await store.newestPage({ limit: limit + 1, after, prefix });
        const last = rows[limit - 1];
        return {
          ...success(),
          organizations: rows.slice(0, limit).map(summary),
          // Left out on the last page: Kinde's get_organizations_response types it as a string.
          ...(rows.length > limit && last
            ? { next_token: encodeCursor({ at: last.created_at, id: last.code }) }
            : {}),
          ...counted,
        };
      }
      const byEmail = sort === "email_asc" || sort === "email_desc";
      const { page, nextToken } = pageOf(await store.matching(prefix), {
        // Organizations have no email of their own; Kinde's email sort uses the sender email.
        key: (org) => [byEmail ? (org.sender_email ?? "") : org.name, org.code],
        descending: sort === "name_desc" || sort === "email_desc",
        pageSize: page_size,
        nextToken: next_token,
      });
      return {
        ...success(),
        organizations: page.map(summary),
        ...(nextToken ? { next_token: nextToken } : {}),
        ...counted,
      };
    },
  );

  api.patch(
    "/organization/:org_code",
    {
      schema: {
        ...TAG,
        params: OrgCodeParams,
        querystring: UpdateOrganizationQuery,
        body: UpdateOrganizationBody,
        response: {
          200: SuccessResponse,
          ...WRITE_ERRORS,
          ...ORGANIZATION_NOT_FOUND,
          ...ORGANIZATION_EXISTS,
        },
      },
      config: { scope: "update:organizations" },
    },
    async (request) => {
      const org = await findOrganization(request, request.params.org_code);
      if (Object.keys(request.body).length === 0) throw new ApiError("NO_FIELDS_TO_UPDATE");
      if (request.body.is_suspended === true && org.is_default === 1)
        throw new ApiError("DEFAULT_ORGANIZATION_PROTECTED", "The default organization cannot be suspended");
      try {
        await request.services.organizations.update(
          org,
          organizationFields(request.body),
          sourceOfCaller(request.caller),
        );
      } catch (error) {
        taken(error);
      }
      return success("Organization successfully updated");
    },
  );

  api.delete(
    "/organization/:org_code",
    {
      schema: {
        ...TAG,
        params: OrgCodeParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...ORGANIZATION_NOT_FOUND },
      },
      config: { scope: "delete:organizations" },
    },
    async (request) => {
      const org = await findOrganization(request, request.params.org_code);
      if (org.is_default === 1) throw new ApiError("DEFAULT_ORGANIZATION_PROTECTED");
      await request.services.organizations.delete(org.code, sourceOfCaller(request.caller));
      return success("Organization successfully deleted");
    },
  );

  registerRoleUsersRoutes(app);
  registerOrganizationSessionsRoutes(app);
}
