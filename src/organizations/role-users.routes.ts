// Management API: who holds a role in an organization (Kinde's GetOrganizationRoleUsers,
// GetOrganizationRoleUsersCount, GetOrganizationRoleActiveUsersCount; x-scope
// read:organization_user_roles). Paged by user id with a keyset cursor (role-users.store.ts), so a
// role with many holders is never read whole.
//
// "Active", as Kinde's specification defines it: a holder who was issued at least one access token
// in the window, whatever the token's organization or application — read from the authentication
// log's token grants, so it reaches back as far as AUDIT_LOG_RETENTION_DAYS keeps them (30 days by
// default) and counts a grant once the log's writer has flushed it (within a second or so).
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ApiError } from "../management/errors.js";
import { notFound, READ_ERRORS } from "../management/responses.schemas.js";
import { encodeCursor, readPage, success } from "../management/schemas.js";
import { findOrganization } from "./organizations.routes.js";
import {
  ActiveUsersCountResponse,
  ActiveUsersQuery,
  OrgRoleParams,
  OrgRoleUsersCountResponse,
  OrgRoleUsersQuery,
  OrgRoleUsersResponse,
} from "./role-users.schemas.js";
import { RoleUsersStore } from "./role-users.store.js";

const TAG = { tags: ["Organizations"] };
const NOT_FOUND = notFound("Organization or role");
const SCOPE = { scope: "read:organization_user_roles" };
/** Kinde: the window must not exceed 3 days (to < from + 3 days, both bounds inclusive). */
const MAX_WINDOW_SECONDS = 3 * 86_400;

/** ISO 8601 in UTC: Z or a zero offset; fractional seconds allowed (rounded by the caller). */
const UTC_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|[+-]00:?00)$/i;

/**
 * A date-time as epoch seconds, fractions rounded down (`from`) or up (`to`) as Kinde normalises
 * them before anything else; INVALID_DATE_TIME for anything else, an impossible date included.
 */
export function parseUtcSeconds(value: string, field: string, round: "down" | "up"): number {
  const match = UTC_DATE_TIME.exec(value);
  if (!match) throw new ApiError("INVALID_DATE_TIME", `${field} must be an ISO 8601 date-time in UTC`);
  const [y, mo, d, h, mi, s] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  if (
    y < 1970 ||
    back.getUTCFullYear() !== y ||
    back.getUTCMonth() !== mo - 1 ||
    back.getUTCDate() !== d ||
    h > 23 ||
    mi > 59 ||
    s > 59
  )
    throw new ApiError("INVALID_DATE_TIME", `${field} is not a real date-time`);
  const fractional = match[7] !== undefined && /[1-9]/.test(match[7]);
  return ms / 1000 + (round === "up" && fractional ? 1 : 0);
}

/** Epoch seconds as Kinde echoes them: UTC at second precision. */
const utcSeconds = (seconds: number) => new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");

async function findRoleIn(request: FastifyRequest, orgCode: string, roleId: string) {
  const org = await findOrganization(request, orgCode);
  const role = await request.services.roles.store.findRole(roleId);
  if (!role) throw new ApiError("ROLE_NOT_FOUND");
  return { org, role };
}

const isUserCursor = (value: unknown): value is { id: string } =>
  typeof value === "object" &&
  value !== null &&
  typeof (value as { id: unknown }).id === "string" &&
  (value as { id: string }).id.length <= 100;

export function registerRoleUsersRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/organizations/:org_code/roles/:role_id/users",
    {
      schema: {
        ...TAG,
        params: OrgRoleParams,
        querystring: OrgRoleUsersQuery,
        response: { 200: OrgRoleUsersResponse, ...READ_ERRORS, ...NOT_FOUND },
      },
      config: SCOPE,
    },
    async (request) => {
      const { org, role } = await findRoleIn(request, request.params.org_code, request.params.role_id);
      const { limit, after } = readPage(request.query.page_size, request.query.next_token, isUserCursor);
      const store = new RoleUsersStore(request.services.db);
      // One row more than the page says whether another page follows.
      const ids = await store.page(org.code, role.id, limit + 1, after?.id);
      const page = ids.slice(0, limit);
      const last = page.at(-1);
      return {
        ...success(),
        users: page.map((id) => ({ id })),
        next_token: ids.length > limit && last ? encodeCursor({ id: last }) : null,
      };
    },
  );

  api.get(
    "/organizations/:org_code/roles/:role_id/users/count",
    {
      schema: {
        ...TAG,
        params: OrgRoleParams,
        response: { 200: OrgRoleUsersCountResponse, ...READ_ERRORS, ...NOT_FOUND },
      },
      config: SCOPE,
    },
    async (request) => {
      const { org, role } = await findRoleIn(request, request.params.org_code, request.params.role_id);
      return { ...success(), count: await new RoleUsersStore(request.services.db).count(org.code, role.id) };
    },
  );

  api.get(
    "/organizations/:org_code/roles/:role_id/active_users/count",
    {
      schema: {
        ...TAG,
        params: OrgRoleParams,
        querystring: ActiveUsersQuery,
        response: { 200: ActiveUsersCountResponse, ...READ_ERRORS, ...NOT_FOUND },
      },
      config: SCOPE,
    },
    async (request) => {
      const from = parseUtcSeconds(request.query.date_time_from, "date_time_from", "down");
      const to = parseUtcSeconds(request.query.date_time_to, "date_time_to", "up");
      if (to < from)
        throw new ApiError("INVALID_REQUEST", "date_time_to must not be earlier than date_time_from");
      if (to >= from + MAX_WINDOW_SECONDS) throw new ApiError("DATE_TIME_RANGE_TOO_LARGE");
      const { org, role } = await findRoleIn(request, request.params.org_code, request.params.role_id);
      const count = await new RoleUsersStore(request.services.db).activeCount(org.code, role.id, from, to);
      return {
        ...success(),
        active_users_count: count,
        date_time_from: utcSeconds(from),
        date_time_to: utcSeconds(to),
      };
    },
  );
}
