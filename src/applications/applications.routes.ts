// Management API: applications (Kinde's /api/v1/applications) and their callback and logout URLs
// (/api/v1/applications/{app_id}/auth_redirect_urls and /auth_logout_urls).
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { ApiError } from "../management/errors.js";
import { normalizePrefix } from "../management/listing.js";
import { POST_ERRORS, READ_ERRORS, WRITE_ERRORS } from "../management/responses.schemas.js";
import {
  DEFAULT_PAGE_SIZE,
  decodeCursor,
  encodeCursor,
  MAX_PAGE_SIZE,
  SuccessResponse,
  success,
} from "../management/schemas.js";
import { isPublicClient } from "../oauth/client-auth.js";
import { isFirstPartyApplication } from "../sign-in/first-party-sign-in.js";
import type { ApplicationType, ApplicationUrlKind } from "../storage/schema.js";
import { registerAccessRolesRoutes } from "./access-roles.routes.js";
import {
  AppIdParams,
  ApplicationIdParams,
  ApplicationResponse,
  ApplicationsResponse,
  CreateApplicationBody,
  CreateApplicationResponse,
  ListApplicationsQuery,
  LogoutUrlsResponse,
  RedirectUrlsResponse,
  RotateSecretResponse,
  UpdateApplicationBody,
  UpdateTokensBody,
  UrlsBody,
  UrlsQuery,
} from "./applications.schemas.js";
import { APPLICATION_TYPES, InvalidUrlError, NoAccessRolesError } from "./applications.service.js";
import { callerCovers, findApplication, findChangeableApplication } from "./find-application.js";

const TAG = { tags: ["Applications"] };
const CALLBACK_TAG = { tags: ["Callbacks"] };

type Cursor = { key: string | number; id: string };
const isCursor = (v: unknown): v is Cursor =>
  typeof v === "object" &&
  v !== null &&
  typeof (v as Cursor).id === "string" &&
  ["string", "number"].includes(typeof (v as Cursor).key);

function urlError(error: unknown): never {
  if (error instanceof InvalidUrlError)
    throw new ApiError("INVALID_URL", `Invalid URL ${error.url}: ${error.problem}`);
  if (error instanceof NoAccessRolesError) throw new ApiError("ACCESS_ROLES_REQUIRED");
  throw error;
}

export function registerApplicationsRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/applications",
    {
      schema: {
        ...TAG,
        querystring: ListApplicationsQuery,
        response: { 200: ApplicationsResponse, ...READ_ERRORS },
      },
      config: { scope: "read:applications" },
    },
    async (request) => {
      const { sort, page_size, next_token } = request.query;
      const limit = page_size ?? DEFAULT_PAGE_SIZE;
      if (limit > MAX_PAGE_SIZE) throw new ApiError("PAGE_SIZE_LIMIT_EXCEEDED");
      const order = sort ?? "created";
      const after = decodeCursor(next_token, isCursor);
      // The cursor's key must have the sort column's type: whole seconds or a name.
      const fits =
        after &&
        (order.startsWith("created") ? Number.isSafeInteger(after.key) : typeof after.key === "string");
      if (next_token && !fits) throw new ApiError("INVALID_NEXT_TOKEN");
      const store = request.services.applications.store;
      const prefix = normalizePrefix(request.query.starts_with);
      const rows = await store.page({ sort: order, limit: limit + 1, after, prefix });
      const total = request.query.include_count ? await store.count(prefix) : undefined;
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        ...success(),
        applications: page.map((a) => ({ id: a.id, name: a.name, type: a.type })),
        // Left out on the last page: Kinde's get_applications_response types next_token as a string.
        ...(rows.length > limit && last
          ? {
              next_token: encodeCursor({
                key: order.startsWith("created") ? last.created_at : last.name,
                id: last.id,
              }),
            }
          : {}),
        total_count: total?.count,
        total_count_accuracy: total?.accuracy,
      };
    },
  );

  api.post(
    "/applications",
    {
      schema: {
        ...TAG,
        body: CreateApplicationBody,
        response: { 201: CreateApplicationResponse, ...POST_ERRORS },
      },
      config: { scope: "create:applications" },
    },
    async (request, reply) => {
      const { name, type, org_code } = request.body;
      if (!APPLICATION_TYPES.includes(type as ApplicationType)) {
        throw new ApiError(
          "APPLICATION_TYPE_NOT_SUPPORTED",
          `Application type ${type.slice(0, 20)} is not supported; use reg, spa, m2m or device`,
        );
      }
      // Kinde scopes only machine-to-machine applications to an organization.
      if (org_code != null) {
        if (type !== "m2m")
          throw new ApiError("INVALID_REQUEST", "Only m2m applications can have an org_code");
        if (!(await request.services.organizations.store.find(org_code)))
          throw new ApiError("ORGANIZATION_INVALID");
      }
      const { application, secret } = await request.services.applications.create({
        name: name.trim(),
        type: type as ApplicationType,
        orgCode: org_code ?? undefined,
      });
      return reply.code(201).send({
        ...success("Application successfully created"),
        application: { id: application.id, client_id: application.id, client_secret: secret ?? null },
      });
    },
  );

  api.get(
    "/applications/:application_id",
    {
      schema: { ...TAG, params: ApplicationIdParams, response: { 200: ApplicationResponse, ...READ_ERRORS } },
      config: { scope: "read:applications" },
    },
    async (request) => {
      const application = await findApplication(request, request.params.application_id);
      // Latchkey's own applications' secrets are nobody's to keep (first-party-sign-in.ts).
      const revealed =
        (await callerCovers(request, application.id)) &&
        !(await isFirstPartyApplication(request.services, application.id))
          ? request.services.applications.revealSecret(application)
          : undefined;
      return {
        ...success(),
        application: {
          id: application.id,
          name: application.name,
          type: application.type,
          client_id: application.id,
          // null, as for a front-end application, when the caller may not learn it (callerCovers).
          client_secret: revealed ?? null,
          access_token_lifetime: application.access_token_lifetime,
          refresh_token_lifetime: application.refresh_token_lifetime,
          id_token_lifetime: application.id_token_lifetime,
          authenticated_session_lifetime: application.authenticated_session_lifetime,
          is_access_control_enabled: application.is_access_control_enabled === 1,
          is_hasura_mapping_enabled: application.is_hasura_mapping_enabled === 1,
        },
      };
    },
  );

  api.patch(
    "/applications/:application_id",
    {
      schema: {
        ...TAG,
        params: ApplicationIdParams,
        body: UpdateApplicationBody,
        response: { 200: SuccessResponse, ...WRITE_ERRORS },
      },
      config: { scope: "update:applications" },
    },
    async (request) => {
      const { services } = request;
      const { name, redirect_uris, logout_uris, is_access_control_enabled } = request.body ?? {};
      const application = await findChangeableApplication(request, request.params.application_id);
      // Kinde's spec: no access control for machines (they sign nobody in).
      if (is_access_control_enabled !== undefined && application.type === "m2m")
        throw new ApiError("ACCESS_CONTROL_NOT_SUPPORTED");
      try {
        await services.applications.update(application.id, {
          name: name?.trim(),
          callbackUrls: redirect_uris,
          logoutUrls: logout_uris,
          accessControl: is_access_control_enabled,
        });
      } catch (error) {
        urlError(error);
      }
      return success("Application successfully updated");
    },
  );

  api.delete(
    "/applications/:application_id",
    {
      schema: { ...TAG, params: ApplicationIdParams, response: { 200: SuccessResponse, ...WRITE_ERRORS } },
      config: { scope: "delete:applications" },
    },
    async (request) => {
      const application = await findChangeableApplication(request, request.params.application_id);
      await request.services.applications.store.delete(application.id);
      return success("Application successfully deleted");
    },
  );

  api.patch(
    "/applications/:application_id/tokens",
    {
      schema: {
        ...TAG,
        params: ApplicationIdParams,
        body: UpdateTokensBody,
        response: { 200: SuccessResponse, ...WRITE_ERRORS },
      },
      config: { scope: "update:application_tokens" },
    },
    async (request) => {
      const application = await findChangeableApplication(request, request.params.application_id);
      const { access_token_lifetime, refresh_token_lifetime, id_token_lifetime, is_hasura_mapping_enabled } =
        request.body;
      const { authenticated_session_lifetime } = request.body;
      if (
        access_token_lifetime === undefined &&
        refresh_token_lifetime === undefined &&
        id_token_lifetime === undefined &&
        is_hasura_mapping_enabled === undefined &&
        authenticated_session_lifetime === undefined
      ) {
        throw new ApiError("NO_FIELDS_TO_UPDATE");
      }
      await request.services.applications.store.update(application.id, {
        access_token_lifetime,
        refresh_token_lifetime,
        id_token_lifetime,
        authenticated_session_lifetime,
        ...(is_hasura_mapping_enabled !== undefined
          ? { is_hasura_mapping_enabled: is_hasura_mapping_enabled ? 1 : 0 }
          : {}),
        updated_at: request.services.clock.now(),
      });
      return success("Application tokens successfully updated");
    },
  );

  // Not in Kinde's specification: Latchkey lets administrators rotate a confidential client's secret.
  api.post(
    "/applications/:application_id/rotate_secret",
    {
      schema: {
        ...TAG,
        params: ApplicationIdParams,
        response: { 200: RotateSecretResponse, ...POST_ERRORS },
      },
      config: { scope: "update:applications" },
    },
    async (request) => {
      const application = await findChangeableApplication(request, request.params.application_id);
      if (isPublicClient(application.type))
        throw new ApiError("INVALID_REQUEST", "Front-end and device applications have no secret");
      const secret = await request.services.applications.rotateSecret(application.id);
      return {
        ...success("Application secret rotated"),
        application: { id: application.id, client_id: application.id, client_secret: secret },
      };
    },
  );

  registerAccessRolesRoutes(app);

  registerUrlRoutes(api, "auth_redirect_urls", "callback", {
    read: "read:applications_redirect_uris",
    create: "create:applications_redirect_uris",
    update: "update:applications_redirect_uris",
    delete: "delete:applications_redirect_uris",
  });
  registerUrlRoutes(api, "auth_logout_urls", "logout", {
    read: "read:application_logout_uris",
    create: "create:application_logout_uris",
    update: "update:application_logout_uris",
    delete: "delete:application_logout_uris",
  });
}

function registerUrlRoutes(
  app: FastifyInstance,
  path: "auth_redirect_urls" | "auth_logout_urls",
  kind: ApplicationUrlKind,
  scopes: { read: string; create: string; update: string; delete: string },
): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const route = `/applications/:app_id/${path}`;

  api.get(
    route,
    {
      schema: {
        ...CALLBACK_TAG,
        params: AppIdParams,
        response: { 200: kind === "callback" ? RedirectUrlsResponse : LogoutUrlsResponse, ...READ_ERRORS },
      },
      config: { scope: scopes.read },
    },
    async (request) => {
      const application = await findApplication(request, request.params.app_id);
      const urls = await request.services.applications.store.urls(application.id, kind);
      // Kinde's two list shapes differ: only the logout list carries code and message.
      return kind === "callback" ? { redirect_urls: urls } : { logout_urls: urls, ...success() };
    },
  );

  api.post(
    route,
    {
      schema: {
        ...CALLBACK_TAG,
        params: AppIdParams,
        body: UrlsBody,
        response: { 200: SuccessResponse, ...POST_ERRORS },
      },
      config: { scope: scopes.create },
    },
    async (request) => {
      const application = await findChangeableApplication(request, request.params.app_id);
      try {
        await request.services.applications.addUrls(application.id, kind, request.body.urls);
      } catch (error) {
        urlError(error);
      }
      return success("URLs successfully added");
    },
  );

  api.put(
    route,
    {
      schema: {
        ...CALLBACK_TAG,
        params: AppIdParams,
        body: UrlsBody,
        response: { 200: SuccessResponse, ...WRITE_ERRORS },
      },
      config: { scope: scopes.update },
    },
    async (request) => {
      const application = await findChangeableApplication(request, request.params.app_id);
      try {
        await request.services.applications.update(
          application.id,
          kind === "callback" ? { callbackUrls: request.body.urls } : { logoutUrls: request.body.urls },
        );
      } catch (error) {
        urlError(error);
      }
      return success("URLs successfully replaced");
    },
  );

  api.delete(
    route,
    {
      schema: {
        ...CALLBACK_TAG,
        params: AppIdParams,
        querystring: UrlsQuery,
        response: { 200: SuccessResponse, ...WRITE_ERRORS },
      },
      config: { scope: scopes.delete },
    },
    async (request) => {
      const application = await findChangeableApplication(request, request.params.app_id);
      // Kinde passes the URLs comma-separated in the query string.
      const urls = request.query.urls
        .split(",")
        .map((u) => u.trim())
        .filter(Boolean);
      await request.services.applications.store.removeUrls(application.id, kind, urls);
      return success("URLs successfully deleted");
    },
  );
}
