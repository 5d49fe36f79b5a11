// The Management API (`/api/v1`, Kinde's paths and shapes): every route behind M2M bearer
// authentication and a per-operation scope, answers in Kinde's error shape, and POSTs honour
// Idempotency-Key. Feature folders contribute their routes here.
import type { FastifyInstance } from "fastify";
import { registerApiKeysRoutes } from "../api-keys/api-keys.routes.js";
import { registerApisRoutes } from "../apis/apis.routes.js";
import { registerApplicationsRoutes } from "../applications/applications.routes.js";
import { registerTrySignInRoute } from "../applications/try-sign-in.routes.js";
import { registerEnvironmentRoutes } from "../branding/environment.routes.js";
import { registerLogosRoutes } from "../branding/logos.routes.js";
import { registerBusinessRoutes } from "../business/business.routes.js";
import { registerCataloguesRoutes } from "../business/catalogues.routes.js";
import { registerConnectedAppsRoutes } from "../connected-apps/connected-apps.routes.js";
import { registerApplicationConnectionsRoutes } from "../connections/application-connections.routes.js";
import { registerConnectionsRoutes } from "../connections/connections.routes.js";
import { registerOrganizationConnectionsRoutes } from "../connections/organization-connections.routes.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { registerDirectoriesRoutes } from "../directories/directories.routes.js";
import { registerEnvironmentVariablesRoutes } from "../environment-variables/environment-variables.routes.js";
import { registerFeatureFlagsRoutes } from "../feature-flags/feature-flags.routes.js";
import { registerInvitationsRoutes } from "../invitations/invitations.routes.js";
import { registerMailRoutes } from "../mail/mail.routes.js";
import { registerMfaRoutes } from "../mfa/mfa.routes.js";
import { registerPasskeySettingsRoutes } from "../mfa/passkey-settings.routes.js";
import { registerOrganizationUsersRoutes } from "../organizations/organization-users.routes.js";
import { registerOrganizationsRoutes } from "../organizations/organizations.routes.js";
import { registerUserApiScopesRoutes } from "../organizations/user-api-scopes.routes.js";
import { registerPasskeysManagementRoutes } from "../passkeys/passkeys-management.routes.js";
import { registerPropertiesRoutes } from "../properties/properties.routes.js";
import { registerPropertyValuesRoutes } from "../properties/property-values.routes.js";
import { registerRoleScopesRoutes } from "../roles/role-scopes.routes.js";
import { registerRolesRoutes } from "../roles/roles.routes.js";
import type { Services } from "../services.js";
import { registerSubscribersRoutes } from "../subscribers/subscribers.routes.js";
import { registerSystemPermissionsRoutes } from "../system-permissions/system-permissions.routes.js";
import { registerUserSearchRoutes } from "../users/search.routes.js";
import { registerUsersRoutes } from "../users/users.routes.js";
import { registerWebhooksRoutes } from "../webhooks/webhooks.routes.js";
import { registerAuditLog } from "./audit.js";
import { authenticateManagementCall } from "./auth.js";
import { ApiError } from "./errors.js";
import { registerIdempotency } from "./idempotency.js";
import { registerOpenApi } from "./openapi.js";
import { registerOverviewRoute } from "./overview.routes.js";
import { managementValidator } from "./validation.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Services for this request: bound to its transaction when the request is idempotent. */
    services: Services;
  }
}

export interface ManagementApiOptions {
  services: Services;
  /** Seals the responses Idempotency-Key records keep (they can carry client secrets). */
  secretBox: SecretBox;
  /** Requests per minute per caller; 0 turns the limit off. */
  rateLimitPerMinute: number;
  issuer: string;
}

export async function registerManagementApi(
  app: FastifyInstance,
  options: ManagementApiOptions,
): Promise<void> {
  const { services } = options;
  app.decorateRequest("services", null as unknown as Services);
  await registerOpenApi(app, options.issuer);
  await app.register(
    async (api) => {
      api.setValidatorCompiler(managementValidator);
      // JSON only, as Kinde: form and text bodies answer 415 rather than being read some other way.
      api.removeAllContentTypeParsers();
      api.addContentTypeParser(
        "application/json",
        { parseAs: "string" },
        api.getDefaultJsonParser("error", "error"),
      );
      api.addHook("onRequest", async (request, reply) => {
        // Responses may carry client secrets and provider tokens (ASVS 14.3.2).
        reply.header("cache-control", "no-store").header("pragma", "no-cache");
        request.services = services;
        // A public operation (Kinde's API key verification) takes no token and limits its callers
        // itself (config.public, src/api-keys/api-keys.routes.ts).
        if (request.routeOptions.config?.public) return;
        request.caller = await authenticateManagementCall(services.oauth, request);
        if (options.rateLimitPerMinute > 0) {
          // Counters live in the database, so the limit holds across instances.
          const max = options.rateLimitPerMinute;
          const verdict = await services.rateLimiter.consume(
            `management:${request.caller.userId ?? request.caller.clientId}`,
            { max, windowSeconds: 60 },
          );
          reply.header("ratelimit-limit", String(max));
          reply.header("ratelimit-remaining", String(verdict.remaining));
          reply.header("ratelimit-reset", String(verdict.resetIn));
          if (!verdict.allowed) {
            throw new ApiError("TOO_MANY_REQUESTS", `Rate limit of ${max} requests per minute exceeded`, {
              "retry-after": String(verdict.resetIn),
            });
          }
        }
      });
      registerAuditLog(api, services);
      registerIdempotency(api, {
        services,
        secretBox: options.secretBox,
        servicesFor: (trx) => services.withDb(trx),
      });
      registerUsersRoutes(api);
      registerApplicationsRoutes(api);
      registerTrySignInRoute(api);
      registerApisRoutes(api);
      registerBusinessRoutes(api);
      registerConnectedAppsRoutes(api);
      registerOrganizationsRoutes(api);
      registerOrganizationUsersRoutes(api);
      registerUserApiScopesRoutes(api);
      registerRolesRoutes(api);
      registerRoleScopesRoutes(api);
      registerSystemPermissionsRoutes(api);
      registerFeatureFlagsRoutes(api);
      registerMailRoutes(api);
      registerWebhooksRoutes(api);
      registerConnectionsRoutes(api);
      registerApplicationConnectionsRoutes(api);
      registerOrganizationConnectionsRoutes(api);
      registerMfaRoutes(api);
      registerPasskeySettingsRoutes(api);
      registerPasskeysManagementRoutes(api);
      registerPropertiesRoutes(api);
      registerPropertyValuesRoutes(api);
      registerUserSearchRoutes(api);
      registerOverviewRoute(api);
      registerInvitationsRoutes(api);
      registerApiKeysRoutes(api);
      registerEnvironmentRoutes(api);
      // Multipart uploads, parsed only in this plugin context (src/branding/logos.routes.ts).
      await registerLogosRoutes(api);
      registerCataloguesRoutes(api);
      registerSubscribersRoutes(api);
      registerEnvironmentVariablesRoutes(api);
      registerDirectoriesRoutes(api);
    },
    { prefix: "/api/v1" },
  );
}
