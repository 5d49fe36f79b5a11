// Management API: APIs (Kinde's /api/v1/apis) — the resource servers tokens are issued for, their
// scopes, and which applications are authorized for each with which scopes. The built-in
// Management API is listed like any other but cannot be deleted, and its scopes are Kinde's fixed
// list. Kinde's quirks are kept: creates answer 200 (not 201), DELETE answers code API_DELETED,
// authorizing applications answers API_APPLICATIONS_UPDATED.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { findChangeableApplication, refuseProtectedApplication } from "../applications/find-application.js";
import { ApiError } from "../management/errors.js";
import {
  conflict,
  notFound,
  POST_ERRORS,
  READ_ERRORS,
  WRITE_ERRORS,
} from "../management/responses.schemas.js";
import { SuccessResponse, success } from "../management/schemas.js";
import type { ApplicationType } from "../storage/schema.js";
import {
  ApiApplicationScopeParams,
  ApiIdParams,
  ApiResponse,
  ApiScopeParams,
  ApisResponse,
  CreateApiBody,
  CreateApiResponse,
  CreateScopeBody,
  CreateScopeResponse,
  ListApisQuery,
  ScopeResponse,
  ScopesResponse,
  UpdateApiApplicationsBody,
  UpdateApiApplicationsResponse,
  UpdateScopeBody,
} from "./apis.schemas.js";
import {
  type ApplicationChanges,
  AudienceTakenError,
  audienceProblem,
  ScopeKeyTakenError,
  scopeKeyProblem,
  UnknownApplicationError,
} from "./apis.service.js";
import type { ApiRow, ApiScopeRow } from "./apis.store.js";
import { registerApplicationScopesRoutes } from "./application-scopes.routes.js";

const TAG = { tags: ["APIs"] };
const API_NOT_FOUND = notFound("API");
const SCOPE_NOT_FOUND = notFound("API or scope");

/** Kinde reports application types by their dashboard labels, not by reg/spa/m2m. */
export const APPLICATION_TYPE_LABELS: Record<ApplicationType, string> = {
  m2m: "Machine to machine (M2M)",
  reg: "Back-end web",
  spa: "Front-end and mobile",
  device: "Device and IoT",
};

/** Control characters have no place in a name; a description may also have tabs and line breaks. */
const CONTROL = /\p{Cc}/u;
const CONTROL_BUT_WHITESPACE = /(?![\t\n\r])\p{Cc}/u;

async function findApi(request: FastifyRequest, id: string): Promise<ApiRow> {
  const api = await request.services.apis.store.findById(id);
  if (!api) throw new ApiError("API_NOT_FOUND");
  return api;
}

async function findScope(request: FastifyRequest, api: ApiRow, scopeId: string): Promise<ApiScopeRow> {
  const scope = await request.services.apis.store.findScope(api.id, scopeId);
  if (!scope) throw new ApiError("SCOPE_NOT_FOUND");
  return scope;
}

function protectManagementApi(api: ApiRow, what: string): void {
  if (api.is_management_api === 1)
    throw new ApiError("MANAGEMENT_API_PROTECTED", `The Management API's ${what} cannot be changed`);
}

const scopeSummary = (s: ApiScopeRow) => ({ id: s.id, key: s.key });
const scopeDetail = (s: ApiScopeRow) => ({ id: s.id, key: s.key, description: s.description });

/** Trimmed display text (a name or description); absent when blank. */
function displayText(value: string | null | undefined, field: "name" | "description"): string | undefined {
  const text = value?.trim();
  if (text && (field === "name" ? CONTROL : CONTROL_BUT_WHITESPACE).test(text))
    throw new ApiError("INVALID_REQUEST", `${field} must not contain control characters`);
  return text || undefined;
}

export function registerApisRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  registerApplicationScopesRoutes(app);

  api.get(
    "/apis",
    {
      schema: { ...TAG, querystring: ListApisQuery, response: { 200: ApisResponse, ...READ_ERRORS } },
      config: { scope: "read:apis" },
    },
    async (request) => {
      const { store } = request.services.apis;
      const rows = await store.list();
      const scopes = request.query.expand === "scopes" ? await store.allScopes() : undefined;
      return {
        ...success(),
        // Every API is on the one page (the operation takes no paging parameters), so there is no
        // next_token: Kinde's get_apis_response types it as a non-null string, so it is left out.
        apis: rows.map((a) => ({
          id: a.id,
          name: a.name,
          audience: a.audience,
          is_management_api: a.is_management_api === 1,
          ...(scopes ? { scopes: (scopes.get(a.id) ?? []).map(scopeSummary) } : {}),
        })),
      };
    },
  );

  api.post(
    "/apis",
    {
      schema: {
        ...TAG,
        body: CreateApiBody,
        response: { 200: CreateApiResponse, ...POST_ERRORS, ...conflict("An API with this audience") },
      },
      config: { scope: "create:apis" },
    },
    async (request) => {
      const name = displayText(request.body.name, "name");
      if (!name) throw new ApiError("INVALID_REQUEST", "name must not be blank");
      const { audience } = request.body;
      const problem = audienceProblem(audience);
      if (problem) throw new ApiError("INVALID_AUDIENCE", `The audience ${problem}`);
      try {
        const created = await request.services.apis.create({ name, audience });
        // Kinde answers 200 here, not 201.
        return { ...success(), api: { id: created.id } };
      } catch (error) {
        if (error instanceof AudienceTakenError) throw new ApiError("API_EXISTS");
        throw error;
      }
    },
  );

  api.get(
    "/apis/:api_id",
    {
      schema: {
        ...TAG,
        params: ApiIdParams,
        response: { 200: ApiResponse, ...READ_ERRORS, ...API_NOT_FOUND },
      },
      config: { scope: "read:apis" },
    },
    async (request) => {
      const found = await findApi(request, request.params.api_id);
      const { store } = request.services.apis;
      const [scopes, applications] = await Promise.all([
        store.scopes(found.id),
        store.applications(found.id),
      ]);
      return {
        ...success(),
        api: {
          id: found.id,
          name: found.name,
          audience: found.audience,
          is_management_api: found.is_management_api === 1,
          scopes: scopes.map(scopeSummary),
          // Every application, each saying whether it is authorized for this API (Kinde's
          // is_active: "Whether or not the application is authorized to access the API").
          applications: applications.map((a) => ({
            id: a.id,
            name: a.name,
            type: APPLICATION_TYPE_LABELS[a.type],
            is_active: a.authorized,
          })),
        },
      };
    },
  );

  api.delete(
    "/apis/:api_id",
    {
      schema: {
        ...TAG,
        params: ApiIdParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...API_NOT_FOUND },
      },
      config: { scope: "delete:apis" },
    },
    async (request) => {
      const found = await findApi(request, request.params.api_id);
      if (found.is_management_api === 1)
        throw new ApiError("MANAGEMENT_API_PROTECTED", "The Management API cannot be deleted");
      // Its scopes, authorizations and grants go with it (foreign keys cascade).
      await request.services.apis.store.delete(found.id);
      return success("API successfully deleted", "API_DELETED");
    },
  );

  api.get(
    "/apis/:api_id/scopes",
    {
      schema: {
        ...TAG,
        params: ApiIdParams,
        response: { 200: ScopesResponse, ...READ_ERRORS, ...API_NOT_FOUND },
      },
      config: { scope: "read:api_scopes" },
    },
    async (request) => {
      const found = await findApi(request, request.params.api_id);
      const scopes = await request.services.apis.store.scopes(found.id);
      return { ...success(), scopes: scopes.map(scopeDetail) };
    },
  );

  api.post(
    "/apis/:api_id/scopes",
    {
      schema: {
        ...TAG,
        params: ApiIdParams,
        body: CreateScopeBody,
        response: {
          200: CreateScopeResponse,
          ...POST_ERRORS,
          ...API_NOT_FOUND,
          ...conflict("A scope with this key"),
        },
      },
      config: { scope: "create:api_scopes" },
    },
    async (request) => {
      const found = await findApi(request, request.params.api_id);
      protectManagementApi(found, "scopes");
      const { key } = request.body;
      const problem = scopeKeyProblem(key);
      if (problem) throw new ApiError("INVALID_SCOPE_KEY", `The scope key ${problem}`);
      const description = displayText(request.body.description, "description") ?? null;
      try {
        const scope = await request.services.apis.addScope(found.id, key, description);
        // Kinde answers 200 here, not 201.
        return { ...success(), scope: { id: scope.id } };
      } catch (error) {
        if (error instanceof ScopeKeyTakenError) throw new ApiError("SCOPE_EXISTS");
        throw error;
      }
    },
  );

  api.get(
    "/apis/:api_id/scopes/:scope_id",
    {
      schema: {
        ...TAG,
        params: ApiScopeParams,
        response: { 200: ScopeResponse, ...READ_ERRORS, ...SCOPE_NOT_FOUND },
      },
      config: { scope: "read:api_scopes" },
    },
    async (request) => {
      const found = await findApi(request, request.params.api_id);
      const scope = await findScope(request, found, request.params.scope_id);
      return { ...success(), scope: scopeDetail(scope) };
    },
  );

  api.patch(
    "/apis/:api_id/scopes/:scope_id",
    {
      schema: {
        ...TAG,
        params: ApiScopeParams,
        body: UpdateScopeBody,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...SCOPE_NOT_FOUND },
      },
      config: { scope: "update:api_scopes" },
    },
    async (request) => {
      const found = await findApi(request, request.params.api_id);
      const scope = await findScope(request, found, request.params.scope_id);
      if (!("description" in request.body)) throw new ApiError("NO_FIELDS_TO_UPDATE");
      // null or blank clears the description.
      const description = displayText(request.body.description, "description") ?? null;
      await request.services.apis.store.updateScope(found.id, scope.id, { description });
      return success("API scope successfully updated");
    },
  );

  api.delete(
    "/apis/:api_id/scopes/:scope_id",
    // Kinde's scope name is irregular here: delete:apis_scopes.
    {
      schema: {
        ...TAG,
        params: ApiScopeParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...SCOPE_NOT_FOUND },
      },
      config: { scope: "delete:apis_scopes" },
    },
    async (request) => {
      const found = await findApi(request, request.params.api_id);
      const scope = await findScope(request, found, request.params.scope_id);
      protectManagementApi(found, "scopes");
      // Applications granted the scope lose it with it (foreign key cascade).
      await request.services.apis.store.deleteScope(found.id, scope.id);
      return success("API scope successfully deleted");
    },
  );

  api.patch(
    "/apis/:api_id/applications",
    {
      schema: {
        ...TAG,
        params: ApiIdParams,
        body: UpdateApiApplicationsBody,
        response: { 200: UpdateApiApplicationsResponse, ...WRITE_ERRORS, ...API_NOT_FOUND },
      },
      config: { scope: "update:apis" },
    },
    async (request) => {
      const { services } = request;
      const found = await findApi(request, request.params.api_id);
      const wanted = new Map<string, boolean>();
      for (const { id, operation } of request.body.applications) {
        if (operation !== undefined && operation !== null && operation !== "delete") {
          throw new ApiError(
            "INVALID_REQUEST",
            `operation must be "delete" (deauthorize) or absent (authorize), not ${JSON.stringify(operation)}`,
          );
        }
        const authorize = operation !== "delete";
        if (wanted.get(id) === !authorize)
          throw new ApiError("INVALID_REQUEST", `Application ${id} is both authorized and deauthorized`);
        wanted.set(id, authorize);
        await refuseProtectedApplication(request, id);
      }
      const changes = [...wanted].map(([applicationId, authorize]) => ({ applicationId, authorize }));
      let outcome: ApplicationChanges;
      try {
        outcome = await services.apis.updateApplications(found.id, changes);
      } catch (error) {
        // All or nothing: one unknown application rejects the whole request, nothing changed.
        if (error instanceof UnknownApplicationError)
          throw new ApiError("APPLICATION_NOT_FOUND", `Application ${error.applicationId} not found`);
        throw error;
      }
      const { connected, disconnected } = outcome;
      return {
        ...success("API applications updated", "API_APPLICATIONS_UPDATED"),
        applications_connected: connected,
        applications_disconnected: disconnected,
      };
    },
  );

  api.post(
    "/apis/:api_id/applications/:application_id/scopes/:scope_id",
    {
      schema: {
        ...TAG,
        params: ApiApplicationScopeParams,
        response: { 200: SuccessResponse, ...POST_ERRORS, ...SCOPE_NOT_FOUND },
      },
      config: { scope: "create:api_application_scopes" },
    },
    async (request) => {
      const { api_id, application_id, scope_id } = request.params;
      const found = await findApi(request, api_id);
      const application = await findChangeableApplication(request, application_id);
      const scope = await findScope(request, found, scope_id);
      // No escalation: a machine grants a Management API scope only when its own token holds it, so
      // create:api_application_scopes alone cannot hand itself (or a twin) every scope. Kinde lets
      // it; an administrator in the dashboard still grants any scope.
      const caller = request.caller;
      if (found.is_management_api === 1 && caller?.userId === undefined && !caller?.scopes.has(scope.key)) {
        throw new ApiError(
          "FORBIDDEN",
          `Only a caller holding ${scope.key} itself (or an administrator) may grant it to an application`,
        );
      }
      if (!(await request.services.apis.store.isAuthorized(found.id, application.id))) {
        throw new ApiError(
          "APPLICATION_NOT_AUTHORIZED",
          `Application ${application.id} is not authorized for this API; authorize it with PATCH /api/v1/apis/${found.id}/applications first`,
        );
      }
      await request.services.apis.grantScope(found.id, application.id, scope.id);
      return success("API scope successfully added to API application");
    },
  );

  api.delete(
    "/apis/:api_id/applications/:application_id/scopes/:scope_id",
    {
      schema: {
        ...TAG,
        params: ApiApplicationScopeParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...SCOPE_NOT_FOUND },
      },
      // Kinde's scope name is irregular here: delete:apis_application_scopes.
      config: { scope: "delete:apis_application_scopes" },
    },
    async (request) => {
      const { api_id, application_id, scope_id } = request.params;
      const found = await findApi(request, api_id);
      const application = await findChangeableApplication(request, application_id);
      const scope = await findScope(request, found, scope_id);
      await request.services.apis.revokeScope(found.id, application.id, scope.id);
      return success("API scope successfully deleted from API application");
    },
  );
}
