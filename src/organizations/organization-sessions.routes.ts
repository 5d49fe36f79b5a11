// Management API: an organization's session settings (Kinde's UpdateOrganizationSessions, x-scope
// update:organizations; Latchkey's GET reads them back for the dashboard, read:organizations) and
// Kinde's DeleteOrganizationHandle (delete:organization_handles). What the settings do at sign-in,
// and which of the organization's, the application's and the environment's lifetimes wins, is in
// src/sign-in/session-lifetime.ts.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { sourceOfCaller } from "../events/events.js";
import { ApiError } from "../management/errors.js";
import { notFound, READ_ERRORS, WRITE_ERRORS } from "../management/responses.schemas.js";
import { SuccessResponse, success } from "../management/schemas.js";
import {
  OrganizationSessionsResponse,
  UpdateOrganizationSessionsBody,
} from "./organization-sessions.schemas.js";
import { findOrganization } from "./organizations.routes.js";
import { OrgCodeParams } from "./organizations.schemas.js";

const TAG = { tags: ["Organizations"] };
const ORGANIZATION_NOT_FOUND = notFound("Organization");

export function registerOrganizationSessionsRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/organizations/:org_code/sessions",
    {
      schema: {
        ...TAG,
        params: OrgCodeParams,
        response: { 200: OrganizationSessionsResponse, ...READ_ERRORS, ...ORGANIZATION_NOT_FOUND },
      },
      config: { scope: "read:organizations" },
    },
    async (request) => {
      const org = await findOrganization(request, request.params.org_code);
      return {
        ...success(),
        is_use_org_sso_session_policy: org.sso_session_policy_enabled === 1,
        sso_session_persistence_mode: org.sso_session_persistence,
        is_use_org_authenticated_session_lifetime: org.session_lifetime_enabled === 1,
        authenticated_session_lifetime: org.authenticated_session_lifetime,
      };
    },
  );

  api.patch(
    "/organizations/:org_code/sessions",
    {
      schema: {
        ...TAG,
        params: OrgCodeParams,
        body: UpdateOrganizationSessionsBody,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...ORGANIZATION_NOT_FOUND },
      },
      config: { scope: "update:organizations" },
    },
    async (request) => {
      const org = await findOrganization(request, request.params.org_code);
      const body = request.body;
      if (
        body.is_use_org_sso_session_policy === undefined &&
        body.sso_session_persistence_mode === undefined &&
        body.is_use_org_authenticated_session_lifetime === undefined &&
        body.authenticated_session_lifetime === undefined
      )
        throw new ApiError("NO_FIELDS_TO_UPDATE");
      // An override switched on must say what it overrides with: never an override that does nothing.
      const lifetime = body.authenticated_session_lifetime ?? org.authenticated_session_lifetime;
      if (body.is_use_org_authenticated_session_lifetime === true && lifetime === null)
        throw new ApiError(
          "INVALID_REQUEST",
          "is_use_org_authenticated_session_lifetime needs authenticated_session_lifetime (seconds)",
        );
      const mode = body.sso_session_persistence_mode ?? org.sso_session_persistence;
      if (body.is_use_org_sso_session_policy === true && mode === null)
        throw new ApiError(
          "INVALID_REQUEST",
          "is_use_org_sso_session_policy needs sso_session_persistence_mode (persistent or non_persistent)",
        );
      const flag = (value: boolean | undefined) => (value === undefined ? undefined : value ? 1 : 0);
      await request.services.db
        .updateTable("organizations")
        .set({
          sso_session_policy_enabled: flag(body.is_use_org_sso_session_policy),
          sso_session_persistence: body.sso_session_persistence_mode,
          session_lifetime_enabled: flag(body.is_use_org_authenticated_session_lifetime),
          authenticated_session_lifetime: body.authenticated_session_lifetime,
          updated_at: request.services.clock.now(),
        })
        .where("code", "=", org.code)
        .execute();
      return success("Organization sessions successfully updated");
    },
  );

  api.delete(
    "/organization/:org_code/handle",
    {
      schema: {
        ...TAG,
        params: OrgCodeParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...ORGANIZATION_NOT_FOUND },
      },
      config: { scope: "delete:organization_handles" },
    },
    async (request) => {
      const org = await findOrganization(request, request.params.org_code);
      // Through the service: organization.updated is recorded with the change (a handle freed for
      // another organization to take).
      if (org.handle !== null)
        await request.services.organizations.update(org, { handle: null }, sourceOfCaller(request.caller));
      return success("Handle successfully deleted");
    },
  );
}
