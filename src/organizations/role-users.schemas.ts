// Request and response schemas of Kinde's organization role users operations
// (GetOrganizationRoleUsers, GetOrganizationRoleUsersCount, GetOrganizationRoleActiveUsersCount).
import { type Static, Type } from "@sinclair/typebox";
import { nullable, PageSize, SuccessResponse } from "../management/schemas.js";

const Id = Type.String({ minLength: 1, maxLength: 100 });

export const OrgRoleParams = Type.Object({ org_code: Id, role_id: Id });

export const OrgRoleUsersQuery = Type.Object({
  page_size: PageSize,
  next_token: Type.Optional(nullable(Type.String({ maxLength: 1000 }))),
});

/** Both bounds required (Kinde); parsed and rounded in the route (role-users.routes.ts). */
export const ActiveUsersQuery = Type.Object({
  date_time_from: Type.String({ minLength: 1, maxLength: 40 }),
  date_time_to: Type.String({ minLength: 1, maxLength: 40 }),
});

const Code = SuccessResponse.properties;

export const OrgRoleUsersResponse = Type.Object({
  ...Code,
  users: Type.Array(Type.Object({ id: Type.String() })),
  next_token: nullable(Type.String()),
});

export const OrgRoleUsersCountResponse = Type.Object({ ...Code, count: Type.Integer() });

export const ActiveUsersCountResponse = Type.Object({
  ...Code,
  active_users_count: Type.Integer(),
  date_time_from: Type.String(),
  date_time_to: Type.String(),
});

export type OrgRoleUsersQuery = Static<typeof OrgRoleUsersQuery>;
