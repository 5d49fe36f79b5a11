// Management API: Kinde's organization-user API scopes (POST/DELETE /api/v1/organizations/
// {org_code}/users/{user_id}/apis/{api_id}/scopes/{scope_id}): an API scope given to one member in
// one organization, beside those their roles there give. A user's access token carries it only
// when they sign into that organization (src/oauth/user-scopes.ts). Kinde documents both as 200
// without a body; Latchkey answers its usual {code, message}. Kinde defines no way to list them.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ApiScopeRow } from "../apis/apis.store.js";
import { ApiError } from "../management/errors.js";
import { notFound, POST_ERRORS, WRITE_ERRORS } from "../management/responses.schemas.js";
import { SuccessResponse, success } from "../management/schemas.js";
import { findMember } from "./organizations.routes.js";
import { OrgUserApiScopeParams } from "./organizations.schemas.js";

const TAG = { tags: ["Organizations"] };
const NOT_FOUND = notFound("Organization, member, API or scope");

interface Params {
  org_code: string;
  user_id: string;
  api_id: string;
  scope_id: string;
}

/** The member, and the scope in the path as one of the API's (another API's scope id is not found). */
async function findMemberScope(
  request: FastifyRequest,
  params: Params,
): Promise<{ orgCode: string; scope: ApiScopeRow }> {
  const org = await findMember(request, params.org_code, params.user_id);
  const { store } = request.services.apis;
  const found = await store.findById(params.api_id);
  if (!found) throw new ApiError("API_NOT_FOUND");
  const scope = await store.findScope(found.id, params.scope_id);
  if (!scope) throw new ApiError("SCOPE_NOT_FOUND");
  return { orgCode: org.code, scope };
}

export function registerUserApiScopesRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const path = "/organizations/:org_code/users/:user_id/apis/:api_id/scopes/:scope_id";

  api.post(
    path,
    {
      schema: {
        ...TAG,
        params: OrgUserApiScopeParams,
        response: { 200: SuccessResponse, ...POST_ERRORS, ...NOT_FOUND },
      },
      config: { scope: "create:organization_user_api_scopes" },
    },
    async (request) => {
      const { orgCode, scope } = await findMemberScope(request, request.params);
      await request.services.roles.addMemberApiScope(orgCode, request.params.user_id, scope.id);
      return success("API scope successfully added to organization user");
    },
  );

  api.delete(
    path,
    {
      schema: {
        ...TAG,
        params: OrgUserApiScopeParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...NOT_FOUND },
      },
      config: { scope: "delete:organization_user_api_scopes" },
    },
    async (request) => {
      const { orgCode, scope } = await findMemberScope(request, request.params);
      await request.services.roles.removeMemberApiScope(orgCode, request.params.user_id, scope.id);
      return success("API scope successfully removed from organization user");
    },
  );
}
