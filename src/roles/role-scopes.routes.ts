// Management API: Kinde's role scopes (GET/POST /api/v1/roles/{role_id}/scopes, DELETE
// …/scopes/{scope_id}). A role holds API scopes of any API; a user's access token for an API
// carries the requested scopes of it that a role they have in the organization signed into holds
// (src/oauth/user-scopes.ts). Kinde's answers are kept: POST is 201 with ROLE_SCOPE_ADDED, DELETE
// 200 with SCOPE_DELETED. Adding a scope the role has, or removing one it has not, is no error.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { ApiError } from "../management/errors.js";
import { notFound, POST_ERRORS, READ_ERRORS, WRITE_ERRORS } from "../management/responses.schemas.js";
import { SuccessResponse, success } from "../management/schemas.js";
import { findRole } from "./roles.routes.js";
import { AddRoleScopeBody, RoleIdParams, RoleScopeParams, RoleScopesResponse } from "./roles.schemas.js";

const TAG = { tags: ["Roles"] };

export function registerRoleScopesRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/roles/:role_id/scopes",
    {
      schema: {
        ...TAG,
        params: RoleIdParams,
        response: { 200: RoleScopesResponse, ...READ_ERRORS, ...notFound("Role") },
      },
      config: { scope: "read:role_scopes" },
    },
    async (request) => {
      const role = await findRole(request, request.params.role_id);
      const scopes = await request.services.roles.store.roleScopes(role.id);
      return {
        ...success(),
        scopes: scopes.map((s) => ({ id: s.id, key: s.key, description: s.description, api_id: s.api_id })),
      };
    },
  );

  api.post(
    "/roles/:role_id/scopes",
    {
      schema: {
        ...TAG,
        params: RoleIdParams,
        body: AddRoleScopeBody,
        response: { 201: SuccessResponse, ...POST_ERRORS, ...notFound("Role or scope") },
      },
      config: { scope: "create:role_scopes" },
    },
    async (request, reply) => {
      const role = await findRole(request, request.params.role_id);
      const scope = await request.services.apis.store.findScopeById(request.body.scope_id);
      if (!scope) throw new ApiError("SCOPE_NOT_FOUND");
      await request.services.roles.addRoleScope(role.id, scope.id);
      return reply.code(201).send(success("Scope added to role", "ROLE_SCOPE_ADDED"));
    },
  );

  api.delete(
    "/roles/:role_id/scopes/:scope_id",
    {
      schema: {
        ...TAG,
        params: RoleScopeParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...notFound("Role or scope") },
      },
      config: { scope: "delete:role_scopes" },
    },
    async (request) => {
      const role = await findRole(request, request.params.role_id);
      const scope = await request.services.apis.store.findScopeById(request.params.scope_id);
      if (!scope) throw new ApiError("SCOPE_NOT_FOUND");
      // Holders' tokens lose it at their next refresh (user-scopes.ts re-evaluates then).
      await request.services.roles.removeRoleScope(role.id, scope.id);
      return success("Scope deleted from role", "SCOPE_DELETED");
    },
  );
}
