// The conditional writes the connect flow and the token refresh both make to a connection row —
// fresh tokens stored, a failure recorded — each only while the row is still in the state (and,
// during a refresh, under the lease) its caller read, so a revoke or a successor is never
// overwritten; and the best-effort revocation and failure log of what a provider answered.
import { PermanentProviderError, type ProviderTokens, revokeToken } from "../outbound/oauth-client.js";
import type { ConnectedAppConfigs } from "./connected-app-configs.js";
import {
  type ConnectedAppRow,
  type ConnectedAppsContext,
  type ConnectionRow,
  connectionAad,
  describeFailure,
} from "./connected-apps.shared.js";

export class ConnectionWrites {
  constructor(
    private readonly ctx: ConnectedAppsContext,
    private readonly configs: ConnectedAppConfigs,
  ) {}

  /**
   * Stores fresh tokens — only while the connection is still in `expected` state, so a revoke that
   * landed meanwhile is never undone. False when the row had moved on.
   */
  async storeTokens(
    id: string,
    tokens: ProviderTokens,
    previousRefreshToken: string | undefined,
    expected: "exchanging" | "connected",
    owner?: string,
  ): Promise<boolean> {
    const refresh = tokens.refreshToken ?? previousRefreshToken;
    let update = this.ctx.db
      .updateTable("connections")
      .set({
        status: "connected",
        access_token_sealed: this.ctx.secretBox.seal(tokens.accessToken, connectionAad(id)),
        refresh_token_sealed: refresh ? this.ctx.secretBox.seal(refresh, connectionAad(id)) : null,
        access_token_expires_at: tokens.expiresAt ?? null,
        scope: tokens.scope ?? null,
        refresh_retry_after: null,
        last_error: null,
        updated_at: this.ctx.clock.now(),
      })
      .where("id", "=", id)
      .where("status", "=", expected);
    if (owner !== undefined) update = update.where("refresh_lock_owner", "=", owner);
    const result = await update.executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Best-effort revocation of tokens the provider issued to a connection that was revoked meanwhile. */
  async revokeAtProvider(
    app: ConnectedAppRow,
    tokens: { accessToken?: string; refreshToken?: string },
  ): Promise<void> {
    const provider = this.configs.providerOf(app);
    for (const [token, hint] of [
      [tokens.refreshToken, "refresh_token"],
      [tokens.accessToken, "access_token"],
    ] as const) {
      if (!token) continue;
      await revokeToken(provider, this.configs.credentialsOf(app), token, hint, this.ctx.http).catch(
        (error: unknown) => {
          const reason = describeFailure(error, [token, this.configs.credentialsOf(app).clientSecret]);
          this.logProviderFailure("connected_app_revocation_failed", app, error, reason);
          return false;
        },
      );
    }
  }

  /**
   * Records a failure (a new status, a cooldown) only while the row is still `onlyIf` — never over
   * a revoke — and, during a refresh, only while `owner` still holds the lease. False when refused.
   */
  async setError(
    id: string,
    change: {
      reason: string;
      status?: ConnectionRow["status"];
      onlyIf: ConnectionRow["status"];
      owner?: string;
      retryAfter?: number;
    },
  ): Promise<boolean> {
    let update = this.ctx.db
      .updateTable("connections")
      .set({
        last_error: change.reason.slice(0, 500),
        updated_at: this.ctx.clock.now(),
        ...(change.status ? { status: change.status } : {}),
        ...(change.retryAfter !== undefined ? { refresh_retry_after: change.retryAfter } : {}),
      })
      .where("id", "=", id)
      .where("status", "=", change.onlyIf);
    if (change.owner !== undefined) update = update.where("refresh_lock_owner", "=", change.owner);
    const result = await update.executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** `reason` names hosts, addresses and OAuth error codes; it is scrubbed of what was sent. */
  logProviderFailure(event: string, app: ConnectedAppRow, error: unknown, reason: string): void {
    this.ctx.options.logger?.warn(
      { event, keyCodeRef: app.key_code_ref, permanent: error instanceof PermanentProviderError, reason },
      "connected app: provider request failed",
    );
  }
}
