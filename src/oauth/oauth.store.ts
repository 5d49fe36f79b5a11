// The OAuth core's storage port over Kysely: one implementation for SQLite and PostgreSQL.

import type { Insertable } from "kysely";
import { ApisStore } from "../apis/apis.store.js";
import { AccessRolesStore } from "../applications/access-roles.store.js";
import { secretAad } from "../applications/applications.service.js";
import { type Clock, systemClock } from "../clock.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { storedDashboardClientId } from "../dashboard/dashboard-app.js";
import { chooseOrganization, userClaims } from "../organizations/claims.js";
import { OrganizationLimitError, OrganizationsService } from "../organizations/organizations.service.js";
import { PropertiesStore } from "../properties/properties.store.js";
import { RolesStore } from "../roles/roles.store.js";
import { sessionRules } from "../sign-in/session-lifetime.js";
import { type Db, inTransaction } from "../storage/database.js";
import type { AuthorizationCodesTable } from "../storage/schema.js";
import { ExternalIdentitiesStore } from "../users/external-identities.store.js";
import { OAuthError } from "./errors.js";
import type {
  ClientRecord,
  CodeForExchange,
  CodeRecord,
  Consumption,
  GrantRecord,
  OAuthStore,
  OrganizationChoice,
  PublicPropertyDefinition,
  Redemption,
  RefreshTokenForUse,
  RefreshTokenRecord,
  SessionProof,
  SigningKeyRecord,
  UserClaimSet,
  UserIssue,
  UserRecord,
  UserTokenClaims,
} from "./ports.js";
import { readPublicProperties, readUserTokenClaims } from "./token-claims.store.js";
import { consumeAndIssue, insertGrant, recordUserIssue } from "./token-issue.store.js";
import {
  findGrant,
  findUser,
  readCodeForExchange,
  readRefreshTokenForUse,
  toCode,
  toRefreshToken,
} from "./token-redeem.store.js";

/** A code's row as saveCode writes it (also written by a sign-in's one statement, sign-in-writes.ts). */
export function codeRow(code: CodeRecord): Insertable<AuthorizationCodesTable> {
  return {
    code_hash: code.codeHash,
    client_id: code.clientId,
    user_id: code.userId,
    session_id: code.sessionId,
    redirect_uri: code.redirectUri,
    scope: code.scope,
    audience: JSON.stringify(code.audience),
    nonce: code.nonce,
    code_challenge: code.codeChallenge,
    auth_time: code.authTime,
    created_at: code.createdAt,
    expires_at: code.expiresAt,
    consumed_at: null,
    grant_id: code.grantId,
    org_code: code.orgCode ?? null,
  };
}

export class KyselyOAuthStore implements OAuthStore {
  private readonly apis: ApisStore;

  constructor(
    private readonly db: Db,
    private readonly secretBox: SecretBox,
    private readonly clock: Clock = systemClock,
  ) {
    this.apis = new ApisStore(db);
  }

  transaction<T>(work: (store: OAuthStore) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return work(this);
    return inTransaction(this.db, (trx) => work(new KyselyOAuthStore(trx, this.secretBox, this.clock)));
  }

  async findClient(clientId: string): Promise<ClientRecord | undefined> {
    const row = await this.db
      .selectFrom("applications")
      .selectAll()
      .where("id", "=", clientId)
      .executeTakeFirst();
    if (!row) return undefined;
    const urls = await this.db
      .selectFrom("application_urls")
      .select(["kind", "url"])
      .where("application_id", "=", clientId)
      .execute();
    return {
      id: row.id,
      name: row.name,
      type: row.type,
      secret: row.client_secret_sealed
        ? this.secretBox.open(row.client_secret_sealed, secretAad(row.id))
        : undefined,
      callbackUrls: urls.filter((u) => u.kind === "callback").map((u) => u.url),
      logoutUrls: urls.filter((u) => u.kind === "logout").map((u) => u.url),
      accessTokenLifetime: row.access_token_lifetime,
      idTokenLifetime: row.id_token_lifetime,
      refreshTokenLifetime: row.refresh_token_lifetime,
      orgCode: row.org_code,
      accessControl: row.is_access_control_enabled === 1,
      hasuraMapping: row.is_hasura_mapping_enabled === 1,
    };
  }

  holdsAccessRole(clientId: string, userId: string, orgCode: string | null | undefined): Promise<boolean> {
    return new AccessRolesStore(this.db).holds(clientId, userId, orgCode);
  }

  findUser(userId: string): Promise<UserRecord | undefined> {
    return findUser(this.db, userId);
  }

  authorizedAudiences(clientId: string, audiences: readonly string[]): Promise<string[]> {
    return this.apis.authorizedAudiences(clientId, audiences);
  }

  apiScopes(audiences: readonly string[]): Promise<Set<string>> {
    return this.apis.scopesOfAudiences(audiences);
  }

  grantedScopes(clientId: string, audiences: readonly string[]): Promise<Set<string>> {
    return this.apis.grantedScopes(clientId, audiences);
  }

  scopeGrantsByAudience(clientId: string, audiences: readonly string[]) {
    return this.apis.scopeGrantsByAudience(clientId, audiences);
  }

  async saveCode(code: CodeRecord): Promise<void> {
    await this.db.insertInto("authorization_codes").values(codeRow(code)).execute();
  }

  async consumeCode(codeHash: string, now: number) {
    const won = await this.db
      .updateTable("authorization_codes")
      .set({ consumed_at: now })
      .where("code_hash", "=", codeHash)
      .where("consumed_at", "is", null)
      .returningAll()
      .executeTakeFirst();
    if (won) return { code: toCode(won), firstUse: true };
    const seen = await this.db
      .selectFrom("authorization_codes")
      .selectAll()
      .where("code_hash", "=", codeHash)
      .executeTakeFirst();
    return seen ? { code: toCode(seen), firstUse: false } : undefined;
  }

  readCodeForExchange(codeHash: string): Promise<Redemption<CodeForExchange>> {
    return readCodeForExchange(this.db, codeHash);
  }

  readRefreshTokenForUse(tokenHash: string): Promise<Redemption<RefreshTokenForUse>> {
    return readRefreshTokenForUse(this.db, tokenHash);
  }

  consumeAndIssue(what: Consumption, now: number, issue?: UserIssue): Promise<boolean> {
    return consumeAndIssue(this.db, what, now, issue);
  }

  recordUserIssue(issue: UserIssue): Promise<void> {
    return recordUserIssue(this.db, issue);
  }

  async createGrant(grant: GrantRecord): Promise<void> {
    await insertGrant(this.db, grant).execute();
  }

  findGrant(grantId: string): Promise<GrantRecord | undefined> {
    return findGrant(this.db, grantId);
  }

  async revokeGrant(grantId: string, now: number, reason: string): Promise<void> {
    await this.db
      .updateTable("grants")
      .set({ revoked_at: now, revoked_reason: reason })
      .where("id", "=", grantId)
      .where("revoked_at", "is", null)
      .execute();
  }

  async revokeGrantsOfSession(sessionId: string, now: number, reason: string): Promise<void> {
    // Codes not yet exchanged die with the session too.
    await this.db
      .updateTable("authorization_codes")
      .set({ consumed_at: now })
      .where("session_id", "=", sessionId)
      .where("consumed_at", "is", null)
      .execute();
    await this.db
      .updateTable("grants")
      .set({ revoked_at: now, revoked_reason: reason })
      .where("session_id", "=", sessionId)
      .where("revoked_at", "is", null)
      .execute();
  }

  async findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | undefined> {
    const row = await this.db
      .selectFrom("refresh_tokens")
      .selectAll()
      .where("token_hash", "=", tokenHash)
      .executeTakeFirst();
    return row ? toRefreshToken(row) : undefined;
  }

  async revokeAccessToken(token: { jti: string; clientId: string; expiresAt: number }, now: number) {
    await this.db
      .insertInto("access_tokens")
      .values({
        jti: token.jti,
        client_id: token.clientId,
        grant_id: null,
        expires_at: token.expiresAt,
        revoked_at: now,
      })
      .onConflict((oc) => oc.column("jti").doUpdateSet({ revoked_at: now }))
      .execute();
  }

  async isAccessTokenRevoked(jti: string): Promise<boolean> {
    const row = await this.db
      .selectFrom("access_tokens")
      .leftJoin("grants", "grants.id", "access_tokens.grant_id")
      .select([
        "access_tokens.revoked_at as token_revoked",
        "access_tokens.grant_id",
        "grants.id as grant_found",
        "grants.revoked_at as grant_revoked",
      ])
      .where("access_tokens.jti", "=", jti)
      .executeTakeFirst();
    if (row === undefined) return false;
    if (row.token_revoked !== null) return true;
    // A token naming a grant that is gone: its user was deleted (the grants cascade away), and it
    // may have been recorded after the deletion marked the user's tokens revoked.
    return row.grant_id !== null && (row.grant_found === null || row.grant_revoked !== null);
  }

  async organizationExists(orgCode: string): Promise<boolean> {
    const row = await this.db
      .selectFrom("organizations")
      .select("code")
      .where("code", "=", orgCode)
      .executeTakeFirst();
    return row !== undefined;
  }

  async organizationSuspended(orgCode: string): Promise<boolean> {
    const row = await this.db
      .selectFrom("organizations")
      .select("is_suspended")
      .where("code", "=", orgCode)
      .executeTakeFirst();
    return row?.is_suspended === 1;
  }

  async isEnvironmentClient(clientId: string): Promise<boolean> {
    return clientId === (await storedDashboardClientId(this.db));
  }

  enterOrganization(
    userId: string,
    options: { requested?: string; createName?: string },
  ): Promise<OrganizationChoice> {
    return inTransaction(this.db, async (trx) => {
      if (options.createName !== undefined) {
        // Kinde's is_create_org: the new organization's first member is the one who created it.
        const organizations = new OrganizationsService(trx, this.clock);
        const created = await organizations.createForUser(userId, options.createName).catch((error) => {
          if (!(error instanceof OrganizationLimitError)) throw error;
          const hours = Math.ceil(error.retryAfter / 3600);
          throw new OAuthError(
            "access_denied",
            `${error.message}; try again in ${hours} hour${hours === 1 ? "" : "s"}`,
          );
        });
        return chooseOrganization(trx, this.clock, userId, created.code);
      }
      return chooseOrganization(trx, this.clock, userId, options.requested);
    });
  }

  async sessionLifetime(clientId: string, orgCode: string | null): Promise<number | undefined> {
    return (await sessionRules(this.db, { clientId, orgCode })).maxAgeSeconds;
  }

  applicationProperties(clientId: string): Promise<Record<string, { v?: string }> | undefined> {
    return new PropertiesStore(this.db).applicationClaim(clientId);
  }

  publicProperties(): Promise<readonly PublicPropertyDefinition[]> {
    return readPublicProperties(this.db);
  }

  // `this.publicProperties()`: called on the configuration cache's view (config-cache.ts, which
  // inherits these methods), `this` is that view and the definitions come from memory. On a bare
  // store inside a transaction (the device grant's) they are one more read, after the claims'.
  userClaims(userId: string, orgCode: string | null): Promise<UserClaimSet> {
    return userClaims(this.db, userId, orgCode, this.publicProperties());
  }

  userTokenClaims(
    userId: string,
    orgCode: string | null,
    sessionId: string | null,
  ): Promise<UserTokenClaims> {
    return readUserTokenClaims(this.db, userId, orgCode, sessionId, this.publicProperties());
  }

  sessionProof(sessionId: string): Promise<SessionProof | undefined> {
    return new ExternalIdentitiesStore(this.db).proofOfSession(sessionId);
  }

  heldScopes(input: Parameters<OAuthStore["heldScopes"]>[0]) {
    return new RolesStore(this.db).heldScopes(input);
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    const rows = await this.db
      .selectFrom("signing_keys")
      .selectAll()
      .orderBy("created_at")
      .orderBy("kid")
      .execute();
    return rows.map((r) => ({
      kid: r.kid,
      algorithm: r.algorithm,
      publicJwk: r.public_jwk,
      privateKeySealed: r.private_key_sealed,
      createdAt: r.created_at,
      activeAt: r.active_at,
      retiredAt: r.retired_at,
      expiresAt: r.expires_at,
    }));
  }

  async insertSigningKey(key: SigningKeyRecord): Promise<void> {
    await this.db
      .insertInto("signing_keys")
      .values({
        kid: key.kid,
        algorithm: key.algorithm,
        public_jwk: key.publicJwk,
        private_key_sealed: key.privateKeySealed,
        created_at: key.createdAt,
        active_at: key.activeAt,
        retired_at: key.retiredAt,
        expires_at: key.expiresAt,
      })
      .execute();
  }

  async retireSigningKeys(retiredAt: number, expiresAt: number, exceptKid: string): Promise<void> {
    await this.db
      .updateTable("signing_keys")
      .set({ retired_at: retiredAt, expires_at: expiresAt })
      .where("kid", "!=", exceptKid)
      .where("retired_at", "is", null)
      .execute();
  }
}
