// Management API: Kinde's system permissions (GetSystemPermissions, GetRoleSystemPermissions,
// UpdateRoleSystemPermissions), with Kinde's scopes (x-scope), shapes and page_size + next_token
// paging. They decide what an organization's members may do in its self-service portal
// (catalogue.ts); a role carries them like its ordinary permissions (roles.routes.ts's
// /roles/{id}/permissions, whose PATCH rules this one follows: `operation` is "delete" or absent,
// an id both added and removed is refused, nothing is written unless every id is known).
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { type Static, Type } from "@sinclair/typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ApiError } from "../management/errors.js";
import { notFound, READ_ERRORS, WRITE_ERRORS } from "../management/responses.schemas.js";
import { nullable, PageSize, SuccessResponse, success } from "../management/schemas.js";
import { pageOf } from "../organizations/paging.js";
import type { SystemPermission } from "./catalogue.js";
import { SystemPermissionsStore, UnknownSystemPermissionError } from "./system-permissions.store.js";

const TAG = { tags: ["Roles"] };
const Id = Type.String({ minLength: 1, maxLength: 100 });

const ListQuery = Type.Object({
  sort: Type.Optional(
    nullable(Type.Union(["name_asc", "name_desc", "id_asc", "id_desc"].map((v) => Type.Literal(v)))),
  ),
  page_size: PageSize,
  next_token: Type.Optional(nullable(Type.String({ maxLength: 1000 }))),
});
const RoleIdParams = Type.Object({ role_id: Id });
const UpdateBody = Type.Object({
  system_permissions: Type.Array(
    Type.Object({ id: Id, operation: Type.Optional(nullable(Type.String({ maxLength: 20 }))) }),
    { minItems: 1, maxItems: 100 },
  ),
});

const SystemPermissionBody = Type.Object({
  id: Type.String(),
  key: Type.String(),
  name: Type.String(),
  description: Type.String(),
});
const ListResponse = Type.Object({
  ...SuccessResponse.properties,
  system_permissions: Type.Array(SystemPermissionBody),
  next_token: nullable(Type.String()),
});
const UpdateResponse = Type.Object({
  ...SuccessResponse.properties,
  system_permissions_added: Type.Array(Type.String()),
  system_permissions_removed: Type.Array(Type.String()),
});

const storeOf = (request: FastifyRequest) => new SystemPermissionsStore(request.services.db);

async function findRole(request: FastifyRequest, id: string) {
  const role = await request.services.roles.store.findRole(id);
  if (!role) throw new ApiError("ROLE_NOT_FOUND");
  return role;
}

function listed(rows: readonly SystemPermission[], query: Static<typeof ListQuery>) {
  const byId = query.sort === "id_asc" || query.sort === "id_desc";
  const { page, nextToken } = pageOf(rows, {
    key: (p) => [byId ? p.id : p.name, p.id],
    descending: query.sort === "name_desc" || query.sort === "id_desc",
    pageSize: query.page_size,
    nextToken: query.next_token,
  });
  return {
    ...success(),
    system_permissions: page.map(({ id, key, name, description }) => ({ id, key, name, description })),
    next_token: nextToken,
  };
}

export function registerSystemPermissionsRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/system_permissions",
    {
      schema: { ...TAG, querystring: ListQuery, response: { 200: ListResponse, ...READ_ERRORS } },
      config: { scope: "read:system_permissions" },
    },
    async (request) => listed(await storeOf(request).all(), request.query),
  );

  api.get(
    "/roles/:role_id/system_permissions",
    {
      schema: {
        ...TAG,
        params: RoleIdParams,
        querystring: ListQuery,
        response: { 200: ListResponse, ...READ_ERRORS, ...notFound("Role") },
      },
      config: { scope: "read:role_system_permissions" },
    },
    async (request) => {
      const role = await findRole(request, request.params.role_id);
      return listed(await storeOf(request).ofRole(role.id), request.query);
    },
  );

  api.patch(
    "/roles/:role_id/system_permissions",
    {
      schema: {
        ...TAG,
        params: RoleIdParams,
        body: UpdateBody,
        response: { 200: UpdateResponse, ...WRITE_ERRORS, ...notFound("Role") },
      },
      config: { scope: "update:role_system_permissions" },
    },
    async (request) => {
      const role = await findRole(request, request.params.role_id);
      const wanted = new Map<string, boolean>();
      for (const { id, operation } of request.body.system_permissions) {
        if (operation !== undefined && operation !== null && operation !== "delete")
          throw new ApiError(
            "INVALID_REQUEST",
            `operation must be "delete" (remove) or absent (add), not ${JSON.stringify(operation)}`,
          );
        const remove = operation === "delete";
        if (wanted.get(id) === !remove)
          throw new ApiError("INVALID_REQUEST", `System permission ${id} is both added and removed`);
        wanted.set(id, remove);
      }
      try {
        const { added, removed } = await storeOf(request).update(
          role.id,
          [...wanted].map(([id, remove]) => ({ id, remove })),
        );
        return {
          ...success("System permissions successfully updated"),
          system_permissions_added: added,
          system_permissions_removed: removed,
        };
      } catch (error) {
        // Kinde's specification answers 400 for this operation's errors ("Error updating system
        // permissions"): an id that names no system permission is one.
        if (error instanceof UnknownSystemPermissionError)
          throw new ApiError("INVALID_REQUEST", `System permission ${error.id} does not exist`);
        throw error;
      }
    },
  );
}
