// The composition root: builds the HTTP server from its dependencies and never listens, so tests
// build it, call inject() or listen on port 0.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import cookie from "@fastify/cookie";
import formbody from "@fastify/formbody";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
  type preHandlerHookHandler,
} from "fastify";
import type { Bindings, ChildLoggerOptions, Logger } from "pino";
import { registerAccountRoutes } from "./account/account.routes.js";
import { registerAccountApiRoutes } from "./account-api/account-api.routes.js";
import { AuthenticationLog } from "./audit/authentication-log.js";
import { registerBrandStylesheet } from "./branding/brand-css.js";
import { BrandingStore } from "./branding/branding.store.js";
import { registerLogoFileRoutes } from "./branding/logo-files.routes.js";
import { type Clock, systemClock } from "./clock.js";
import type { Config } from "./config/config.js";
import { registerConnectedAppsBrowserRoutes } from "./connected-apps/connected-apps.browser.routes.js";
import type { SecretBox } from "./crypto/secret-box.js";
import { registerDashboardRoutes } from "./dashboard/dashboard.routes.js";
import { registerScimRoutes } from "./directories/scim.routes.js";
import { clientErrorHandler, frameworkErrorHandler, registerErrorHandling } from "./http/errors.js";
import { parseFormBody } from "./http/form-body.js";
import { registerFormOriginCheck } from "./http/form-origin.js";
import { registerHealthRoutes } from "./http/health.routes.js";
import { registerHomeRoutes } from "./http/home.routes.js";
import { registerInputGuard } from "./http/input-guard.js";
import { lazySerializers } from "./http/lazy-serializers.js";
import { registerSecurityHeaders } from "./http/security-headers.js";
import { registerInvitationPageRoutes } from "./invitations/invitation-page.routes.js";
import { type AccessLog, createAccessLog, requestLogger } from "./logging.js";
import { registerMailWorker } from "./mail/worker.js";
import { registerManagementApi } from "./management/management.plugin.js";
import { metricsFor } from "./metrics/metrics.js";
import { registerMetrics } from "./metrics/metrics.routes.js";
import { sharingGenerationReading } from "./oauth/config-cache.js";
import { registerDeviceAuthorizationRoute } from "./oauth/device.routes.js";
import { registerOAuthRoutes } from "./oauth/oauth.routes.js";
import { registerAccountPasskeyRoutes } from "./passkeys/account-passkeys.routes.js";
import { connectedAppsOptions, createServices, mailOptions, type Services } from "./services.js";
import { registerDeviceRoutes } from "./sign-in/device.routes.js";
import { registerSignInRoutes } from "./sign-in/sign-in.routes.js";
import { loadSignInProviders } from "./sign-in/upstream-catalog.js";
import type { Storage } from "./storage/database.js";
import { WebhooksStore } from "./webhooks/webhooks.store.js";
import { registerWebhookWorker } from "./webhooks/worker.js";

export interface ServerDeps {
  config: Config;
  storage: Storage;
  logger: Logger;
  secretBox: SecretBox;
  clock?: Clock;
  /** Prebuilt services (tests share them with the server); built from the other deps otherwise. */
  services?: Services;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Fastify's access lines (`incoming request`, `request completed`) written through createAccessLog
 * instead of each request's own logger; errors and everything else are Fastify's as before.
 */
class AccessLogController extends LogController {
  constructor(private readonly access: AccessLog) {
    super();
  }

  override incomingRequest(request: FastifyRequest): void {
    this.access.incoming(request);
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (error) super.requestCompleted(error, request, reply);
    else this.access.completed(request, reply, reply.elapsedTime);
  }
}

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const { config, storage } = deps;
  const options = {
    loggerInstance: deps.logger,
    // request.log is made on first use, and the access lines skip redaction (src/logging.ts).
    childLoggerFactory: (logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions) =>
      requestLogger(logger as Logger, bindings, options),
    logController: new AccessLogController(createAccessLog(deps.logger)),
    trustProxy: config.trustProxy,
    bodyLimit: 1024 * 1024,
    // Slow-loris and stuck clients: a request must arrive whole within 30 s.
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    keepAliveTimeout: 5_000,
    routerOptions: { maxParamLength: 200 },
    // Correlate a request across proxies when the caller sends a sane id; otherwise make one.
    requestIdHeader: false as const,
    genReqId: (req: IncomingMessage) => {
      const incoming = req.headers["x-request-id"];
      return typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    // registerErrorHandling answers requests during shutdown in each surface's vocabulary.
    return503OnClosing: false,
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
    schemaController: lazySerializers,
  };
  // The https instance has a different server type parameter; routes only see the common surface.
  const app = (config.tls
    ? Fastify({
        ...options,
        https: { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) },
      })
    : Fastify(options)) as unknown as FastifyInstance;

  if (config.trustProxy === true) {
    app.log.warn(
      "TRUST_PROXY=true believes every X-Forwarded-For entry: clients can forge their address and evade per-address throttles. Set the proxy's addresses or a hop count.",
    );
  }
  // A callback hook, not an async one: no promise and no extra turn per request.
  app.addHook("onRequest", (request, reply, done) => {
    reply.header("x-request-id", request.id);
    done();
  });
  // The hosted pages read configuration many times per request and change none: one generation
  // reading serves them all (src/oauth/config-cache.ts). A preHandler, so the body is parsed; put
  // on each page route as it is registered (routes registered before this are not covered), so
  // no other request pays for a hook stage or the per-call object of request.routeOptions.
  const shareGenerationReading: preHandlerHookHandler = (_request, _reply, done) =>
    sharingGenerationReading(done);
  app.addHook("onRoute", (route) => {
    if (route.config?.surface !== "page") return;
    route.preHandler = [shareGenerationReading, ...(route.preHandler ? [route.preHandler].flat() : [])];
  });
  registerSecurityHeaders(app, { https: Boolean(config.tls) });
  registerErrorHandling(app);
  registerInputGuard(app);
  // Every surface that takes forms parses them here, with the parameter limit (src/http/form-body.ts).
  await app.register(formbody, { parser: parseFormBody });
  await app.register(cookie);

  const services =
    deps.services ??
    createServices({
      db: storage.db,
      secretBox: deps.secretBox,
      issuer: config.issuerUrl,
      clock: deps.clock,
      connectedApps: connectedAppsOptions(config, deps.logger),
      mail: mailOptions(config, deps.logger),
      sms: config.sms,
      metrics: metricsFor(config, {
        poolStats: storage.poolStats,
        queueDepth: () => new WebhooksStore(storage.db).pendingCount(),
        logger: deps.logger,
      }),
      webhooks: { allowPrivateNetworks: config.webhooksAllowPrivateNetworks },
      authenticationLog: new AuthenticationLog(storage.db, {
        clock: deps.clock ?? systemClock,
        logger: deps.logger,
      }),
    });
  // After the in-flight requests (Fastify runs onClose then): their entries are written, not lost.
  app.addHook("onClose", () => services.authenticationLog.close());
  // Before any route, so its response hook counts them all; GET /metrics only when METRICS=on.
  registerMetrics(app, services.metrics, config.metrics);
  const https = config.issuerUrl.startsWith("https:");
  // Before any route: it attaches itself to every form route as the route is registered.
  registerFormOriginCheck(app, {
    issuer: services.oauth.issuer,
    businessName: () => services.business.name(),
    brand: () => new BrandingStore(services.db).brand(),
  });
  registerHealthRoutes(app, storage);
  // Delivers the outbox while the server runs (MAIL_TRANSPORT=smtp); stops with it.
  registerMailWorker(app, {
    config,
    db: storage.db,
    mail: services.mail,
    logger: deps.logger,
    clock: services.clock,
  });
  // Delivers webhook events while the server runs, in every instance (each endpoint has one sender).
  registerWebhookWorker(app, {
    db: storage.db,
    keys: services.keys,
    logger: deps.logger,
    clock: services.clock,
    allowPrivateNetworks: config.webhooksAllowPrivateNetworks,
    onOutcome: (result) => services.metrics.webhookDelivery(result),
  });
  const signInPolicy = { emailVerification: config.emailVerification };
  registerOAuthRoutes(app, services, {
    https,
    refreshCookieDomain: config.refreshCookieDomain,
    policy: signInPolicy,
  });
  registerAccountApiRoutes(app, services);
  registerDeviceAuthorizationRoute(app, services);
  const { signInDailyLimitPerAddress } = config;
  const { secretBox } = deps;
  registerSignInRoutes(app, services, {
    https,
    secretBox,
    refreshCookieDomain: config.refreshCookieDomain,
    signInDailyLimitPerAddress,
    policy: signInPolicy,
    emailCodeLifetimeSeconds: config.emailCodeLifetimeSeconds,
    // Read at start-up: a broken file stops the server rather than a sign-in.
    signInProviders: loadSignInProviders(config.connectionProvidersFile),
  });
  registerConnectedAppsBrowserRoutes(app, services, {
    https,
    secretBox,
    signInDailyLimitPerAddress,
    policy: signInPolicy,
  });
  registerDashboardRoutes(app, services);
  registerHomeRoutes(app, services);
  registerAccountPasskeyRoutes(app, services, { https, secretBox });
  registerAccountRoutes(app, services, { https, secretBox });
  registerDeviceRoutes(app, services, { https, secretBox, signInDailyLimitPerAddress, policy: signInPolicy });
  // Kinde's invite_link: /team_invitation signs in to accept an organization's invitation.
  registerInvitationPageRoutes(app, services, { https });
  // The hosted pages' brand: its stylesheet and the logos (src/branding/).
  registerBrandStylesheet(app);
  registerLogoFileRoutes(app, services.db);
  // Each SCIM directory's service provider, called by the organization's IdP (src/directories/).
  await registerScimRoutes(app, services);
  await registerManagementApi(app, {
    services,
    secretBox: deps.secretBox,
    issuer: config.issuerUrl,
    rateLimitPerMinute: config.managementRateLimit,
  });

  return app;
}
