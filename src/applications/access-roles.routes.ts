// Management API: an application's access roles (Kinde's /api/v1/applications/{application_id}/
// access_roles). The roles are enforced only while the application's is_access_control_enabled is
// on (PATCH /applications/{id}); adding or removing one never switches it (Kinde's spec).
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ApiError } from "../management/errors.js";
import { notFound, POST_ERRORS, READ_ERRORS, WRITE_ERRORS } from "../management/responses.schemas.js";
import { DEFAULT_PAGE_SIZE, SuccessResponse, success } from "../management/schemas.js";
import { AccessRoleParams, AccessRolesQuery, AccessRolesResponse } from "./access-roles.schemas.js";
import { AccessRolesStore } from "./access-roles.store.js";
import { ApplicationIdParams } from "./applications.schemas.js";
import { findApplication, findChangeableApplication } from "./find-application.js";

const TAG = { tags: ["Applications"] };
/** Kinde's limit for this list (its PAGE_SIZE_LIMIT_EXCEEDED example). */
const MAX_ACCESS_ROLES_PAGE = 100;

/** The application and role a change names: the application changeable, access control its kind's. */
async function changeTarget(request: FastifyRequest, applicationId: string, roleId: string) {
  const application = await findChangeableApplication(request, applicationId);
  // Machines sign nobody in: Kinde offers access control to front-end, back-end and device apps.
  if (application.type === "m2m")
    throw new ApiError(
      "APPLICATION_TYPE_NOT_SUPPORTED",
      "Role-based access control is only supported for front-end, back-end, and device applications",
    );
  const role = await request.services.roles.store.findRole(roleId);
  if (!role) throw new ApiError("ROLE_NOT_FOUND");
  return { application, role };
}

export function registerAccessRolesRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/applications/:application_id/access_roles",
    {
      schema: {
        ...TAG,
        params: ApplicationIdParams,
        querystring: AccessRolesQuery,
        response: { 200: AccessRolesResponse, ...READ_ERRORS },
      },
      config: { scope: "read:applications" },
    },
    async (request) => {
      const { page_size, starting_after, ending_before } = request.query;
      if (starting_after !== undefined && ending_before !== undefined)
        throw new ApiError("TOO_MANY_PARAMETERS");
      const limit = page_size ?? DEFAULT_PAGE_SIZE;
      if (limit > MAX_ACCESS_ROLES_PAGE)
        throw new ApiError("PAGE_SIZE_LIMIT_EXCEEDED", "Page size cannot be greater than 100");
      const application = await findApplication(request, request.params.application_id);
      const rows = await new AccessRolesStore(request.services.db).page(application.id, {
        limit: limit + 1,
        startingAfter: starting_after,
        endingBefore: ending_before,
      });
      // Backwards, the extra row is the first one (the page ends just before the cursor).
      const roles = ending_before !== undefined ? rows.slice(-limit) : rows.slice(0, limit);
      return {
        ...success(),
        roles: roles.map((r) => ({ id: r.id, key: r.key, name: r.name, description: r.description })),
        has_more: rows.length > limit,
      };
    },
  );

  api.post(
    "/applications/:application_id/access_roles/:role_id",
    {
      schema: {
        ...TAG,
        params: AccessRoleParams,
        response: { 200: SuccessResponse, ...POST_ERRORS, ...notFound("Role") },
      },
      config: { scope: "update:applications" },
    },
    async (request) => {
      const { application, role } = await changeTarget(
        request,
        request.params.application_id,
        request.params.role_id,
      );
      await new AccessRolesStore(request.services.db).add(
        application.id,
        role.id,
        request.services.clock.now(),
      );
      return success("Access role successfully added");
    },
  );

  api.delete(
    "/applications/:application_id/access_roles/:role_id",
    {
      schema: {
        ...TAG,
        params: AccessRoleParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...notFound("Role") },
      },
      config: { scope: "update:applications" },
    },
    async (request) => {
      const { application, role } = await changeTarget(
        request,
        request.params.application_id,
        request.params.role_id,
      );
      // The last one may go while access control stays on: then nobody is admitted (fails closed).
      await new AccessRolesStore(request.services.db).remove(application.id, role.id);
      return success("Access role successfully removed");
    },
  );
}
