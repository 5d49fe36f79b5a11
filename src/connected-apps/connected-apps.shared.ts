// What the parts of connected apps share: the rows they read, the one error type every part throws
// (routes map its code to Kinde's errors), the options and the context (database, secret box,
// clock, outbound HTTP policy) built once by ConnectedAppsService, and the sealing and redaction
// helpers. No rules live here; see connected-app-configs.ts, connect-flow.ts, connection-tokens.ts.
import type { Selectable } from "kysely";
import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { SecretBox } from "../crypto/secret-box.js";
import type { HostResolver, OutboundOptions } from "../outbound/http.js";
import type { Db } from "../storage/database.js";
import type { ConnectedAppsTable, ConnectionsTable } from "../storage/schema.js";
import type { ProviderDefinition } from "./catalog.js";

export type ConnectedAppRow = Selectable<ConnectedAppsTable>;
export type ConnectionRow = Selectable<ConnectionsTable>;

/** A refresh lease older than this was left by a crashed process and may be taken over. */
export const REFRESH_LEASE_SECONDS = 30;
/**
 * Every request to a provider, DNS to last body byte, ends by then: well inside the lease, so a
 * holder normally finishes before anyone may take over. Fencing covers the rest (pauses, skew).
 */
export const PROVIDER_DEADLINE_MS = 10_000;

export class ConnectedAppError extends Error {
  constructor(
    readonly code:
      | "CONNECTED_APP_NOT_FOUND"
      | "CONNECTED_APP_EXISTS"
      | "INVALID_PROVIDER"
      | "INVALID_URL"
      | "USER_NOT_FOUND"
      | "ORGANIZATION_NOT_FOUND"
      | "INVALID_REQUEST"
      | "SESSION_NOT_FOUND"
      | "CONNECTION_NOT_READY"
      | "CONNECTION_NEEDS_REAUTHORIZATION"
      | "CONNECTION_REVOKED"
      | "PROVIDER_UNAVAILABLE",
    message: string,
  ) {
    super(message);
  }
}

export interface ConnectedAppInput {
  key_code_ref: string;
  provider: string;
  name?: string;
  client_id: string;
  client_secret: string;
  callback_url: string;
  scopes?: string[];
  offer_at_sign_in?: boolean;
  settings?: {
    /** An OpenID Connect issuer: its discovery document supplies the endpoints not given. */
    issuer?: string;
    authorization_url?: string;
    token_url?: string;
    revocation_url?: string;
    client_auth?: "basic" | "body";
  };
}

export interface ConnectedAppsOptions {
  issuer: string;
  catalog: ReadonlyMap<string, ProviderDefinition>;
  allowPrivateNetworks: boolean;
  /** Where provider failures are logged (never with tokens, secrets or session ids). */
  logger?: Logger;
  /** The refresh lease (default REFRESH_LEASE_SECONDS), in the service clock's seconds. */
  refreshLeaseSeconds?: number;
  /** The deadline of each provider request (default PROVIDER_DEADLINE_MS); must be shorter than the lease. */
  providerDeadlineMs?: number;
  /** Resolves provider host names (default: the system resolver). */
  resolveHost?: HostResolver;
}

/** Whose connection it is: a user's, an organization's, or a member's within an organization. */
export interface ConnectionOwner {
  userId?: string;
  orgCode?: string;
}

/** What every part works with; ConnectedAppsService builds it once from its options. */
export interface ConnectedAppsContext {
  readonly db: Db;
  readonly secretBox: SecretBox;
  readonly clock: Clock;
  readonly options: ConnectedAppsOptions;
  /** The outbound policy of every provider request (deadline shorter than the lease). */
  readonly http: OutboundOptions;
  readonly leaseSeconds: number;
}

/** An error's message with every occurrence of `secrets` blanked out. */
export function describeFailure(error: unknown, secrets: (string | undefined)[]): string {
  let text = error instanceof Error ? error.message : String(error);
  for (const secret of secrets) if (secret) text = text.split(secret).join("[REDACTED]");
  return text;
}

export function secretAad(key: string): string {
  return `connected_app_secret:${key}`;
}

export function connectionAad(id: string): string {
  return `connection:${id}`;
}
