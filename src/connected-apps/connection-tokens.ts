// A connection's provider access token, handed to the business's back end by session id: refreshed
// first when about to expire, exactly once however many callers and processes ask at once (an
// in-process single flight, then a fenced lease on the row), with a short cooldown after a
// transient provider failure; and revocation, here and at the provider. Opened tokens are kept per
// instance so a token call skips the AES-GCM open while its row still holds the same ciphertext.
import type { CompiledQuery } from "kysely";
import { randomToken } from "../crypto/random.js";
import {
  PermanentProviderError,
  type ProviderTokens,
  refreshTokens,
  revokeToken,
} from "../outbound/oauth-client.js";
import type { ConnectedAppConfigs } from "./connected-app-configs.js";
import {
  ConnectedAppError,
  type ConnectedAppRow,
  type ConnectedAppsContext,
  type ConnectionRow,
  connectionAad,
  describeFailure,
} from "./connected-apps.shared.js";
import type { ConnectionWrites } from "./connection-writes.js";

/** A token this close to expiry is refreshed before it is handed out. */
export const REFRESH_MARGIN_SECONDS = 60;
/** After a transient provider failure, token calls answer at once for this long (no hammering). */
export const REFRESH_COOLDOWN_SECONDS = 10;

/** The row moved on under a refresh: revoked, or the lease passed to another holder. */
type Fenced = { fenced: true };

/** What a token call reads of its connection (not the refresh token, lease or history). */
const TOKEN_STATE_COLUMNS = [
  "id",
  "status",
  "access_token_sealed",
  "access_token_expires_at",
  "refresh_retry_after",
] as const;
type TokenState = Pick<ConnectionRow, (typeof TOKEN_STATE_COLUMNS)[number]>;

/** Opened access tokens kept per instance (one per connection), a bound on memory. */
const OPENED_TOKENS = 1000;

export class ConnectionTokens {
  private readonly inflight = new Map<string, Promise<TokenState>>();
  /**
   * Access tokens already opened, by connection, with the sealed text they came from: a token call
   * reads the row every time (status, expiry) and only skips the AES-GCM open while the row still
   * holds the same ciphertext — a refresh, a reconnect or a revocation anywhere changes or clears it.
   * The plaintext stays in the process that holds the master key and can open every row anyway.
   */
  private readonly opened = new Map<string, { sealed: string; token: string }>();
  private tokenStateQuery: CompiledQuery<TokenState> | undefined;

  constructor(
    private readonly ctx: ConnectedAppsContext,
    private readonly configs: ConnectedAppConfigs,
    private readonly writes: ConnectionWrites,
  ) {}

  /** A valid provider access token for the connection, refreshed first when about to expire. */
  async token(sessionId: string): Promise<{ accessToken: string; expiresAt: number | null }> {
    let connection = await this.requireConnected(sessionId);
    const now = this.ctx.clock.now();
    if (needsRefresh(connection, now)) {
      if (connection.refresh_retry_after !== null && connection.refresh_retry_after > now) {
        throw new ConnectedAppError(
          "PROVIDER_UNAVAILABLE",
          `The provider failed moments ago; try again in ${connection.refresh_retry_after - now} s`,
        );
      }
      connection = await this.refreshOnce(sessionId);
    }
    return { accessToken: this.openAccessToken(connection), expiresAt: connection.access_token_expires_at };
  }

  private openAccessToken(connection: TokenState): string {
    const sealed = connection.access_token_sealed!;
    const known = this.opened.get(connection.id);
    if (known?.sealed === sealed) return known.token;
    const token = this.ctx.secretBox.open(sealed, connectionAad(connection.id));
    this.opened.delete(connection.id);
    if (this.opened.size >= OPENED_TOKENS) this.opened.delete(this.opened.keys().next().value!);
    this.opened.set(connection.id, { sealed, token });
    return token;
  }

  /** Revokes at the provider (where it can) and here; later token calls fail clearly. */
  async revoke(sessionId: string): Promise<{ revokedAtProvider: boolean }> {
    const connection = await this.ctx.db
      .selectFrom("connections")
      .selectAll()
      .where("id", "=", sessionId)
      .executeTakeFirst();
    if (!connection) throw new ConnectedAppError("SESSION_NOT_FOUND", "No connection with this session_id");
    await this.ctx.db
      .updateTable("connections")
      .set({ status: "revoked", updated_at: this.ctx.clock.now() })
      .where("id", "=", sessionId)
      .execute();
    this.opened.delete(sessionId);
    const app = await this.configs.find(connection.key_code_ref);
    if (!app) return { revokedAtProvider: false };
    const provider = this.configs.providerOf(app);
    let revokedAtProvider = false;
    // Revoking the refresh token ends the whole grant at most providers; the access token too.
    for (const [sealed, hint] of [
      [connection.refresh_token_sealed, "refresh_token"],
      [connection.access_token_sealed, "access_token"],
    ] as const) {
      if (!sealed) continue;
      let token: string | undefined;
      try {
        token = this.ctx.secretBox.open(sealed, connectionAad(connection.id));
        revokedAtProvider =
          (await revokeToken(provider, this.configs.credentialsOf(app), token, hint, this.ctx.http)) ||
          revokedAtProvider;
      } catch (error) {
        // Revoked here regardless; the provider's copy expires on its own.
        const reason = describeFailure(error, [token, this.configs.credentialsOf(app).clientSecret]);
        this.writes.logProviderFailure("connected_app_revocation_failed", app, error, reason);
      }
    }
    await this.ctx.db
      .updateTable("connections")
      .set({ access_token_sealed: null, refresh_token_sealed: null })
      .where("id", "=", sessionId)
      .execute();
    return { revokedAtProvider };
  }

  /** A user's own connections (for listing and revoking per user; an organization's are not). */
  connectionsOf(userId: string): Promise<ConnectionRow[]> {
    return this.ctx.db
      .selectFrom("connections")
      .selectAll()
      .where("user_id", "=", userId)
      .where("org_code", "is", null)
      .where("status", "in", ["connected", "needs_reauthorization"])
      .orderBy("created_at")
      .execute();
  }

  /**
   * Exactly one refresh at the provider however many callers ask at once: concurrent calls in this
   * process share one promise, and across processes a conditional write takes a lease that only one
   * can win; the others wait and re-read the refreshed row.
   */
  private refreshOnce(sessionId: string): Promise<TokenState> {
    let running = this.inflight.get(sessionId);
    if (!running) {
      running = this.refreshUnderLock(sessionId).finally(() => this.inflight.delete(sessionId));
      this.inflight.set(sessionId, running);
    }
    return running;
  }

  private async refreshUnderLock(sessionId: string): Promise<TokenState> {
    // Waiters give up a little after the holder's provider request must have ended.
    const deadline = Date.now() + this.ctx.http.deadlineMs + 5_000;
    while (Date.now() < deadline) {
      const now = this.ctx.clock.now();
      // A lease alone is not enough: a holder can outlive it (a paused process, a clock behind the
      // others') while a successor presents the same refresh token. The owner id fences every write
      // the refresh makes, so only the current holder's result lands.
      const owner = randomToken();
      const locked = await this.ctx.db
        .updateTable("connections")
        .set({ refresh_locked_until: now + this.ctx.leaseSeconds, refresh_lock_owner: owner })
        .where("id", "=", sessionId)
        .where("status", "=", "connected")
        .where((eb) => eb.or([eb("refresh_locked_until", "is", null), eb("refresh_locked_until", "<", now)]))
        .returningAll()
        .executeTakeFirst();
      if (locked) {
        try {
          // Another process may have refreshed between our read and the lock: use its token.
          if (!needsRefresh(locked, now)) return locked;
          const refreshed = await this.refreshLocked(locked, owner);
          return "fenced" in refreshed ? await this.afterLostLease(sessionId) : refreshed;
        } finally {
          // Only our own lease: a successor's must survive our late release.
          await this.ctx.db
            .updateTable("connections")
            .set({ refresh_locked_until: null, refresh_lock_owner: null })
            .where("id", "=", sessionId)
            .where("refresh_lock_owner", "=", owner)
            .execute();
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      const current = await this.requireConnected(sessionId);
      if (!needsRefresh(current, this.ctx.clock.now())) return current;
    }
    throw new ConnectedAppError(
      "PROVIDER_UNAVAILABLE",
      "Timed out waiting for another refresh of this connection",
    );
  }

  /** Refreshes under the lease `owner`; Fenced when the row was revoked or the lease passed on. */
  private async refreshLocked(connection: ConnectionRow, owner: string): Promise<TokenState | Fenced> {
    const app = await this.configs.require(connection.key_code_ref);
    if (!connection.refresh_token_sealed) {
      const marked = await this.writes.setError(connection.id, {
        reason: "the access token expired and the provider gave no refresh token",
        status: "needs_reauthorization",
        onlyIf: "connected",
        owner,
      });
      if (!marked) return { fenced: true };
      throw new ConnectedAppError("CONNECTION_NEEDS_REAUTHORIZATION", "The user must connect again");
    }
    const refreshToken = this.ctx.secretBox.open(
      connection.refresh_token_sealed,
      connectionAad(connection.id),
    );
    let tokens: ProviderTokens;
    try {
      tokens = await refreshTokens(
        this.configs.providerOf(app),
        this.configs.credentialsOf(app),
        refreshToken,
        this.ctx.clock.now(),
        this.ctx.http,
      );
    } catch (error) {
      // A provider's error_description may quote what it was sent.
      const reason = describeFailure(error, [refreshToken, this.configs.credentialsOf(app).clientSecret]);
      this.writes.logProviderFailure("connected_app_refresh_failed", app, error, reason);
      if (error instanceof PermanentProviderError) {
        // A stale holder's refusal (its refresh token was already rotated by the successor) says
        // nothing about the connection: fenced, it cannot mark it for reauthorization.
        const marked = await this.writes.setError(connection.id, {
          reason,
          status: "needs_reauthorization",
          onlyIf: "connected",
          owner,
        });
        if (!marked) return { fenced: true };
        // Only the provider's error code reaches the caller, never its free text (an SSRF read-back).
        throw new ConnectedAppError(
          "CONNECTION_NEEDS_REAUTHORIZATION",
          `The provider refused the refresh${error.code ? ` (${error.code})` : ""}; the user must connect again`,
        );
      }
      const recorded = await this.writes.setError(connection.id, {
        reason,
        onlyIf: "connected",
        owner,
        retryAfter: this.ctx.clock.now() + REFRESH_COOLDOWN_SECONDS,
      });
      if (!recorded) return { fenced: true };
      throw new ConnectedAppError(
        "PROVIDER_UNAVAILABLE",
        "The provider could not be reached; try again shortly",
      );
    }
    // No refresh token in the answer (Google): keep the one we have.
    if (await this.writes.storeTokens(connection.id, tokens, refreshToken, "connected", owner)) {
      return this.requireConnected(connection.id);
    }
    const current = await this.ctx.db
      .selectFrom("connections")
      .selectAll()
      .where("id", "=", connection.id)
      .executeTakeFirst();
    if (current && current.status !== "revoked") {
      await this.discardStaleRefresh(app, tokens, refreshToken, current);
      return { fenced: true };
    }
    // Revoked while we refreshed: revoke what the provider just issued too.
    await this.writes.revokeAtProvider(app, tokens);
    throw new ConnectedAppError("CONNECTION_REVOKED", "This connection was revoked");
  }

  /**
   * Our lease passed to another holder while our refresh was at the provider: its result is
   * dropped, never stored. Revoking it could end the successor's grant too (RFC 7009 §2.1), so only
   * providers known to revoke single tokens get the discarded tokens revoked.
   */
  private async discardStaleRefresh(
    app: ConnectedAppRow,
    tokens: ProviderTokens,
    presentedRefreshToken: string,
    current: ConnectionRow,
  ): Promise<void> {
    const provider = this.configs.providerOf(app);
    const revoke = provider.revokesSingleToken === true && provider.revocationUrl !== undefined;
    this.ctx.options.logger?.warn(
      { event: "connected_app_stale_refresh_discarded", keyCodeRef: app.key_code_ref, revoke },
      "connected app: a refresh finished after its lease passed to another holder; its tokens were not stored",
    );
    if (!revoke) return;
    const live = new Set(
      [current.access_token_sealed, current.refresh_token_sealed]
        .filter((sealed): sealed is string => sealed !== null)
        .map((sealed) => this.ctx.secretBox.open(sealed, connectionAad(current.id))),
    );
    live.add(presentedRefreshToken);
    await this.writes.revokeAtProvider(app, {
      accessToken: live.has(tokens.accessToken) ? undefined : tokens.accessToken,
      refreshToken: tokens.refreshToken && !live.has(tokens.refreshToken) ? tokens.refreshToken : undefined,
    });
  }

  /** After losing the lease: the successor's token if it has one already, else "try again". */
  private async afterLostLease(sessionId: string): Promise<TokenState> {
    const current = await this.requireConnected(sessionId);
    if (!needsRefresh(current, this.ctx.clock.now())) return current;
    throw new ConnectedAppError(
      "PROVIDER_UNAVAILABLE",
      "Another refresh of this connection is under way; try again shortly",
    );
  }

  private async requireConnected(sessionId: string): Promise<TokenState> {
    // Every token call runs this one statement: built and compiled once (~15 µs a call otherwise),
    // then run with the session id as its one parameter.
    this.tokenStateQuery ??= this.ctx.db
      .selectFrom("connections")
      .select(TOKEN_STATE_COLUMNS)
      .where("id", "=", "")
      .compile();
    const { rows } = await this.ctx.db.executeQuery<TokenState>({
      ...this.tokenStateQuery,
      parameters: [sessionId],
    });
    const connection = rows[0];
    if (!connection) throw new ConnectedAppError("SESSION_NOT_FOUND", "No connection with this session_id");
    if (connection.status === "revoked")
      throw new ConnectedAppError("CONNECTION_REVOKED", "This connection was revoked");
    if (connection.status === "needs_reauthorization") {
      throw new ConnectedAppError(
        "CONNECTION_NEEDS_REAUTHORIZATION",
        "The provider no longer accepts this connection; the user must connect again",
      );
    }
    if (connection.status !== "connected" || !connection.access_token_sealed) {
      throw new ConnectedAppError("CONNECTION_NOT_READY", "The user has not completed this connection");
    }
    return connection;
  }
}

function needsRefresh(connection: Pick<ConnectionRow, "access_token_expires_at">, now: number): boolean {
  return (
    connection.access_token_expires_at !== null &&
    connection.access_token_expires_at - REFRESH_MARGIN_SECONDS <= now
  );
}
