// Request and response schemas of Kinde's roles and permissions operations (/api/v1/roles…,
// /api/v1/permissions…), field for field as in Kinde's specification.
import { type Static, Type } from "@sinclair/typebox";
import { nullable, PageSize, SuccessResponse } from "../management/schemas.js";

const Id = Type.String({ minLength: 1, maxLength: 100 });
const Key = Type.String({ minLength: 1, maxLength: 128 });
const Name = Type.String({ minLength: 1, maxLength: 128 });
const Description = Type.String({ maxLength: 1000 });
const NextToken = Type.Optional(nullable(Type.String({ maxLength: 1000 })));

export const RoleIdParams = Type.Object({ role_id: Id });
export const RolePermissionParams = Type.Object({ role_id: Id, permission_id: Id });
export const PermissionIdParams = Type.Object({ permission_id: Id });
export const RoleScopeParams = Type.Object({ role_id: Id, scope_id: Id });

const sort = (...values: string[]) => Type.Optional(nullable(Type.Union(values.map((v) => Type.Literal(v)))));

export const ListRolesQuery = Type.Object({
  sort: sort("name_asc", "name_desc", "key_asc", "key_desc"),
  page_size: PageSize,
  next_token: NextToken,
});

export const ListPermissionsQuery = Type.Object({
  sort: sort("name_asc", "name_desc", "id_asc", "id_desc"),
  page_size: PageSize,
  next_token: NextToken,
});

export const PageQuery = Type.Object({ page_size: PageSize, next_token: NextToken });

export const CreateRoleBody = Type.Object({
  name: Name,
  description: Type.Optional(nullable(Description)),
  key: Key,
  is_default_role: Type.Optional(Type.Boolean()),
  assignment_permission_id: Type.Optional(nullable(Id)),
});

export const UpdateRoleBody = CreateRoleBody;

export const UpdateRolePermissionsBody = Type.Object({
  permissions: Type.Array(
    Type.Object({ id: Id, operation: Type.Optional(nullable(Type.String({ maxLength: 20 }))) }),
    { minItems: 1, maxItems: 100 },
  ),
});

export const AddRoleScopeBody = Type.Object({ scope_id: Id });

export const CreatePermissionBody = Type.Object({
  name: Type.Optional(Name),
  description: Type.Optional(nullable(Description)),
  key: Key,
});

export const UpdatePermissionBody = Type.Object({
  name: Type.Optional(Name),
  description: Type.Optional(nullable(Description)),
  key: Type.Optional(Key),
});

// ---- responses -----------------------------------------------------------------------------------

const Code = SuccessResponse.properties;

const Role = Type.Object({
  id: Type.String(),
  key: Type.String(),
  name: Type.String(),
  description: nullable(Type.String()),
  is_default_role: Type.Boolean(),
});
const Permission = Type.Object({
  id: Type.String(),
  key: Type.String(),
  name: Type.String(),
  description: nullable(Type.String()),
});

export const RolesResponse = Type.Object({
  ...Code,
  roles: Type.Array(Role),
  next_token: Type.Optional(Type.String()),
});
export const RoleResponse = Type.Object({ ...Code, role: Role });
export const CreateRoleResponse = Type.Object({ ...Code, role: Type.Object({ id: Type.String() }) });
export const PermissionsResponse = Type.Object({
  ...Code,
  permissions: Type.Array(Permission),
  next_token: Type.Optional(Type.String()),
});
export const UpdateRolePermissionsResponse = Type.Object({
  ...Code,
  permissions_added: Type.Array(Type.String()),
  permissions_removed: Type.Array(Type.String()),
});
export const RoleUsersResponse = Type.Object({
  ...Code,
  users: Type.Array(Type.Object({ id: Type.String(), org_codes: Type.Array(Type.String()) })),
  next_token: nullable(Type.String()),
});

/** Kinde's role_scopes_response: each scope with the API it belongs to. */
export const RoleScopesResponse = Type.Object({
  ...Code,
  scopes: Type.Array(
    Type.Object({
      id: Type.String(),
      key: Type.String(),
      description: nullable(Type.String()),
      api_id: Type.String(),
    }),
  ),
});

export type CreateRoleBody = Static<typeof CreateRoleBody>;
