// Connected apps: a business configures a provider once; each of its users connects through
// `auth_url` → provider consent → callback; the business's back end then asks for a fresh provider
// access token by session id. Tokens are sealed with the master key; the refresh token never leaves.
//
// ConnectedAppsService is the one object routes, the sign-in pages, the account page and tests
// hold; it builds the shared context once and hands each call to the part that owns it:
//   connected-app-configs.ts  the configurations (Management API), provider and credentials of one
//   connect-flow.ts           auth_url, the connect link, state and PKCE, the provider's callback
//   connection-tokens.ts      token calls, the single-flight fenced refresh, revocation
//   connection-writes.ts      conditional writes and provider revocation both of the above share
//   connected-apps.shared.ts  rows, ConnectedAppError, options, sealing and redaction helpers
import type { Clock } from "../clock.js";
import type { SecretBox } from "../crypto/secret-box.js";
import type { Db } from "../storage/database.js";
import type { ProviderDefinition } from "./catalog.js";
import { ConnectFlow } from "./connect-flow.js";
import { ConnectedAppConfigs } from "./connected-app-configs.js";
import {
  type ConnectedAppInput,
  type ConnectedAppRow,
  type ConnectedAppsOptions,
  type ConnectionOwner,
  type ConnectionRow,
  PROVIDER_DEADLINE_MS,
  REFRESH_LEASE_SECONDS,
} from "./connected-apps.shared.js";
import { ConnectionTokens } from "./connection-tokens.js";
import { ConnectionWrites } from "./connection-writes.js";

export { AUTH_URL_LIFETIME_SECONDS } from "./connect-flow.js";
export {
  ConnectedAppError,
  type ConnectedAppInput,
  type ConnectedAppRow,
  type ConnectedAppsOptions,
  type ConnectionOwner,
  type ConnectionRow,
  PROVIDER_DEADLINE_MS,
  REFRESH_LEASE_SECONDS,
} from "./connected-apps.shared.js";
export { REFRESH_COOLDOWN_SECONDS, REFRESH_MARGIN_SECONDS } from "./connection-tokens.js";

export class ConnectedAppsService {
  private readonly configs: ConnectedAppConfigs;
  private readonly flow: ConnectFlow;
  private readonly tokens: ConnectionTokens;

  constructor(
    db: Db,
    secretBox: SecretBox,
    clock: Clock,
    readonly options: ConnectedAppsOptions,
  ) {
    const leaseSeconds = options.refreshLeaseSeconds ?? REFRESH_LEASE_SECONDS;
    const deadlineMs = options.providerDeadlineMs ?? PROVIDER_DEADLINE_MS;
    if (!(deadlineMs > 0 && deadlineMs < leaseSeconds * 1000)) {
      throw new Error("the provider deadline must be positive and shorter than the refresh lease");
    }
    const http = {
      allowPrivateNetworks: options.allowPrivateNetworks,
      deadlineMs,
      resolveHost: options.resolveHost,
    };
    const ctx = { db, secretBox, clock, options, http, leaseSeconds };
    this.configs = new ConnectedAppConfigs(ctx);
    const writes = new ConnectionWrites(ctx, this.configs);
    this.flow = new ConnectFlow(ctx, this.configs, writes);
    this.tokens = new ConnectionTokens(ctx, this.configs, writes);
  }

  /** The provider-to-Latchkey callback URL administrators register at the provider. */
  get callbackUrl(): string {
    return this.flow.callbackUrl;
  }

  // --- configuration (connected-app-configs.ts) ------------------------------------------------

  list(): Promise<ConnectedAppRow[]> {
    return this.configs.list();
  }

  find(key: string): Promise<ConnectedAppRow | undefined> {
    return this.configs.find(key);
  }

  create(input: ConnectedAppInput): Promise<ConnectedAppRow> {
    return this.configs.create(input);
  }

  update(
    key: string,
    changes: Partial<Omit<ConnectedAppInput, "key_code_ref" | "provider">>,
  ): Promise<ConnectedAppRow> {
    return this.configs.update(key, changes);
  }

  /** Removes the configuration and its connections; what users granted at the provider stays. */
  delete(key: string): Promise<void> {
    return this.configs.delete(key);
  }

  providerOf(app: ConnectedAppRow): ProviderDefinition {
    return this.configs.providerOf(app);
  }

  // --- connecting (connect-flow.ts) --------------------------------------------------------------

  authUrl(
    key: string,
    owner: ConnectionOwner,
    overrideCallbackUrl?: string,
  ): Promise<{ url: string; sessionId: string }> {
    return this.flow.authUrl(key, owner, overrideCallbackUrl);
  }

  mayConsent(
    owner: { userId: string | null; orgCode: string | null },
    signedInUserId: string,
  ): Promise<boolean> {
    return this.flow.mayConsent(owner, signedInUserId);
  }

  offersFor(userId: string): Promise<ConnectedAppRow[]> {
    return this.flow.offersFor(userId);
  }

  connectNow(key: string, userId: string, returnUrl: string): Promise<{ redirect: string; state: string }> {
    return this.flow.connectNow(key, userId, returnUrl);
  }

  describeLink(
    startToken: string,
  ): Promise<{ userId: string | null; orgCode: string | null; email: string | null; appName: string }> {
    return this.flow.describeLink(startToken);
  }

  start(
    startToken: string,
    signedInUserId: string | undefined,
  ): Promise<{ redirect: string; state: string }> {
    return this.flow.start(startToken, signedInUserId);
  }

  callback(input: { state?: string; code?: string; error?: string; browserState?: string }): Promise<string> {
    return this.flow.callback(input);
  }

  // --- tokens (connection-tokens.ts) -------------------------------------------------------------

  token(sessionId: string): Promise<{ accessToken: string; expiresAt: number | null }> {
    return this.tokens.token(sessionId);
  }

  revoke(sessionId: string): Promise<{ revokedAtProvider: boolean }> {
    return this.tokens.revoke(sessionId);
  }

  connectionsOf(userId: string): Promise<ConnectionRow[]> {
    return this.tokens.connectionsOf(userId);
  }
}
