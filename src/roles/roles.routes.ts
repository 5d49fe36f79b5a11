// Management API: roles and permissions (Kinde's /api/v1/roles and /api/v1/permissions). Roles
// bundle permissions; members hold roles and permissions per organization
// (organizations/organization-users.routes.ts), and access tokens carry the keys of those in the
// organization signed into. Kinde's quirks are kept: creating a role, updating a role and creating
// a permission answer 201; creating a permission returns no id.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { sourceOfCaller } from "../events/events.js";
import { ApiError } from "../management/errors.js";
import {
  conflict,
  notFound,
  POST_ERRORS,
  READ_ERRORS,
  WRITE_ERRORS,
} from "../management/responses.schemas.js";
import { SuccessResponse, success } from "../management/schemas.js";
import { pageOf } from "../organizations/paging.js";
import {
  CreatePermissionBody,
  CreateRoleBody,
  CreateRoleResponse,
  ListPermissionsQuery,
  ListRolesQuery,
  PageQuery,
  PermissionIdParams,
  PermissionsResponse,
  RoleIdParams,
  RolePermissionParams,
  RoleResponse,
  RolesResponse,
  RoleUsersResponse,
  UpdatePermissionBody,
  UpdateRoleBody,
  UpdateRolePermissionsBody,
  UpdateRolePermissionsResponse,
} from "./roles.schemas.js";
import { KeyTakenError, UnknownPermissionError } from "./roles.service.js";
import type { PermissionRow, RoleRow } from "./roles.store.js";

const ROLES = { tags: ["Roles"] };
const PERMISSIONS = { tags: ["Permissions"] };
const ROLE_NOT_FOUND = notFound("Role");
const PERMISSION_NOT_FOUND = notFound("Permission");

/** Keys travel in tokens and comma-separated filters: no spaces, commas or quotes. */
const KEY = /^[A-Za-z0-9_:.\-/]{1,128}$/;
const CONTROL = /\p{Cc}/u;
const CONTROL_BUT_WHITESPACE = /(?![\t\n\r])\p{Cc}/u;

function checkKey(key: string): string {
  if (!KEY.test(key))
    throw new ApiError("INVALID_KEY", "A key is 1-128 letters, digits or _ : . - / (no spaces or commas)");
  return key;
}

function displayText(value: string | null | undefined, field: "name" | "description"): string | null {
  const text = value?.trim();
  if (text && (field === "name" ? CONTROL : CONTROL_BUT_WHITESPACE).test(text))
    throw new ApiError("INVALID_REQUEST", `${field} must not contain control characters`);
  return text || null;
}

export async function findRole(request: FastifyRequest, id: string): Promise<RoleRow> {
  const role = await request.services.roles.store.findRole(id);
  if (!role) throw new ApiError("ROLE_NOT_FOUND");
  return role;
}

async function findPermission(request: FastifyRequest, id: string): Promise<PermissionRow> {
  const permission = await request.services.roles.store.findPermission(id);
  if (!permission) throw new ApiError("PERMISSION_NOT_FOUND");
  return permission;
}

const roleBody = (r: RoleRow) => ({
  id: r.id,
  key: r.key,
  name: r.name,
  description: r.description,
  is_default_role: r.is_default_role === 1,
});
const permissionBody = (p: PermissionRow) => ({
  id: p.id,
  key: p.key,
  name: p.name,
  description: p.description,
});

function keyTaken(error: unknown): never {
  if (error instanceof KeyTakenError)
    throw new ApiError(error.what === "role" ? "ROLE_EXISTS" : "PERMISSION_EXISTS");
  throw error;
}

/** Kinde's value of assignment_permission_id that removes the requirement on update. */
const NO_PERMISSION_REQUIRED = "NO_PERMISSION_REQUIRED";

async function roleInput(request: FastifyRequest, body: CreateRoleBody) {
  const name = displayText(body.name, "name");
  if (!name) throw new ApiError("INVALID_REQUEST", "name must not be blank");
  const assignment = body.assignment_permission_id ?? null;
  if (assignment !== null) await findPermission(request, assignment);
  return {
    key: checkKey(body.key),
    name,
    description: displayText(body.description, "description"),
    isDefault: body.is_default_role ?? false,
    assignmentPermissionId: assignment,
  };
}

/**
 * An update changes only what it names (Kinde: a null or absent assignment_permission_id makes no
 * change; NO_PERMISSION_REQUIRED removes the requirement).
 */
async function roleChanges(request: FastifyRequest, body: CreateRoleBody) {
  const name = displayText(body.name, "name");
  if (!name) throw new ApiError("INVALID_REQUEST", "name must not be blank");
  const assignment = body.assignment_permission_id;
  if (assignment != null && assignment !== NO_PERMISSION_REQUIRED) await findPermission(request, assignment);
  return {
    key: checkKey(body.key),
    name,
    description: body.description === undefined ? undefined : displayText(body.description, "description"),
    isDefault: body.is_default_role,
    assignmentPermissionId:
      assignment == null ? undefined : assignment === NO_PERMISSION_REQUIRED ? null : assignment,
  };
}

export function registerRolesRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/roles",
    {
      schema: { ...ROLES, querystring: ListRolesQuery, response: { 200: RolesResponse, ...READ_ERRORS } },
      config: { scope: "read:roles" },
    },
    async (request) => {
      const { sort, page_size, next_token } = request.query;
      const byKey = sort === "key_asc" || sort === "key_desc";
      const { page, nextToken } = pageOf(await request.services.roles.store.roles(), {
        key: (r) => [byKey ? r.key : r.name, r.id],
        descending: sort === "name_desc" || sort === "key_desc",
        pageSize: page_size,
        nextToken: next_token,
      });
      // Left out on the last page: Kinde's get_roles_response types next_token as a string.
      return { ...success(), roles: page.map(roleBody), ...(nextToken ? { next_token: nextToken } : {}) };
    },
  );

  api.post(
    "/roles",
    {
      schema: {
        ...ROLES,
        body: CreateRoleBody,
        response: {
          201: CreateRoleResponse,
          ...POST_ERRORS,
          ...PERMISSION_NOT_FOUND,
          ...conflict("A role with this key"),
        },
      },
      config: { scope: "create:roles" },
    },
    async (request, reply) => {
      const input = await roleInput(request, request.body);
      try {
        const role = await request.services.roles.createRole(input, sourceOfCaller(request.caller));
        return reply.code(201).send({ ...success("Role successfully created"), role: { id: role.id } });
      } catch (error) {
        keyTaken(error);
      }
    },
  );

  api.get(
    "/roles/:role_id",
    {
      schema: {
        ...ROLES,
        params: RoleIdParams,
        response: { 200: RoleResponse, ...READ_ERRORS, ...ROLE_NOT_FOUND },
      },
      config: { scope: "read:roles" },
    },
    async (request) => ({ ...success(), role: roleBody(await findRole(request, request.params.role_id)) }),
  );

  api.patch(
    "/roles/:role_id",
    {
      schema: {
        ...ROLES,
        params: RoleIdParams,
        body: UpdateRoleBody,
        response: {
          201: SuccessResponse,
          ...WRITE_ERRORS,
          ...notFound("Role or permission"),
          ...conflict("A role with this key"),
        },
      },
      config: { scope: "update:roles" },
    },
    async (request, reply) => {
      const role = await findRole(request, request.params.role_id);
      const input = await roleChanges(request, request.body);
      try {
        await request.services.roles.updateRole(role, input, sourceOfCaller(request.caller));
      } catch (error) {
        keyTaken(error);
      }
      // Kinde answers 201 here.
      return reply.code(201).send(success("Role successfully updated"));
    },
  );

  api.delete(
    "/roles/:role_id",
    {
      schema: {
        ...ROLES,
        params: RoleIdParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...ROLE_NOT_FOUND },
      },
      config: { scope: "delete:roles" },
    },
    async (request) => {
      const role = await findRole(request, request.params.role_id);
      // Members holding it lose it, and the permissions it gave (foreign keys cascade).
      await request.services.roles.deleteRole(role.id, sourceOfCaller(request.caller));
      return success("Role successfully deleted");
    },
  );

  api.get(
    "/roles/:role_id/permissions",
    {
      schema: {
        ...ROLES,
        params: RoleIdParams,
        querystring: ListPermissionsQuery,
        response: { 200: PermissionsResponse, ...READ_ERRORS, ...ROLE_NOT_FOUND },
      },
      config: { scope: "read:role_permissions" },
    },
    async (request) => {
      const role = await findRole(request, request.params.role_id);
      const { sort, page_size, next_token } = request.query;
      const byId = sort === "id_asc" || sort === "id_desc";
      const { page, nextToken } = pageOf(await request.services.roles.store.permissionsOfRole(role.id), {
        key: (p) => [byId ? p.id : p.name, p.id],
        descending: sort === "name_desc" || sort === "id_desc",
        pageSize: page_size,
        nextToken: next_token,
      });
      // Left out on the last page: Kinde's role_permissions_response and get_permissions_response
      // type next_token as a string.
      return {
        ...success(),
        permissions: page.map(permissionBody),
        ...(nextToken ? { next_token: nextToken } : {}),
      };
    },
  );

  api.patch(
    "/roles/:role_id/permissions",
    {
      schema: {
        ...ROLES,
        params: RoleIdParams,
        body: UpdateRolePermissionsBody,
        response: { 200: UpdateRolePermissionsResponse, ...WRITE_ERRORS, ...notFound("Role or permission") },
      },
      config: { scope: "update:role_permissions" },
    },
    async (request) => {
      const role = await findRole(request, request.params.role_id);
      const wanted = new Map<string, boolean>();
      for (const { id, operation } of request.body.permissions) {
        if (operation !== undefined && operation !== null && operation !== "delete") {
          throw new ApiError(
            "INVALID_REQUEST",
            `operation must be "delete" (remove) or absent (add), not ${JSON.stringify(operation)}`,
          );
        }
        const remove = operation === "delete";
        if (wanted.get(id) === !remove)
          throw new ApiError("INVALID_REQUEST", `Permission ${id} is both added and removed`);
        wanted.set(id, remove);
      }
      try {
        const { added, removed } = await request.services.roles.updateRolePermissions(
          role.id,
          [...wanted].map(([permissionId, remove]) => ({ permissionId, remove })),
        );
        return {
          ...success("Permissions successfully updated"),
          permissions_added: added,
          permissions_removed: removed,
        };
      } catch (error) {
        if (error instanceof UnknownPermissionError)
          throw new ApiError("PERMISSION_NOT_FOUND", `Permission ${error.permissionId} not found`);
        throw error;
      }
    },
  );

  api.delete(
    "/roles/:role_id/permissions/:permission_id",
    {
      schema: {
        ...ROLES,
        params: RolePermissionParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...notFound("Role or permission") },
      },
      config: { scope: "delete:role_permissions" },
    },
    async (request) => {
      const role = await findRole(request, request.params.role_id);
      const permission = await findPermission(request, request.params.permission_id);
      await request.services.roles.removeRolePermission(role.id, permission.id);
      return success("Permission successfully removed from role");
    },
  );

  api.get(
    "/roles/:role_id/users",
    {
      schema: {
        ...ROLES,
        params: RoleIdParams,
        querystring: PageQuery,
        response: { 200: RoleUsersResponse, ...READ_ERRORS, ...ROLE_NOT_FOUND },
      },
      config: { scope: "read:organization_user_roles" },
    },
    async (request) => {
      const role = await findRole(request, request.params.role_id);
      const { page, nextToken } = pageOf(await request.services.roles.store.roleUsers(role.id), {
        key: (u) => [u.id, u.id],
        pageSize: request.query.page_size,
        nextToken: request.query.next_token,
      });
      return { ...success(), users: page, next_token: nextToken };
    },
  );

  // ---- permissions ------------------------------------------------------------------------------

  api.get(
    "/permissions",
    {
      schema: {
        ...PERMISSIONS,
        querystring: ListPermissionsQuery,
        response: { 200: PermissionsResponse, ...READ_ERRORS },
      },
      config: { scope: "read:permissions" },
    },
    async (request) => {
      const { sort, page_size, next_token } = request.query;
      const byId = sort === "id_asc" || sort === "id_desc";
      const { page, nextToken } = pageOf(await request.services.roles.store.permissions(), {
        key: (p) => [byId ? p.id : p.name, p.id],
        descending: sort === "name_desc" || sort === "id_desc",
        pageSize: page_size,
        nextToken: next_token,
      });
      // Left out on the last page: Kinde's role_permissions_response and get_permissions_response
      // type next_token as a string.
      return {
        ...success(),
        permissions: page.map(permissionBody),
        ...(nextToken ? { next_token: nextToken } : {}),
      };
    },
  );

  api.post(
    "/permissions",
    {
      schema: {
        ...PERMISSIONS,
        body: CreatePermissionBody,
        response: { 201: SuccessResponse, ...POST_ERRORS, ...conflict("A permission with this key") },
      },
      config: { scope: "create:permissions" },
    },
    async (request, reply) => {
      const key = checkKey(request.body.key);
      const name = displayText(request.body.name, "name") ?? key;
      try {
        await request.services.roles.createPermission(
          { key, name, description: displayText(request.body.description, "description") },
          sourceOfCaller(request.caller),
        );
      } catch (error) {
        keyTaken(error);
      }
      // Kinde answers 201 without the new permission's id; list permissions to find it by key.
      return reply.code(201).send(success("Permission successfully created"));
    },
  );

  api.patch(
    "/permissions/:permission_id",
    {
      schema: {
        ...PERMISSIONS,
        params: PermissionIdParams,
        body: UpdatePermissionBody,
        response: {
          200: SuccessResponse,
          ...WRITE_ERRORS,
          ...PERMISSION_NOT_FOUND,
          ...conflict("A permission with this key"),
        },
      },
      config: { scope: "update:permissions" },
    },
    async (request) => {
      const permission = await findPermission(request, request.params.permission_id);
      const { body } = request;
      if (Object.keys(body).length === 0) throw new ApiError("NO_FIELDS_TO_UPDATE");
      const name = body.name === undefined ? undefined : displayText(body.name, "name");
      if (body.name !== undefined && !name) throw new ApiError("INVALID_REQUEST", "name must not be blank");
      try {
        await request.services.roles.updatePermission(
          permission,
          {
            key: body.key === undefined ? undefined : checkKey(body.key),
            name: name ?? undefined,
            description: "description" in body ? displayText(body.description, "description") : undefined,
          },
          sourceOfCaller(request.caller),
        );
      } catch (error) {
        keyTaken(error);
      }
      return success("Permission successfully updated");
    },
  );

  api.delete(
    "/permissions/:permission_id",
    {
      schema: {
        ...PERMISSIONS,
        params: PermissionIdParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...PERMISSION_NOT_FOUND },
      },
      config: { scope: "delete:permissions" },
    },
    async (request) => {
      const permission = await findPermission(request, request.params.permission_id);
      // Roles and members holding it lose it (foreign keys cascade).
      await request.services.roles.deletePermission(permission.id, sourceOfCaller(request.caller));
      return success("Permission successfully deleted");
    },
  );
}
