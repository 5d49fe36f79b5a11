// Management API: an organization's members (Kinde's /api/v1/organizations/{org_code}/users), and
// each member's roles and permissions in that organization. Every member route checks that the
// user belongs to the organization in the path: a role or permission given in one organization is
// never visible or changeable through another. Changes record user.updated for the member
// (src/organizations/member-events.ts), in the change's transaction.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { sourceOfCaller } from "../events/events.js";
import { ApiError } from "../management/errors.js";
import { notFound, POST_ERRORS, READ_ERRORS, WRITE_ERRORS } from "../management/responses.schemas.js";
import { SuccessResponse, success } from "../management/schemas.js";
import { binary } from "../roles/roles.store.js";
import { findMember, findOrganization, iso } from "./organizations.routes.js";
import {
  AddOrganizationUserPermissionBody,
  AddOrganizationUserRoleBody,
  AddOrganizationUsersBody,
  AddOrganizationUsersResponse,
  ListOrganizationUsersQuery,
  OrganizationUserPermissionsQuery,
  OrganizationUserPermissionsResponse,
  OrganizationUserRolesResponse,
  OrganizationUsersResponse,
  OrgCodeParams,
  OrgUserParams,
  OrgUserPermissionParams,
  OrgUserRoleParams,
  UpdateOrganizationUsersBody,
  UpdateOrganizationUsersResponse,
} from "./organizations.schemas.js";
import { UnknownReferenceError } from "./organizations.service.js";
import { pageOf } from "./paging.js";

const TAG = { tags: ["Organizations"] };
const ORGANIZATION_NOT_FOUND = notFound("Organization");
const MEMBER_NOT_FOUND = notFound("Organization, member, role or permission");

function unknownReference(error: unknown): never {
  if (error instanceof UnknownReferenceError) {
    if (error.what === "user") throw new ApiError("USER_NOT_FOUND", `User ${error.value} not found`);
    if (error.what === "role") throw new ApiError("ROLE_NOT_FOUND", `No role has the key ${error.value}`);
    throw new ApiError("PERMISSION_NOT_FOUND", `No permission has the key ${error.value}`);
  }
  throw error;
}

const commaList = (value: string | null | undefined) =>
  value
    ? [
        ...new Set(
          value
            .split(",")
            .map((v) => v.trim())
            .filter(Boolean),
        ),
      ]
    : [];

export function registerOrganizationUsersRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  // ---- members ----------------------------------------------------------------------------------

  api.get(
    "/organizations/:org_code/users",
    {
      schema: {
        ...TAG,
        params: OrgCodeParams,
        querystring: ListOrganizationUsersQuery,
        response: { 200: OrganizationUsersResponse, ...READ_ERRORS, ...ORGANIZATION_NOT_FOUND },
      },
      config: { scope: "read:organization_users" },
    },
    async (request) => {
      const { services, query } = request;
      const org = await findOrganization(request, request.params.org_code);
      let members = await services.organizations.store.members(org.code, { limit: 1_000_000 });
      const ids = members.map((m) => m.user.id);
      const roleKeys = await services.roles.store.memberRoleKeys(org.code, ids);
      const wantedRoles = commaList(query.roles);
      if (wantedRoles.length > 0)
        members = members.filter((m) => wantedRoles.every((k) => roleKeys.get(m.user.id)?.includes(k)));
      const wantedPermissions = commaList(query.permissions);
      if (wantedPermissions.length > 0) {
        const holding = await Promise.all(
          members.map(async (m) =>
            (await services.roles.store.memberPermissions(org.code, m.user.id)).map((p) => p.permission.key),
          ),
        );
        members = members.filter((_, i) => wantedPermissions.every((k) => holding[i]!.includes(k)));
      }
      const fullName = (m: (typeof members)[number]) =>
        [m.user.given_name, m.user.family_name].filter(Boolean).join(" ");
      const byEmail = query.sort === "email_asc" || query.sort === "email_desc";
      const { page, nextToken } = pageOf(members, {
        key: (m) => [byEmail ? (m.user.email ?? "") : fullName(m), m.user.id],
        descending: query.sort === "name_desc" || query.sort === "email_desc",
        pageSize: query.page_size,
        nextToken: query.next_token,
      });
      return {
        ...success(),
        organization_users: page.map((m) => ({
          id: m.user.id,
          email: m.user.email,
          full_name: fullName(m),
          last_name: m.user.family_name,
          first_name: m.user.given_name,
          picture: m.user.picture,
          joined_on: iso(m.joinedAt)!,
          last_accessed_on: iso(m.lastAccessedAt),
          is_suspended: m.user.is_suspended === 1,
          roles: roleKeys.get(m.user.id) ?? [],
        })),
        // Left out on the last page: Kinde's get_organization_users_response types it as a string.
        ...(nextToken ? { next_token: nextToken } : {}),
      };
    },
  );

  api.post(
    "/organizations/:org_code/users",
    {
      schema: {
        ...TAG,
        params: OrgCodeParams,
        body: AddOrganizationUsersBody,
        response: { 200: AddOrganizationUsersResponse, ...POST_ERRORS, ...MEMBER_NOT_FOUND },
      },
      config: { scope: "create:organization_users" },
    },
    async (request) => {
      const org = await findOrganization(request, request.params.org_code);
      try {
        const added = await request.services.organizations.addMembers(
          org.code,
          request.body.users,
          sourceOfCaller(request.caller),
        );
        return { ...success("Users successfully added"), users_added: added };
      } catch (error) {
        unknownReference(error);
      }
    },
  );

  api.patch(
    "/organizations/:org_code/users",
    {
      schema: {
        ...TAG,
        params: OrgCodeParams,
        body: UpdateOrganizationUsersBody,
        response: { 200: UpdateOrganizationUsersResponse, ...WRITE_ERRORS, ...MEMBER_NOT_FOUND },
      },
      config: { scope: "update:organization_users" },
    },
    async (request) => {
      const org = await findOrganization(request, request.params.org_code);
      const seen = new Set<string>();
      const changes = request.body.users.map((user) => {
        if (user.operation !== undefined && user.operation !== null && user.operation !== "delete") {
          throw new ApiError(
            "INVALID_REQUEST",
            `operation must be "delete" (remove) or absent (add or update), not ${JSON.stringify(user.operation)}`,
          );
        }
        if (seen.has(user.id)) throw new ApiError("INVALID_REQUEST", `User ${user.id} is listed twice`);
        seen.add(user.id);
        return { ...user, remove: user.operation === "delete" };
      });
      try {
        const outcome = await request.services.organizations.updateMembers(
          org.code,
          changes,
          sourceOfCaller(request.caller),
        );
        return {
          ...success("Users successfully updated"),
          users_added: outcome.added,
          users_updated: outcome.updated,
          users_removed: outcome.removed,
        };
      } catch (error) {
        unknownReference(error);
      }
    },
  );

  api.delete(
    "/organizations/:org_code/users/:user_id",
    {
      schema: {
        ...TAG,
        params: OrgUserParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...MEMBER_NOT_FOUND },
      },
      config: { scope: "delete:organization_users" },
    },
    async (request) => {
      const { org_code, user_id } = request.params;
      const org = await findMember(request, org_code, user_id);
      await request.services.organizations.removeMember(org.code, user_id, sourceOfCaller(request.caller));
      return success("User successfully removed from organization");
    },
  );

  // ---- a member's roles and permissions in this organization ------------------------------------

  api.get(
    "/organizations/:org_code/users/:user_id/roles",
    {
      schema: {
        ...TAG,
        params: OrgUserParams,
        response: { 200: OrganizationUserRolesResponse, ...READ_ERRORS, ...MEMBER_NOT_FOUND },
      },
      config: { scope: "read:organization_user_roles" },
    },
    async (request) => {
      const { org_code, user_id } = request.params;
      const org = await findMember(request, org_code, user_id);
      const roles = await request.services.roles.store.memberRoles(org.code, user_id);
      return {
        ...success(),
        roles: roles
          .sort((a, b) => binary(a.key, b.key))
          .map((r) => ({ id: r.id, key: r.key, name: r.name })),
        // All the member's roles are on the one page, so no next_token: Kinde's
        // get_organizations_user_roles_response types it as a non-null string.
      };
    },
  );

  api.post(
    "/organizations/:org_code/users/:user_id/roles",
    {
      schema: {
        ...TAG,
        params: OrgUserParams,
        body: AddOrganizationUserRoleBody,
        response: { 200: SuccessResponse, ...POST_ERRORS, ...MEMBER_NOT_FOUND },
      },
      config: { scope: "create:organization_user_roles" },
    },
    async (request) => {
      const { org_code, user_id } = request.params;
      const org = await findMember(request, org_code, user_id);
      const role = await request.services.roles.store.findRole(request.body.role_id);
      if (!role) throw new ApiError("ROLE_NOT_FOUND");
      await request.services.organizations.grantMember(
        org.code,
        user_id,
        [role.id],
        [],
        sourceOfCaller(request.caller),
      );
      return success("Role successfully added");
    },
  );

  api.delete(
    "/organizations/:org_code/users/:user_id/roles/:role_id",
    {
      schema: {
        ...TAG,
        params: OrgUserRoleParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...MEMBER_NOT_FOUND },
      },
      config: { scope: "delete:organization_user_roles" },
    },
    async (request) => {
      const { org_code, user_id, role_id } = request.params;
      const org = await findMember(request, org_code, user_id);
      const role = await request.services.roles.store.findRole(role_id);
      if (!role) throw new ApiError("ROLE_NOT_FOUND");
      await request.services.roles.removeMemberRole(
        org.code,
        user_id,
        role.id,
        sourceOfCaller(request.caller),
      );
      return success("User successfully removed from role");
    },
  );

  api.get(
    "/organizations/:org_code/users/:user_id/permissions",
    {
      schema: {
        ...TAG,
        params: OrgUserParams,
        querystring: OrganizationUserPermissionsQuery,
        response: { 200: OrganizationUserPermissionsResponse, ...READ_ERRORS, ...MEMBER_NOT_FOUND },
      },
      config: { scope: "read:organization_user_permissions" },
    },
    async (request) => {
      const { org_code, user_id } = request.params;
      const org = await findMember(request, org_code, user_id);
      const permissions = await request.services.roles.store.memberPermissions(org.code, user_id);
      const withRoles = request.query.expand === "roles";
      return {
        ...success(),
        permissions: permissions.map(({ permission, roles }) => ({
          id: permission.id,
          key: permission.key,
          name: permission.name,
          description: permission.description,
          ...(withRoles ? { roles } : {}),
        })),
      };
    },
  );

  api.post(
    "/organizations/:org_code/users/:user_id/permissions",
    {
      schema: {
        ...TAG,
        params: OrgUserParams,
        body: AddOrganizationUserPermissionBody,
        response: { 200: SuccessResponse, ...POST_ERRORS, ...MEMBER_NOT_FOUND },
      },
      config: { scope: "create:organization_user_permissions" },
    },
    async (request) => {
      const { org_code, user_id } = request.params;
      const org = await findMember(request, org_code, user_id);
      const permission = await request.services.roles.store.findPermission(request.body.permission_id);
      if (!permission) throw new ApiError("PERMISSION_NOT_FOUND");
      await request.services.organizations.grantMember(
        org.code,
        user_id,
        [],
        [permission.id],
        sourceOfCaller(request.caller),
      );
      return success("Permission successfully added");
    },
  );

  api.delete(
    "/organizations/:org_code/users/:user_id/permissions/:permission_id",
    {
      schema: {
        ...TAG,
        params: OrgUserPermissionParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...MEMBER_NOT_FOUND },
      },
      config: { scope: "delete:organization_user_permissions" },
    },
    async (request) => {
      const { org_code, user_id, permission_id } = request.params;
      const org = await findMember(request, org_code, user_id);
      const permission = await request.services.roles.store.findPermission(permission_id);
      if (!permission) throw new ApiError("PERMISSION_NOT_FOUND");
      await request.services.roles.removeMemberPermission(
        org.code,
        user_id,
        permission.id,
        sourceOfCaller(request.caller),
      );
      return success("Permission successfully removed");
    },
  );
}
