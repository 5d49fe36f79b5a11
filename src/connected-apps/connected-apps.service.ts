// Connected apps: a business configures a provider once; each of its users connects through
// `auth_url` → provider consent → callback; the business's back end then asks for a fresh provider
// access token by session id. Tokens are sealed with the master key; the refresh token never leaves.
import type { CompiledQuery, Selectable } from "kysely";
import type { Logger } from "pino";
import { redirectUrlProblem } from "../applications/urls.js";
import type { Clock } from "../clock.js";
import { randomToken, sha256 } from "../crypto/random.js";
import type { SecretBox } from "../crypto/secret-box.js";
import type { HostResolver, OutboundOptions } from "../outbound/http.js";
import {
  authorizationUrl,
  codeChallengeS256,
  exchangeCode,
  PermanentProviderError,
  type ProviderCredentials,
  type ProviderTokens,
  providerUrlProblem,
  refreshTokens,
  revokeToken,
} from "../outbound/oauth-client.js";
import { type DiscoveryDocument, fetchDiscoveryDocument, OidcError } from "../outbound/oidc.js";
import type { Db } from "../storage/database.js";
import type { ConnectedAppsTable, ConnectionsTable } from "../storage/schema.js";
import { GENERIC_PROVIDER_ID, type ProviderDefinition } from "./catalog.js";

export type ConnectedAppRow = Selectable<ConnectedAppsTable>;
export type ConnectionRow = Selectable<ConnectionsTable>;

/** How long an auth URL may be opened, once (issue 5: 10 minutes). */
export const AUTH_URL_LIFETIME_SECONDS = 600;
/** A token this close to expiry is refreshed before it is handed out. */
export const REFRESH_MARGIN_SECONDS = 60;
/** A refresh lease older than this was left by a crashed process and may be taken over. */
export const REFRESH_LEASE_SECONDS = 30;
/**
 * Every request to a provider, DNS to last body byte, ends by then: well inside the lease, so a
 * holder normally finishes before anyone may take over. Fencing covers the rest (pauses, skew).
 */
export const PROVIDER_DEADLINE_MS = 10_000;
/** After a transient provider failure, token calls answer at once for this long (no hammering). */
export const REFRESH_COOLDOWN_SECONDS = 10;

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

/** Whose connection it is: a user's, an organization's, or a member's within an organization. */
export interface ConnectionOwner {
  userId?: string;
  orgCode?: string;
}

export class ConnectedAppsService {
  private readonly inflight = new Map<string, Promise<TokenState>>();
  /**
   * Access tokens already opened, by connection, with the sealed text they came from: a token call
   * reads the row every time (status, expiry) and only skips the AES-GCM open while the row still
   * holds the same ciphertext — a refresh, a reconnect or a revocation anywhere changes or clears it.
   * The plaintext stays in the process that holds the master key and can open every row anyway.
   */
  private readonly opened = new Map<string, { sealed: string; token: string }>();
  private tokenStateQuery: CompiledQuery<TokenState> | undefined;
  private readonly leaseSeconds: number;
  private readonly http: OutboundOptions;

  constructor(
    private readonly db: Db,
    private readonly secretBox: SecretBox,
    private readonly clock: Clock,
    readonly options: ConnectedAppsOptions,
  ) {
    this.leaseSeconds = options.refreshLeaseSeconds ?? REFRESH_LEASE_SECONDS;
    const deadlineMs = options.providerDeadlineMs ?? PROVIDER_DEADLINE_MS;
    if (!(deadlineMs > 0 && deadlineMs < this.leaseSeconds * 1000)) {
      throw new Error("the provider deadline must be positive and shorter than the refresh lease");
    }
    this.http = {
      allowPrivateNetworks: options.allowPrivateNetworks,
      deadlineMs,
      resolveHost: options.resolveHost,
    };
  }

  /** The provider-to-Latchkey callback URL administrators register at the provider. */
  get callbackUrl(): string {
    return `${this.options.issuer}/connected_apps/callback`;
  }

  // --- configuration -------------------------------------------------------------------------

  list(): Promise<ConnectedAppRow[]> {
    return this.db.selectFrom("connected_apps").selectAll().orderBy("key_code_ref").execute();
  }

  find(key: string): Promise<ConnectedAppRow | undefined> {
    return this.db
      .selectFrom("connected_apps")
      .selectAll()
      .where("key_code_ref", "=", key)
      .executeTakeFirst();
  }

  async create(input: ConnectedAppInput): Promise<ConnectedAppRow> {
    const provider = this.catalogEntry(input.provider);
    if (provider.id === GENERIC_PROVIDER_ID && input.settings?.issuer) {
      input = { ...input, settings: await this.discover(input.settings) };
    }
    this.validate(input, provider.id);
    const now = this.clock.now();
    const inserted = await this.db
      .insertInto("connected_apps")
      .values({
        key_code_ref: input.key_code_ref,
        provider: provider.id,
        name: input.name?.trim() || provider.name,
        client_id: input.client_id,
        client_secret_sealed: this.secretBox.seal(input.client_secret, secretAad(input.key_code_ref)),
        callback_url: input.callback_url,
        scopes: JSON.stringify(input.scopes ?? []),
        settings: JSON.stringify(input.settings ?? {}),
        offer_at_sign_in: input.offer_at_sign_in ? 1 : 0,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.column("key_code_ref").doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) {
      throw new ConnectedAppError(
        "CONNECTED_APP_EXISTS",
        "A connected app with this key_code_ref already exists",
      );
    }
    return (await this.find(input.key_code_ref))!;
  }

  async update(
    key: string,
    changes: Partial<Omit<ConnectedAppInput, "key_code_ref" | "provider">>,
  ): Promise<ConnectedAppRow> {
    const app = await this.require(key);
    this.validate({ ...this.inputOf(app), ...changes }, app.provider);
    await this.db
      .updateTable("connected_apps")
      .set({
        ...(changes.name !== undefined ? { name: changes.name.trim() || app.name } : {}),
        ...(changes.client_id !== undefined ? { client_id: changes.client_id } : {}),
        ...(changes.client_secret !== undefined
          ? { client_secret_sealed: this.secretBox.seal(changes.client_secret, secretAad(key)) }
          : {}),
        ...(changes.callback_url !== undefined ? { callback_url: changes.callback_url } : {}),
        ...(changes.scopes !== undefined ? { scopes: JSON.stringify(changes.scopes) } : {}),
        ...(changes.settings !== undefined ? { settings: JSON.stringify(changes.settings) } : {}),
        ...(changes.offer_at_sign_in !== undefined
          ? { offer_at_sign_in: changes.offer_at_sign_in ? 1 : 0 }
          : {}),
        updated_at: this.clock.now(),
      })
      .where("key_code_ref", "=", key)
      .execute();
    return (await this.find(key))!;
  }

  /**
   * Disconnects a connected app: its configuration and its users' connections are removed here.
   * As in Kinde, this does NOT revoke what users granted at the provider — call revoke for that.
   */
  async delete(key: string): Promise<void> {
    await this.require(key);
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom("connections").where("key_code_ref", "=", key).execute();
      await trx.deleteFrom("connected_apps").where("key_code_ref", "=", key).execute();
    });
  }

  // --- connecting ----------------------------------------------------------------------------

  /**
   * Kinde's auth_url: a single-use, 10-minute URL and the connection's session id. The connection
   * belongs to a user, or to an organization (any member may consent — or only `userId`, who must
   * then be a member, when both are given).
   */
  async authUrl(
    key: string,
    owner: ConnectionOwner,
    overrideCallbackUrl?: string,
  ): Promise<{ url: string; sessionId: string }> {
    const app = await this.require(key);
    if (owner.userId === undefined && owner.orgCode === undefined) {
      throw new ConnectedAppError("INVALID_REQUEST", "user_id or org_code is required");
    }
    if (owner.userId !== undefined) {
      const user = await this.db
        .selectFrom("users")
        .select("id")
        .where("id", "=", owner.userId)
        .executeTakeFirst();
      if (!user) throw new ConnectedAppError("USER_NOT_FOUND", "User not found");
    }
    if (owner.orgCode !== undefined) {
      const org = await this.db
        .selectFrom("organizations")
        .select("code")
        .where("code", "=", owner.orgCode)
        .executeTakeFirst();
      if (!org) throw new ConnectedAppError("ORGANIZATION_NOT_FOUND", "Organization not found");
      if (owner.userId !== undefined && !(await this.isMember(owner.orgCode, owner.userId))) {
        throw new ConnectedAppError("USER_NOT_FOUND", "The user is not a member of this organization");
      }
    }
    if (overrideCallbackUrl !== undefined && !(await this.isAllowedCallback(app, overrideCallbackUrl))) {
      throw new ConnectedAppError("INVALID_URL", "override_callback_url is not an allowed callback URL");
    }
    const { startToken, sessionId } = await this.createPending(
      key,
      owner,
      overrideCallbackUrl ?? app.callback_url,
    );
    return { url: `${this.options.issuer}/connected_apps/start?token=${startToken}`, sessionId };
  }

  private async isMember(orgCode: string, userId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom("organization_users")
      .select("user_id")
      .where("org_code", "=", orgCode)
      .where("user_id", "=", userId)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Whether the user signed in on a browser may consent for this connection. */
  async mayConsent(
    owner: { userId: string | null; orgCode: string | null },
    signedInUserId: string,
  ): Promise<boolean> {
    if (owner.userId !== null) return owner.userId === signedInUserId;
    return owner.orgCode !== null && (await this.isMember(owner.orgCode, signedInUserId));
  }

  /** Connected apps offered right after sign-in that this user has not connected yet. */
  async offersFor(userId: string): Promise<ConnectedAppRow[]> {
    const offered = await this.db
      .selectFrom("connected_apps")
      .selectAll()
      .where("offer_at_sign_in", "=", 1)
      .orderBy("name")
      .execute();
    if (offered.length === 0) return [];
    const connected = await this.db
      .selectFrom("connections")
      .select("key_code_ref")
      .where("user_id", "=", userId)
      .where("org_code", "is", null)
      .where("status", "=", "connected")
      .execute();
    const have = new Set(connected.map((c) => c.key_code_ref));
    return offered.filter((app) => !have.has(app.key_code_ref));
  }

  /**
   * Connects now, for the user signed in on this browser (the offer after sign-in): a connection
   * whose link is consumed at once, returning to `returnUrl` (Latchkey's own page) afterwards.
   */
  async connectNow(
    key: string,
    userId: string,
    returnUrl: string,
  ): Promise<{ redirect: string; state: string }> {
    await this.require(key);
    const { startToken } = await this.createPending(key, { userId }, returnUrl);
    return this.start(startToken, userId);
  }

  /** Who an unused, unexpired connect link is for and what it connects (nothing is consumed). */
  async describeLink(startToken: string): Promise<{
    userId: string | null;
    orgCode: string | null;
    email: string | null;
    appName: string;
  }> {
    const row = await this.db
      .selectFrom("connections")
      .innerJoin("connected_apps", "connected_apps.key_code_ref", "connections.key_code_ref")
      .leftJoin("users", "users.id", "connections.user_id")
      .select([
        "connections.user_id",
        "connections.org_code",
        "connections.status",
        "connections.state_hash",
        "connections.expires_at",
        "users.email",
        "connected_apps.name",
      ])
      .where("connections.start_token_hash", "=", sha256(startToken))
      .executeTakeFirst();
    if (row?.status !== "pending" || row.state_hash !== null || row.expires_at <= this.clock.now()) {
      throw new ConnectedAppError(
        "SESSION_NOT_FOUND",
        "This connection link has expired or was already used",
      );
    }
    return { userId: row.user_id, orgCode: row.org_code, email: row.email, appName: row.name };
  }

  /**
   * The browser opened the auth URL: consume it (once), bind a fresh `state` to this browser and
   * send it to the provider. `signedInUserId` is the Latchkey user signed in on this browser.
   */
  async start(
    startToken: string,
    signedInUserId: string | undefined,
  ): Promise<{ redirect: string; state: string }> {
    const now = this.clock.now();
    const pending = await this.db
      .selectFrom("connections")
      .selectAll()
      .where("start_token_hash", "=", sha256(startToken))
      .executeTakeFirst();
    if (pending?.status !== "pending" || pending.state_hash !== null || pending.expires_at <= now) {
      throw new ConnectedAppError(
        "SESSION_NOT_FOUND",
        "This connection link has expired or was already used",
      );
    }
    if (
      signedInUserId === undefined ||
      !(await this.mayConsent({ userId: pending.user_id, orgCode: pending.org_code }, signedInUserId))
    ) {
      throw new ConnectedAppError(
        "USER_NOT_FOUND",
        "Sign in as the user (or a member of the organization) this connection link was created for",
      );
    }
    const app = await this.require(pending.key_code_ref);
    const provider = this.providerOf(app);
    const state = randomToken();
    const verifier = provider.pkce ? randomToken() : undefined;
    const won = await this.db
      .updateTable("connections")
      .set({
        state_hash: sha256(state),
        code_verifier_sealed: verifier ? this.secretBox.seal(verifier, connectionAad(pending.id)) : null,
        updated_at: now,
      })
      .where("id", "=", pending.id)
      .where("state_hash", "is", null)
      .executeTakeFirst();
    if (Number(won.numUpdatedRows) === 0) {
      throw new ConnectedAppError("SESSION_NOT_FOUND", "This connection link was already used");
    }
    const redirect = authorizationUrl(provider, {
      clientId: app.client_id,
      redirectUri: this.callbackUrl,
      scopes: JSON.parse(app.scopes) as string[],
      state,
      codeChallenge: verifier ? codeChallengeS256(verifier) : undefined,
    });
    return { redirect, state };
  }

  /** The provider sent the browser back: exchange the code and return where the user goes next. */
  async callback(input: {
    state?: string;
    code?: string;
    error?: string;
    browserState?: string;
  }): Promise<string> {
    if (!input.state) throw new ConnectedAppError("SESSION_NOT_FOUND", "The provider's answer has no state");
    const now = this.clock.now();
    const connection = await this.db
      .selectFrom("connections")
      .selectAll()
      .where("state_hash", "=", sha256(input.state))
      .executeTakeFirst();
    // The state must come back to the browser that started the flow (its cookie), once, in time.
    if (
      connection?.status !== "pending" ||
      input.browserState !== input.state ||
      connection.updated_at + AUTH_URL_LIFETIME_SECONDS <= now
    ) {
      throw new ConnectedAppError(
        "SESSION_NOT_FOUND",
        "This connection attempt has expired or was started elsewhere",
      );
    }
    const claimed = await this.db
      .updateTable("connections")
      .set({ status: "exchanging", updated_at: now })
      .where("id", "=", connection.id)
      .where("status", "=", "pending")
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) === 0)
      throw new ConnectedAppError("SESSION_NOT_FOUND", "Already completed");
    const back = new URL(connection.callback_url);
    back.searchParams.set("session_id", connection.id);
    if (input.error || !input.code) {
      await this.setError(connection.id, {
        reason: input.error ?? "no code",
        status: "failed",
        onlyIf: "exchanging",
      });
      back.searchParams.set("error", input.error === "access_denied" ? "access_denied" : "connection_failed");
      return back.href;
    }
    const app = await this.require(connection.key_code_ref);
    try {
      const tokens = await exchangeCode(
        this.providerOf(app),
        this.credentialsOf(app),
        {
          code: input.code,
          redirectUri: this.callbackUrl,
          codeVerifier: connection.code_verifier_sealed
            ? this.secretBox.open(connection.code_verifier_sealed, connectionAad(connection.id))
            : undefined,
        },
        now,
        this.http,
      );
      if (!(await this.storeTokens(connection.id, tokens, undefined, "exchanging"))) {
        // Revoked while the code was being exchanged: the new tokens must not outlive that.
        await this.revokeAtProvider(app, tokens);
        back.searchParams.set("error", "connection_revoked");
      }
    } catch (error) {
      const reason = describeFailure(error, [input.code, this.credentialsOf(app).clientSecret]);
      this.logProviderFailure("connected_app_exchange_failed", app, error, reason);
      await this.setError(connection.id, { reason, status: "failed", onlyIf: "exchanging" });
      back.searchParams.set("error", "connection_failed");
    }
    return back.href;
  }

  // --- tokens --------------------------------------------------------------------------------

  /** A valid provider access token for the connection, refreshed first when about to expire. */
  async token(sessionId: string): Promise<{ accessToken: string; expiresAt: number | null }> {
    let connection = await this.requireConnected(sessionId);
    const now = this.clock.now();
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
    const token = this.secretBox.open(sealed, connectionAad(connection.id));
    this.opened.delete(connection.id);
    if (this.opened.size >= OPENED_TOKENS) this.opened.delete(this.opened.keys().next().value!);
    this.opened.set(connection.id, { sealed, token });
    return token;
  }

  /** Revokes at the provider (where it can) and here; later token calls fail clearly. */
  async revoke(sessionId: string): Promise<{ revokedAtProvider: boolean }> {
    const connection = await this.db
      .selectFrom("connections")
      .selectAll()
      .where("id", "=", sessionId)
      .executeTakeFirst();
    if (!connection) throw new ConnectedAppError("SESSION_NOT_FOUND", "No connection with this session_id");
    await this.db
      .updateTable("connections")
      .set({ status: "revoked", updated_at: this.clock.now() })
      .where("id", "=", sessionId)
      .execute();
    this.opened.delete(sessionId);
    const app = await this.find(connection.key_code_ref);
    if (!app) return { revokedAtProvider: false };
    const provider = this.providerOf(app);
    let revokedAtProvider = false;
    // Revoking the refresh token ends the whole grant at most providers; the access token too.
    for (const [sealed, hint] of [
      [connection.refresh_token_sealed, "refresh_token"],
      [connection.access_token_sealed, "access_token"],
    ] as const) {
      if (!sealed) continue;
      let token: string | undefined;
      try {
        token = this.secretBox.open(sealed, connectionAad(connection.id));
        revokedAtProvider =
          (await revokeToken(provider, this.credentialsOf(app), token, hint, this.http)) || revokedAtProvider;
      } catch (error) {
        // Revoked here regardless; the provider's copy expires on its own.
        const reason = describeFailure(error, [token, this.credentialsOf(app).clientSecret]);
        this.logProviderFailure("connected_app_revocation_failed", app, error, reason);
      }
    }
    await this.db
      .updateTable("connections")
      .set({ access_token_sealed: null, refresh_token_sealed: null })
      .where("id", "=", sessionId)
      .execute();
    return { revokedAtProvider };
  }

  /** A user's own connections (for listing and revoking per user; an organization's are not). */
  connectionsOf(userId: string): Promise<ConnectionRow[]> {
    return this.db
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
    const deadline = Date.now() + this.http.deadlineMs + 5_000;
    while (Date.now() < deadline) {
      const now = this.clock.now();
      // A lease alone is not enough: a holder can outlive it (a paused process, a clock behind the
      // others') while a successor presents the same refresh token. The owner id fences every write
      // the refresh makes, so only the current holder's result lands.
      const owner = randomToken();
      const locked = await this.db
        .updateTable("connections")
        .set({ refresh_locked_until: now + this.leaseSeconds, refresh_lock_owner: owner })
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
          await this.db
            .updateTable("connections")
            .set({ refresh_locked_until: null, refresh_lock_owner: null })
            .where("id", "=", sessionId)
            .where("refresh_lock_owner", "=", owner)
            .execute();
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      const current = await this.requireConnected(sessionId);
      if (!needsRefresh(current, this.clock.now())) return current;
    }
    throw new ConnectedAppError(
      "PROVIDER_UNAVAILABLE",
      "Timed out waiting for another refresh of this connection",
    );
  }

  /** Refreshes under the lease `owner`; Fenced when the row was revoked or the lease passed on. */
  private async refreshLocked(connection: ConnectionRow, owner: string): Promise<TokenState | Fenced> {
    const app = await this.require(connection.key_code_ref);
    if (!connection.refresh_token_sealed) {
      const marked = await this.setError(connection.id, {
        reason: "the access token expired and the provider gave no refresh token",
        status: "needs_reauthorization",
        onlyIf: "connected",
        owner,
      });
      if (!marked) return { fenced: true };
      throw new ConnectedAppError("CONNECTION_NEEDS_REAUTHORIZATION", "The user must connect again");
    }
    const refreshToken = this.secretBox.open(connection.refresh_token_sealed, connectionAad(connection.id));
    let tokens: ProviderTokens;
    try {
      tokens = await refreshTokens(
        this.providerOf(app),
        this.credentialsOf(app),
        refreshToken,
        this.clock.now(),
        this.http,
      );
    } catch (error) {
      // A provider's error_description may quote what it was sent.
      const reason = describeFailure(error, [refreshToken, this.credentialsOf(app).clientSecret]);
      this.logProviderFailure("connected_app_refresh_failed", app, error, reason);
      if (error instanceof PermanentProviderError) {
        // A stale holder's refusal (its refresh token was already rotated by the successor) says
        // nothing about the connection: fenced, it cannot mark it for reauthorization.
        const marked = await this.setError(connection.id, {
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
      const recorded = await this.setError(connection.id, {
        reason,
        onlyIf: "connected",
        owner,
        retryAfter: this.clock.now() + REFRESH_COOLDOWN_SECONDS,
      });
      if (!recorded) return { fenced: true };
      throw new ConnectedAppError(
        "PROVIDER_UNAVAILABLE",
        "The provider could not be reached; try again shortly",
      );
    }
    // No refresh token in the answer (Google): keep the one we have.
    if (await this.storeTokens(connection.id, tokens, refreshToken, "connected", owner)) {
      return this.requireConnected(connection.id);
    }
    const current = await this.db
      .selectFrom("connections")
      .selectAll()
      .where("id", "=", connection.id)
      .executeTakeFirst();
    if (current && current.status !== "revoked") {
      await this.discardStaleRefresh(app, tokens, refreshToken, current);
      return { fenced: true };
    }
    // Revoked while we refreshed: revoke what the provider just issued too.
    await this.revokeAtProvider(app, tokens);
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
    const provider = this.providerOf(app);
    const revoke = provider.revokesSingleToken === true && provider.revocationUrl !== undefined;
    this.options.logger?.warn(
      { event: "connected_app_stale_refresh_discarded", keyCodeRef: app.key_code_ref, revoke },
      "connected app: a refresh finished after its lease passed to another holder; its tokens were not stored",
    );
    if (!revoke) return;
    const live = new Set(
      [current.access_token_sealed, current.refresh_token_sealed]
        .filter((sealed): sealed is string => sealed !== null)
        .map((sealed) => this.secretBox.open(sealed, connectionAad(current.id))),
    );
    live.add(presentedRefreshToken);
    await this.revokeAtProvider(app, {
      accessToken: live.has(tokens.accessToken) ? undefined : tokens.accessToken,
      refreshToken: tokens.refreshToken && !live.has(tokens.refreshToken) ? tokens.refreshToken : undefined,
    });
  }

  /** After losing the lease: the successor's token if it has one already, else "try again". */
  private async afterLostLease(sessionId: string): Promise<TokenState> {
    const current = await this.requireConnected(sessionId);
    if (!needsRefresh(current, this.clock.now())) return current;
    throw new ConnectedAppError(
      "PROVIDER_UNAVAILABLE",
      "Another refresh of this connection is under way; try again shortly",
    );
  }

  /** `reason` names hosts, addresses and OAuth error codes; it is scrubbed of what was sent. */
  private logProviderFailure(event: string, app: ConnectedAppRow, error: unknown, reason: string): void {
    this.options.logger?.warn(
      { event, keyCodeRef: app.key_code_ref, permanent: error instanceof PermanentProviderError, reason },
      "connected app: provider request failed",
    );
  }

  // --- helpers -------------------------------------------------------------------------------

  /** A pending connection and the single-use token of its connect link. */
  private async createPending(key: string, owner: ConnectionOwner, callbackUrl: string) {
    const startToken = randomToken();
    const sessionId = randomToken();
    const now = this.clock.now();
    await this.db
      .insertInto("connections")
      .values({
        id: sessionId,
        key_code_ref: key,
        user_id: owner.userId ?? null,
        org_code: owner.orgCode ?? null,
        status: "pending",
        start_token_hash: sha256(startToken),
        state_hash: null,
        code_verifier_sealed: null,
        callback_url: callbackUrl,
        access_token_sealed: null,
        refresh_token_sealed: null,
        access_token_expires_at: null,
        scope: null,
        refresh_locked_until: null,
        refresh_lock_owner: null,
        refresh_retry_after: null,
        last_error: null,
        created_at: now,
        expires_at: now + AUTH_URL_LIFETIME_SECONDS,
        updated_at: now,
      })
      .execute();
    return { startToken, sessionId };
  }

  /**
   * Stores fresh tokens — only while the connection is still in `expected` state, so a revoke that
   * landed meanwhile is never undone. False when the row had moved on.
   */
  private async storeTokens(
    id: string,
    tokens: ProviderTokens,
    previousRefreshToken: string | undefined,
    expected: "exchanging" | "connected",
    owner?: string,
  ): Promise<boolean> {
    const refresh = tokens.refreshToken ?? previousRefreshToken;
    let update = this.db
      .updateTable("connections")
      .set({
        status: "connected",
        access_token_sealed: this.secretBox.seal(tokens.accessToken, connectionAad(id)),
        refresh_token_sealed: refresh ? this.secretBox.seal(refresh, connectionAad(id)) : null,
        access_token_expires_at: tokens.expiresAt ?? null,
        scope: tokens.scope ?? null,
        refresh_retry_after: null,
        last_error: null,
        updated_at: this.clock.now(),
      })
      .where("id", "=", id)
      .where("status", "=", expected);
    if (owner !== undefined) update = update.where("refresh_lock_owner", "=", owner);
    const result = await update.executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Best-effort revocation of tokens the provider issued to a connection that was revoked meanwhile. */
  private async revokeAtProvider(
    app: ConnectedAppRow,
    tokens: { accessToken?: string; refreshToken?: string },
  ): Promise<void> {
    const provider = this.providerOf(app);
    for (const [token, hint] of [
      [tokens.refreshToken, "refresh_token"],
      [tokens.accessToken, "access_token"],
    ] as const) {
      if (!token) continue;
      await revokeToken(provider, this.credentialsOf(app), token, hint, this.http).catch((error: unknown) => {
        const reason = describeFailure(error, [token, this.credentialsOf(app).clientSecret]);
        this.logProviderFailure("connected_app_revocation_failed", app, error, reason);
        return false;
      });
    }
  }

  /**
   * Records a failure (a new status, a cooldown) only while the row is still `onlyIf` — never over
   * a revoke — and, during a refresh, only while `owner` still holds the lease. False when refused.
   */
  private async setError(
    id: string,
    change: {
      reason: string;
      status?: ConnectionRow["status"];
      onlyIf: ConnectionRow["status"];
      owner?: string;
      retryAfter?: number;
    },
  ): Promise<boolean> {
    let update = this.db
      .updateTable("connections")
      .set({
        last_error: change.reason.slice(0, 500),
        updated_at: this.clock.now(),
        ...(change.status ? { status: change.status } : {}),
        ...(change.retryAfter !== undefined ? { refresh_retry_after: change.retryAfter } : {}),
      })
      .where("id", "=", id)
      .where("status", "=", change.onlyIf);
    if (change.owner !== undefined) update = update.where("refresh_lock_owner", "=", change.owner);
    const result = await update.executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  private async requireConnected(sessionId: string): Promise<TokenState> {
    // Every token call runs this one statement: built and compiled once (~15 µs a call otherwise),
    // then run with the session id as its one parameter.
    this.tokenStateQuery ??= this.db
      .selectFrom("connections")
      .select(TOKEN_STATE_COLUMNS)
      .where("id", "=", "")
      .compile();
    const { rows } = await this.db.executeQuery<TokenState>({
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

  private async require(key: string): Promise<ConnectedAppRow> {
    const app = await this.find(key);
    if (!app) throw new ConnectedAppError("CONNECTED_APP_NOT_FOUND", "Connected app not found");
    return app;
  }

  private catalogEntry(id: string): ProviderDefinition {
    if (id === GENERIC_PROVIDER_ID) {
      return {
        id,
        name: "OAuth 2.0",
        authorizationUrl: "",
        tokenUrl: "",
        clientAuth: "body",
        bodyFormat: "form",
        scopeSeparator: " ",
        pkce: true,
      };
    }
    const provider = this.options.catalog.get(id);
    if (!provider) throw new ConnectedAppError("INVALID_PROVIDER", `Unknown provider ${id.slice(0, 50)}`);
    return provider;
  }

  /** The provider definition a connected app uses (generic providers take their endpoints from settings). */
  providerOf(app: ConnectedAppRow): ProviderDefinition {
    const provider = this.catalogEntry(app.provider);
    if (app.provider !== GENERIC_PROVIDER_ID) return provider;
    const settings = JSON.parse(app.settings) as ConnectedAppInput["settings"];
    return {
      ...provider,
      authorizationUrl: settings?.authorization_url ?? "",
      tokenUrl: settings?.token_url ?? "",
      revocationUrl: settings?.revocation_url,
      clientAuth: settings?.client_auth ?? provider.clientAuth,
    };
  }

  private credentialsOf(app: ConnectedAppRow): ProviderCredentials {
    return {
      clientId: app.client_id,
      clientSecret: this.secretBox.open(app.client_secret_sealed, secretAad(app.key_code_ref)),
    };
  }

  private inputOf(app: ConnectedAppRow): ConnectedAppInput {
    return {
      key_code_ref: app.key_code_ref,
      provider: app.provider,
      client_id: app.client_id,
      client_secret: "unchanged",
      callback_url: app.callback_url,
      settings: JSON.parse(app.settings) as ConnectedAppInput["settings"],
    };
  }

  private validate(input: ConnectedAppInput, providerId: string) {
    const problem = redirectUrlProblem(input.callback_url);
    if (problem) throw new ConnectedAppError("INVALID_URL", `callback_url ${problem}`);
    const provider = this.providerOf({
      provider: providerId,
      settings: JSON.stringify(input.settings ?? {}),
    } as ConnectedAppRow);
    const urls = {
      authorization_url: provider.authorizationUrl,
      token_url: provider.tokenUrl,
      revocation_url: provider.revocationUrl,
    };
    for (const [name, url] of Object.entries(urls)) {
      if (url === undefined) continue;
      const urlProblem = providerUrlProblem(url, this.options.allowPrivateNetworks);
      if (urlProblem) throw new ConnectedAppError("INVALID_URL", `${name} ${urlProblem}`);
    }
  }

  /**
   * Fills a generic provider's missing endpoints from its issuer's OIDC discovery document (read
   * afresh: an administrator configuring a provider wants what it publishes now). Only the issuer
   * is required of the document: the endpoints it lacks may be in the settings.
   */
  private async discover(
    settings: NonNullable<ConnectedAppInput["settings"]>,
  ): Promise<ConnectedAppInput["settings"]> {
    const issuer = settings.issuer!.replace(/\/+$/, "");
    const problem = providerUrlProblem(issuer, this.options.allowPrivateNetworks);
    if (problem) throw new ConnectedAppError("INVALID_URL", `issuer ${problem}`);
    let metadata: DiscoveryDocument;
    try {
      metadata = await fetchDiscoveryDocument(issuer, { http: this.http, cache: false });
    } catch (error) {
      // OIDC Discovery §4.3: the document must be about the issuer we asked.
      if (error instanceof OidcError && error.reason === "issuer_mismatch") {
        throw new ConnectedAppError("INVALID_PROVIDER", "The discovery document names another issuer");
      }
      // The detail (refused addresses, connection errors, status codes) stays in the log: shown to
      // the caller it would map Latchkey's network for them.
      this.options.logger?.warn(
        {
          event: "connected_app_discovery_failed",
          issuer,
          reason: error instanceof Error ? error.message : String(error),
        },
        "connected app: the issuer's discovery document could not be read",
      );
      throw new ConnectedAppError("INVALID_PROVIDER", "Could not read the issuer's discovery document");
    }
    return {
      ...settings,
      authorization_url: settings.authorization_url ?? metadata.authorization_endpoint,
      token_url: settings.token_url ?? metadata.token_endpoint,
      revocation_url: settings.revocation_url ?? metadata.revocation_endpoint,
    };
  }

  private async isAllowedCallback(app: ConnectedAppRow, url: string): Promise<boolean> {
    if (url === app.callback_url) return true;
    const registered = await this.db
      .selectFrom("application_urls")
      .select("url")
      .where("kind", "=", "callback")
      .where("url", "=", url)
      .executeTakeFirst();
    return registered !== undefined;
  }
}

function needsRefresh(connection: Pick<ConnectionRow, "access_token_expires_at">, now: number): boolean {
  return (
    connection.access_token_expires_at !== null &&
    connection.access_token_expires_at - REFRESH_MARGIN_SECONDS <= now
  );
}

/** An error's message with every occurrence of `secrets` blanked out. */
function describeFailure(error: unknown, secrets: (string | undefined)[]): string {
  let text = error instanceof Error ? error.message : String(error);
  for (const secret of secrets) if (secret) text = text.split(secret).join("[REDACTED]");
  return text;
}

function secretAad(key: string): string {
  return `connected_app_secret:${key}`;
}

function connectionAad(id: string): string {
  return `connection:${id}`;
}
