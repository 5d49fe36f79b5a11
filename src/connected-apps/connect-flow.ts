// The connect flow: Kinde's auth_url (a single-use, 10-minute link and the connection's session
// id), the same started for the signed-in user right after sign-in, the browser opening the link
// (bound to a fresh `state` and, where the provider takes it, PKCE), and the provider's callback,
// whose code is exchanged once for the connection's first tokens.
import { randomToken, sha256 } from "../crypto/random.js";
import { configCacheFor } from "../oauth/config-cache.js";
import { authorizationUrl, codeChallengeS256, exchangeCode } from "../outbound/oauth-client.js";
import type { ConnectedAppConfigs } from "./connected-app-configs.js";
import {
  ConnectedAppError,
  type ConnectedAppRow,
  type ConnectedAppsContext,
  type ConnectionOwner,
  connectionAad,
  describeFailure,
} from "./connected-apps.shared.js";
import type { ConnectionWrites } from "./connection-writes.js";

/** How long an auth URL may be opened, once (issue 5: 10 minutes). */
export const AUTH_URL_LIFETIME_SECONDS = 600;

export class ConnectFlow {
  constructor(
    private readonly ctx: ConnectedAppsContext,
    private readonly configs: ConnectedAppConfigs,
    private readonly writes: ConnectionWrites,
  ) {}

  /** The provider-to-Latchkey callback URL administrators register at the provider. */
  get callbackUrl(): string {
    return `${this.ctx.options.issuer}/connected_apps/callback`;
  }

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
    const app = await this.configs.require(key);
    if (owner.userId === undefined && owner.orgCode === undefined) {
      throw new ConnectedAppError("INVALID_REQUEST", "user_id or org_code is required");
    }
    if (owner.userId !== undefined) {
      const user = await this.ctx.db
        .selectFrom("users")
        .select("id")
        .where("id", "=", owner.userId)
        .executeTakeFirst();
      if (!user) throw new ConnectedAppError("USER_NOT_FOUND", "User not found");
    }
    if (owner.orgCode !== undefined) {
      const org = await this.ctx.db
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
    return { url: `${this.ctx.options.issuer}/connected_apps/start?token=${startToken}`, sessionId };
  }

  private async isMember(orgCode: string, userId: string): Promise<boolean> {
    const row = await this.ctx.db
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
    // Every sign-in asks and the answer is almost always "none": from the configuration cache
    // (migration 0043 moves the generation on any change to connected_apps).
    const { db } = this.ctx;
    const offered = await configCacheFor(db).memo("connected_apps:offered_at_sign_in", () =>
      db.selectFrom("connected_apps").selectAll().where("offer_at_sign_in", "=", 1).orderBy("name").execute(),
    );
    if (offered.length === 0) return [];
    const connected = await this.ctx.db
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
    await this.configs.require(key);
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
    const row = await this.ctx.db
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
    if (row?.status !== "pending" || row.state_hash !== null || row.expires_at <= this.ctx.clock.now()) {
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
    const now = this.ctx.clock.now();
    const pending = await this.ctx.db
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
    const app = await this.configs.require(pending.key_code_ref);
    const provider = this.configs.providerOf(app);
    const state = randomToken();
    const verifier = provider.pkce ? randomToken() : undefined;
    const won = await this.ctx.db
      .updateTable("connections")
      .set({
        state_hash: sha256(state),
        code_verifier_sealed: verifier ? this.ctx.secretBox.seal(verifier, connectionAad(pending.id)) : null,
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
    const now = this.ctx.clock.now();
    const connection = await this.ctx.db
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
    const claimed = await this.ctx.db
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
      await this.writes.setError(connection.id, {
        reason: input.error ?? "no code",
        status: "failed",
        onlyIf: "exchanging",
      });
      back.searchParams.set("error", input.error === "access_denied" ? "access_denied" : "connection_failed");
      return back.href;
    }
    const app = await this.configs.require(connection.key_code_ref);
    try {
      const tokens = await exchangeCode(
        this.configs.providerOf(app),
        this.configs.credentialsOf(app),
        {
          code: input.code,
          redirectUri: this.callbackUrl,
          codeVerifier: connection.code_verifier_sealed
            ? this.ctx.secretBox.open(connection.code_verifier_sealed, connectionAad(connection.id))
            : undefined,
        },
        now,
        this.ctx.http,
      );
      if (!(await this.writes.storeTokens(connection.id, tokens, undefined, "exchanging"))) {
        // Revoked while the code was being exchanged: the new tokens must not outlive that.
        await this.writes.revokeAtProvider(app, tokens);
        back.searchParams.set("error", "connection_revoked");
      }
    } catch (error) {
      const reason = describeFailure(error, [input.code, this.configs.credentialsOf(app).clientSecret]);
      this.writes.logProviderFailure("connected_app_exchange_failed", app, error, reason);
      await this.writes.setError(connection.id, { reason, status: "failed", onlyIf: "exchanging" });
      back.searchParams.set("error", "connection_failed");
    }
    return back.href;
  }

  /** A pending connection and the single-use token of its connect link. */
  private async createPending(key: string, owner: ConnectionOwner, callbackUrl: string) {
    const startToken = randomToken();
    const sessionId = randomToken();
    const now = this.ctx.clock.now();
    await this.ctx.db
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

  private async isAllowedCallback(app: ConnectedAppRow, url: string): Promise<boolean> {
    if (url === app.callback_url) return true;
    const registered = await this.ctx.db
      .selectFrom("application_urls")
      .select("url")
      .where("kind", "=", "callback")
      .where("url", "=", url)
      .executeTakeFirst();
    return registered !== undefined;
  }
}
