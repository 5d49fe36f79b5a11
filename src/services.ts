// Builds every service from the process's dependencies once; the server, the bootstrap and the
// CLI share this wiring.
import type { Logger } from "pino";
import { ApisService } from "./apis/apis.service.js";
import { ApplicationsService } from "./applications/applications.service.js";
import { TrySignInTickets } from "./applications/try-sign-in.js";
import { AuthenticationLog } from "./audit/authentication-log.js";
import { BusinessStore } from "./business/business.store.js";
import { type Clock, systemClock } from "./clock.js";
import type { SmsConfig } from "./config/sms-config.js";
import { loadCatalog } from "./connected-apps/catalog.js";
import { type ConnectedAppsOptions, ConnectedAppsService } from "./connected-apps/connected-apps.service.js";
import { ConnectionsService } from "./connections/connections.service.js";
import type { SecretBox } from "./crypto/secret-box.js";
import { EnvironmentVariablesStore } from "./environment-variables/environment-variables.store.js";
import { FeatureFlagsService } from "./feature-flags/feature-flags.service.js";
import { type MailOptions, MailService } from "./mail/mail.service.js";
import { type Metrics, noMetrics } from "./metrics/metrics.js";
import { MfaService } from "./mfa/mfa.service.js";
import { smsSenderFor } from "./mfa/sms.js";
import { withConfigCache } from "./oauth/config-cache.js";
import type { OAuthContext } from "./oauth/context.js";
import { KyselyDeviceStore } from "./oauth/device.store.js";
import { SigningKeys } from "./oauth/keys.js";
import { KyselyOAuthStore } from "./oauth/oauth.store.js";
import { TokenService } from "./oauth/tokens.js";
import { OrganizationsService } from "./organizations/organizations.service.js";
import { PasskeysService } from "./passkeys/passkeys.service.js";
import { RolesService } from "./roles/roles.service.js";
import { PendingAuthorizations } from "./sign-in/authorization-requests.js";
import { RateLimiter } from "./sign-in/rate-limit.js";
import { BrowserSessions } from "./sign-in/sessions.js";
import type { Db } from "./storage/database.js";
import { UsersService } from "./users/users.service.js";
import { WebhooksService } from "./webhooks/webhooks.service.js";

export interface Services {
  /** The database (or transaction) every service below works on. */
  db: Db;
  /** The same services over another database handle (a request's transaction). */
  withDb(db: Db): Services;
  clock: Clock;
  oauth: OAuthContext;
  keys: SigningKeys;
  sessions: BrowserSessions;
  pending: PendingAuthorizations;
  rateLimiter: RateLimiter;
  business: BusinessStore;
  users: UsersService;
  applications: ApplicationsService;
  apis: ApisService;
  connectedApps: ConnectedAppsService;
  /** Sign-in connections (Kinde's connections: Google, GitHub, any OpenID provider …; src/connections/). */
  connections: ConnectionsService;
  organizations: OrganizationsService;
  roles: RolesService;
  featureFlags: FeatureFlagsService;
  /** E-mail: enqueue in the caller's transaction; the worker delivers (src/mail/). */
  mail: MailService;
  /** Webhook endpoints and their delivery log; the worker delivers (src/webhooks/). */
  webhooks: WebhooksService;
  /** Second factors and the MFA policy (src/mfa/). */
  mfa: MfaService;
  /** WebAuthn credentials: passkey sign-in, second factor, registration (src/passkeys/). */
  passkeys: PasskeysService;
  /** Counters for /metrics (src/metrics/); a no-op object when metrics are off. */
  metrics: Metrics;
  /** Sign-ins, sign-outs and token grants, written in batches behind the requests (src/audit/). */
  authenticationLog: AuthenticationLog;
  /** Kinde's environment variables, sealed (src/environment-variables/). */
  environmentVariables: EnvironmentVariablesStore;
}

export interface ServicesInput {
  db: Db;
  secretBox: SecretBox;
  issuer: string;
  clock?: Clock;
  keyCacheSeconds?: number;
  /** The provider catalog (built-in when omitted) and whether providers may live on private networks. */
  connectedApps?: Omit<ConnectedAppsOptions, "issuer">;
  /** How mail leaves (default: kept in the outbox, never sent). */
  mail?: MailOptions;
  /** How text messages leave (default: the development outbox). */
  sms?: SmsConfig;
  /** The mail service to share (withDb: one wake-up signal for the process's worker). */
  mailService?: MailService;
  /** This server's metrics (metricsFor); none by default. */
  metrics?: Metrics;
  /** Whether webhook endpoints may be on private networks (WEBHOOKS_ALLOW_PRIVATE_NETWORKS). */
  webhooks?: { allowPrivateNetworks: boolean };
  /** The process's authentication log writer (one buffer on the process-wide database). */
  authenticationLog?: AuthenticationLog;
}

export function createServices(input: ServicesInput): Services {
  const clock = input.clock ?? systemClock;
  const store = withConfigCache(new KyselyOAuthStore(input.db, input.secretBox, clock), input.db);
  const keys = new SigningKeys(store, input.secretBox, clock, { cacheSeconds: input.keyCacheSeconds });
  const mail =
    input.mailService ??
    new MailService({
      db: input.db,
      secretBox: input.secretBox,
      clock,
      options: input.mail ?? { transport: "outbox" },
    });
  // Shared by withDb's copies: its entries outlive any request transaction.
  const authenticationLog = input.authenticationLog ?? new AuthenticationLog(input.db, { clock });
  const rateLimiter = new RateLimiter(input.db, clock);
  const mfa = new MfaService(input.db, clock, {
    secretBox: input.secretBox,
    rateLimiter,
    mail,
    sms: smsSenderFor(input.sms, input.db, input.secretBox, clock),
    businessName: () => new BusinessStore(input.db, clock).name(),
  });
  return {
    db: input.db,
    withDb: (db) => createServices({ ...input, db, mailService: mail, authenticationLog }),
    clock,
    keys,
    oauth: {
      issuer: input.issuer,
      store,
      devices: new KyselyDeviceStore(input.db, input.secretBox, clock),
      tokens: new TokenService(input.issuer, keys, clock),
      clock,
      trySignIn: new TrySignInTickets(input.issuer, input.secretBox, clock),
    },
    sessions: new BrowserSessions(input.db, clock),
    pending: new PendingAuthorizations(input.db, clock),
    rateLimiter,
    business: new BusinessStore(input.db, clock),
    users: new UsersService(input.db, clock),
    applications: new ApplicationsService(input.db, input.secretBox, clock, input.issuer),
    apis: new ApisService(input.db, clock),
    connectedApps: new ConnectedAppsService(input.db, input.secretBox, clock, {
      ...input.connectedApps,
      issuer: input.issuer,
      catalog: input.connectedApps?.catalog ?? loadCatalog(),
      allowPrivateNetworks: input.connectedApps?.allowPrivateNetworks ?? false,
    }),
    // Providers on private networks are allowed where connected apps' are (one outbound policy).
    connections: new ConnectionsService(input.db, input.secretBox, clock, {
      allowPrivateNetworks: input.connectedApps?.allowPrivateNetworks ?? false,
    }),
    organizations: new OrganizationsService(input.db, clock),
    roles: new RolesService(input.db, clock),
    featureFlags: new FeatureFlagsService(input.db, clock),
    mail,
    webhooks: new WebhooksService(input.db, clock, {
      allowPrivateNetworks: input.webhooks?.allowPrivateNetworks ?? false,
    }),
    mfa,
    passkeys: new PasskeysService(input.db, clock, { issuer: input.issuer, mfa }),
    metrics: input.metrics ?? noMetrics,
    authenticationLog,
    environmentVariables: new EnvironmentVariablesStore(input.db, input.secretBox, clock),
  };
}

/** The mail options a configuration asks for. */
export function mailOptions(
  config: { mail: { transport: MailOptions["transport"] } },
  logger?: Logger,
): MailOptions {
  return { transport: config.mail.transport, logger };
}

/** The connected-apps options a configuration asks for (the catalog file is read here, once). */
export function connectedAppsOptions(
  config: {
    connectedAppsCatalogFile?: string;
    connectedAppsAllowPrivateNetworks: boolean;
  },
  logger?: Logger,
): NonNullable<ServicesInput["connectedApps"]> {
  return {
    catalog: loadCatalog(config.connectedAppsCatalogFile),
    allowPrivateNetworks: config.connectedAppsAllowPrivateNetworks,
    logger,
  };
}
