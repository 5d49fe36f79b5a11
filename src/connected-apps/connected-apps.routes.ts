// Management API: Kinde's connected-app calls (auth_url, token, revoke) and Latchkey's own
// configuration of connected apps and the provider catalog, so they can be automated.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { ApiError } from "../management/errors.js";
import {
  conflict,
  notFound,
  POST_ERRORS,
  READ_ERRORS,
  WRITE_ERRORS,
} from "../management/responses.schemas.js";
import { SuccessResponse, success } from "../management/schemas.js";
import { connectedAppLogoPath } from "../sign-in/provider-logos.js";
import { GENERIC_PROVIDER_ID } from "./catalog.js";
import {
  AuthUrlQuery,
  AuthUrlResponse,
  ConnectedAppResponse,
  ConnectedAppsResponse,
  CreateConnectedAppBody,
  KeyParams,
  ProvidersResponse,
  SessionQuery,
  TokenResponse,
  UpdateConnectedAppBody,
  UserConnectionsResponse,
  UserParams,
} from "./connected-apps.schemas.js";
import {
  ConnectedAppError,
  type ConnectedAppRow,
  type ConnectedAppsService,
} from "./connected-apps.service.js";

const TAG = { tags: ["Connected Apps"] };
const RESERVED_KEYS = new Set(["auth_url", "token", "revoke", "providers"]);

function view(service: ConnectedAppsService, app: ConnectedAppRow) {
  return {
    key_code_ref: app.key_code_ref,
    provider: app.provider,
    name: app.name,
    client_id: app.client_id,
    callback_url: app.callback_url,
    provider_callback_url: service.callbackUrl,
    scopes: JSON.parse(app.scopes) as string[],
    offer_at_sign_in: app.offer_at_sign_in === 1,
    settings: JSON.parse(app.settings) as Record<string, string>,
    created_on: new Date(app.created_at * 1000).toISOString(),
    updated_on: new Date(app.updated_at * 1000).toISOString(),
  };
}

/** Runs `work`, turning the service's errors into the Management API's. */
async function api<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ConnectedAppError) throw new ApiError(error.code, error.message);
    throw error;
  }
}

export function registerConnectedAppsRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get(
    "/connected_apps/auth_url",
    {
      schema: {
        ...TAG,
        querystring: AuthUrlQuery,
        response: {
          200: AuthUrlResponse,
          ...READ_ERRORS,
          ...notFound("Connected app, user or organization"),
        },
      },
      config: { scope: "read:connected_apps" },
    },
    async (request) => {
      const { key_code_ref, user_id, org_code, override_callback_url } = request.query;
      const { url, sessionId } = await api(() =>
        request.services.connectedApps.authUrl(
          key_code_ref,
          { userId: user_id || undefined, orgCode: org_code || undefined },
          override_callback_url,
        ),
      );
      return { url, session_id: sessionId };
    },
  );

  r.get(
    "/connected_apps/token",
    {
      schema: {
        ...TAG,
        querystring: SessionQuery,
        response: { 200: TokenResponse, ...READ_ERRORS, 502: READ_ERRORS[503] },
      },
      config: { scope: "read:connected_apps" },
    },
    async (request) => {
      const { accessToken, expiresAt } = await api(() =>
        request.services.connectedApps.token(request.query.session_id),
      );
      return {
        access_token: accessToken,
        access_token_expiry: expiresAt === null ? null : new Date(expiresAt * 1000).toISOString(),
      };
    },
  );

  r.post(
    "/connected_apps/revoke",
    {
      schema: { ...TAG, querystring: SessionQuery, response: { 200: SuccessResponse, ...POST_ERRORS } },
      // Calls the provider's revocation endpoint: no Idempotency-Key transaction may be open.
      config: { scope: "create:connected_apps", outboundCalls: true },
    },
    async (request) => {
      await api(() => request.services.connectedApps.revoke(request.query.session_id));
      return success();
    },
  );

  // Latchkey extension: a user's connections, so an administrator can see and revoke them.
  r.get(
    "/users/:user_id/connected_apps",
    {
      schema: {
        ...TAG,
        params: UserParams,
        response: { 200: UserConnectionsResponse, ...READ_ERRORS, ...notFound("User") },
      },
      config: { scope: "read:connected_apps" },
    },
    async (request) => {
      const user = await request.services.users.store.findById(request.params.user_id);
      if (!user) throw new ApiError("USER_NOT_FOUND");
      const connections = await request.services.connectedApps.connectionsOf(user.id);
      return {
        ...success(),
        connections: connections.map((c) => ({
          session_id: c.id,
          key_code_ref: c.key_code_ref,
          status: c.status,
          scope: c.scope,
          access_token_expiry:
            c.access_token_expires_at === null
              ? null
              : new Date(c.access_token_expires_at * 1000).toISOString(),
          created_on: new Date(c.created_at * 1000).toISOString(),
        })),
      };
    },
  );

  r.get(
    "/connected_apps/providers",
    {
      schema: { ...TAG, response: { 200: ProvidersResponse, ...READ_ERRORS } },
      config: { scope: "read:connected_apps" },
    },
    async (request) => {
      const service = request.services.connectedApps;
      const providers = [...service.options.catalog.values()].map((p) => ({
        id: p.id,
        name: p.name,
        has_revocation: p.revocationUrl !== undefined,
        docs: p.docs ?? null,
        logo: connectedAppLogoPath(p.id),
        suggested_scopes: (p.suggestedScopes ?? []).map(({ scope, description }) => ({ scope, description })),
      }));
      providers.push({
        id: GENERIC_PROVIDER_ID,
        name: "Any OAuth 2.0 provider (endpoints in settings)",
        has_revocation: true,
        docs: null,
        logo: connectedAppLogoPath(GENERIC_PROVIDER_ID),
        suggested_scopes: [],
      });
      return { ...success(), provider_callback_url: service.callbackUrl, providers };
    },
  );

  r.get(
    "/connected_apps",
    {
      schema: { ...TAG, response: { 200: ConnectedAppsResponse, ...READ_ERRORS } },
      config: { scope: "read:connected_apps" },
    },
    async (request) => {
      const service = request.services.connectedApps;
      return { ...success(), connected_apps: (await service.list()).map((a) => view(service, a)) };
    },
  );

  r.post(
    "/connected_apps",
    {
      schema: {
        ...TAG,
        body: CreateConnectedAppBody,
        response: { 201: ConnectedAppResponse, ...POST_ERRORS, ...conflict("Connected app") },
      },
      // A generic provider's issuer is asked for its discovery document (OIDC Discovery §4).
      config: { scope: "create:connected_apps", outboundCalls: true },
    },
    async (request, reply) => {
      if (RESERVED_KEYS.has(request.body.key_code_ref)) {
        throw new ApiError("INVALID_REQUEST", `key_code_ref ${request.body.key_code_ref} is reserved`);
      }
      const service = request.services.connectedApps;
      const created = await api(() => service.create(request.body));
      return reply
        .code(201)
        .send({ ...success("Connected app created"), connected_app: view(service, created) });
    },
  );

  r.get(
    "/connected_apps/:key_code_ref",
    {
      schema: {
        ...TAG,
        params: KeyParams,
        response: { 200: ConnectedAppResponse, ...READ_ERRORS, ...notFound("Connected app") },
      },
      config: { scope: "read:connected_apps" },
    },
    async (request) => {
      const service = request.services.connectedApps;
      const found = await service.find(request.params.key_code_ref);
      if (!found) throw new ApiError("CONNECTED_APP_NOT_FOUND");
      return { ...success(), connected_app: view(service, found) };
    },
  );

  r.patch(
    "/connected_apps/:key_code_ref",
    {
      schema: {
        ...TAG,
        params: KeyParams,
        body: UpdateConnectedAppBody,
        response: { 200: ConnectedAppResponse, ...WRITE_ERRORS, ...notFound("Connected app") },
      },
      config: { scope: "create:connected_apps" },
    },
    async (request) => {
      const service = request.services.connectedApps;
      const updated = await api(() => service.update(request.params.key_code_ref, request.body));
      return { ...success("Connected app updated"), connected_app: view(service, updated) };
    },
  );

  r.delete(
    "/connected_apps/:key_code_ref",
    {
      schema: {
        ...TAG,
        params: KeyParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...notFound("Connected app") },
      },
      config: { scope: "create:connected_apps" },
    },
    async (request) => {
      await api(() => request.services.connectedApps.delete(request.params.key_code_ref));
      // As in Kinde, disconnecting does not revoke what users granted at the provider.
      return success("Connected app disconnected; tokens already granted at the provider were not revoked");
    },
  );
}
