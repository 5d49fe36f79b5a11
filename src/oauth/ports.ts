// What the protocol core needs from the outside world, as interfaces it owns (the adapter seam of
// node-oidc-provider, fosite's storage interfaces). oauth.store.ts implements them over Kysely.
import type { ApplicationType } from "../storage/schema.js";

export interface ClientRecord {
  id: string;
  name: string;
  type: ApplicationType;
  /** Plaintext secret of a confidential client (reg, m2m); undefined for public clients. */
  secret?: string;
  callbackUrls: string[];
  logoutUrls: string[];
  accessTokenLifetime: number;
  idTokenLifetime: number;
  refreshTokenLifetime: number;
  /** An m2m application scoped to an organization: its tokens carry `org_code`. */
  orgCode: string | null;
  /** Kinde's role-based access control: only holders of its access roles sign in (access-control.ts). */
  accessControl: boolean;
  /** Kinde's Hasura mode: Kinde's claims carry x-hasura- names (hasura.ts). */
  hasuraMapping: boolean;
}

export interface UserRecord {
  id: string;
  email: string | null;
  emailVerified: boolean;
  givenName: string | null;
  familyName: string | null;
  picture: string | null;
  username: string | null;
  providedId: string | null;
  suspended: boolean;
  isAdmin: boolean;
  updatedAt: number;
}

export interface CodeRecord {
  codeHash: string;
  clientId: string;
  userId: string;
  sessionId: string | null;
  redirectUri: string;
  scope: string;
  audience: string[];
  nonce: string | null;
  codeChallenge: string | null;
  authTime: number;
  createdAt: number;
  expiresAt: number;
  grantId: string | null;
  /** The organization the user signs into with this code (null: none). */
  orgCode?: string | null;
}

export interface SessionProof {
  amr: string[];
  extProvider?: Record<string, unknown>;
}

export interface GrantRecord {
  id: string;
  clientId: string;
  userId: string;
  sessionId: string | null;
  scope: string;
  audience: string[];
  authTime: number;
  createdAt: number;
  revokedAt: number | null;
  /** The organization the grant's tokens are for (null: none). */
  orgCode?: string | null;
}

export interface RefreshTokenRecord {
  tokenHash: string;
  grantId: string;
  createdAt: number;
  expiresAt: number;
  consumedAt: number | null;
}

export interface SigningKeyRecord {
  kid: string;
  algorithm: string;
  publicJwk: string;
  privateKeySealed: string;
  createdAt: number;
  activeAt: number;
  retiredAt: number | null;
  expiresAt: number | null;
}

/** Claims a user's tokens carry beyond the protocol's own (organizations, permissions, flags). */
export interface UserClaimSet {
  /** Merged into the access token. */
  access: Record<string, unknown>;
  /** Merged into the ID token. */
  id: Record<string, unknown>;
}

/** What the claims of a user's tokens are made of: the organization claims and the session's proof. */
export interface UserTokenClaims {
  claims: UserClaimSet;
  /** Undefined when there is no session (device grant) or it is gone. */
  proof?: SessionProof;
}

/** A public user ("usr") or organization ("org") property: its claims carry the owner's value. */
export interface PublicPropertyDefinition {
  id: string;
  context: string;
  key: string;
}

/**
 * The claims as a code's or refresh token's read found them, made whole with the public property
 * definitions (configuration: OAuthStore.publicProperties, cached) as of the read's configuration
 * generation or later — values are read for every property, so later definitions are never unsafe.
 */
export type ClaimsOfRead = (properties: readonly PublicPropertyDefinition[]) => UserTokenClaims;

/** A code as its exchange reads it (no lock), with its user and the claims, in one statement. */
export interface CodeForExchange {
  code: CodeRecord;
  /** Exchanged (or refused) before: a presentation now is a replay. */
  consumed: boolean;
  user?: UserRecord;
  read: ClaimsOfRead;
  /** The claims cache row the read did not find, for the consume to write (PostgreSQL). */
  claimsCache?: ClaimsCacheEntry;
}

/** A refresh token as its use reads it (no lock): its grant, the grant's user and the claims. */
export interface RefreshTokenForUse {
  token: RefreshTokenRecord;
  grant?: GrantRecord;
  user?: UserRecord;
  read?: ClaimsOfRead;
  /** The claims cache row the read did not find, for the consume to write (PostgreSQL). */
  claimsCache?: ClaimsCacheEntry;
}

/** A user's cached claim parts for one organization ('' for none), as of the versions read. */
export interface ClaimsCacheEntry {
  userId: string;
  orgCode: string;
  /** The digest of the statement that computed the parts. */
  format: string;
  userVersion: number;
  claimsGeneration: number;
  /** JSON of the claim_* parts token-claims.store.ts caches. */
  parts: string;
}

/**
 * A code's or refresh token's read: what was found (undefined: no such code or token) and, found or
 * not, the configuration generation as of the read (config-cache.ts: the request's freshness check).
 */
export interface Redemption<T> {
  found: T | undefined;
  configGeneration: number;
}

/** What an issue consumes, by hash: an authorization code or a refresh token. */
export type Consumption = { codeHash: string } | { refreshTokenHash: string };

/** What one issue of a user's tokens writes. */
export interface UserIssue {
  /** A grant made by this code exchange, recorded on its code (so a replay revokes it). */
  newGrant?: { grant: GrantRecord; codeHash: string };
  accessToken: { jti: string; clientId: string; grantId: string | null; expiresAt: number };
  refreshToken?: RefreshTokenRecord;
  /** Written with the rest when the code's or refresh token's read found no cached claims (PostgreSQL). */
  claimsCache?: ClaimsCacheEntry;
}

/** The organization a sign-in enters, or why the user may not enter the one asked for. */
export type OrganizationChoice = { orgCode: string | null } | { refused: "not_member" | "suspended" };

export interface OAuthStore {
  /** Whether the organization is suspended, read now (organizations are not cached). */
  organizationSuspended(orgCode: string): Promise<boolean>;
  /** Runs `work` in one database transaction: all its writes commit together or not at all. */
  transaction<T>(work: (store: OAuthStore) => Promise<T>): Promise<T>;
  /**
   * A view for one request whose cached configuration reads share one freshness check
   * (config-cache.ts); absent where nothing is cached. `generation`: a reading the request takes
   * anyway, with its code or refresh token read.
   */
  forRequest?(generation?: Promise<number>): OAuthStore;

  findClient(clientId: string): Promise<ClientRecord | undefined>;
  findUser(userId: string): Promise<UserRecord | undefined>;
  authorizedAudiences(clientId: string, audiences: readonly string[]): Promise<string[]>;
  apiScopes(audiences: readonly string[]): Promise<Set<string>>;
  grantedScopes(clientId: string, audiences: readonly string[]): Promise<Set<string>>;
  /** Per audience, the scopes its API defines and those granted to the client. */
  scopeGrantsByAudience(
    clientId: string,
    audiences: readonly string[],
  ): Promise<Map<string, { defined: Set<string>; granted: Set<string> }>>;

  saveCode(code: CodeRecord): Promise<void>;
  /**
   * Marks the code consumed with one conditional write. `firstUse` is false when it had been
   * consumed before (a replay); undefined means no such code.
   */
  consumeCode(codeHash: string, now: number): Promise<{ code: CodeRecord; firstUse: boolean } | undefined>;
  /** The code with its user and the claims for its organization and session: one read, no lock. */
  readCodeForExchange(codeHash: string): Promise<Redemption<CodeForExchange>>;
  /** The refresh token with its grant, the grant's user and their claims: one read, no lock. */
  readRefreshTokenForUse(tokenHash: string): Promise<Redemption<RefreshTokenForUse>>;
  /**
   * Consumes the code or refresh token only if it is still unconsumed (a refresh token: and its
   * grant not revoked, the grant row share-locked until commit) and, only then, writes `issue`
   * (none: the refusal that uses it up) — one statement on PostgreSQL (token-issue.store.ts).
   * `false`: another request had consumed it, or the grant was revoked; nothing was written.
   */
  consumeAndIssue(what: Consumption, now: number, issue?: UserIssue): Promise<boolean>;
  /** The writes of one issue of a user's tokens, together (one statement on PostgreSQL). */
  recordUserIssue(issue: UserIssue): Promise<void>;

  createGrant(grant: GrantRecord): Promise<void>;
  findGrant(grantId: string): Promise<GrantRecord | undefined>;
  /** Revokes the grant and, with it, every refresh and access token it issued. */
  revokeGrant(grantId: string, now: number, reason: string): Promise<void>;
  /** Revokes every grant of a browser session, and burns its codes not yet exchanged. */
  revokeGrantsOfSession(sessionId: string, now: number, reason: string): Promise<void>;

  findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | undefined>;

  revokeAccessToken(token: { jti: string; clientId: string; expiresAt: number }, now: number): Promise<void>;
  /** Whether an access token was revoked, itself or through its grant. */
  isAccessTokenRevoked(jti: string): Promise<boolean>;

  /**
   * Whether the client acts for the whole environment rather than for an organization (the admin
   * dashboard): its sign-ins enter no organization.
   */
  isEnvironmentClient(clientId: string): Promise<boolean>;
  /** Whether an organization with this code exists (Kinde's `org_code` on /oauth2/auth). */
  organizationExists(orgCode: string): Promise<boolean>;
  /**
   * The organization a user signs into: `requested` (they must be a member), or one created for
   * them (`createName`, Kinde's is_create_org), or their usual one.
   */
  enterOrganization(
    userId: string,
    options: { requested?: string; createName?: string },
  ): Promise<OrganizationChoice>;
  /**
   * The oldest (seconds since auth_time) a session may be to sign in to this client in this
   * organization (src/sign-in/session-lifetime.ts); undefined when only the session's expiry bounds it.
   */
  sessionLifetime(clientId: string, orgCode: string | null): Promise<number | undefined>;
  /**
   * Kinde's application_properties claim of a machine's tokens (its public application properties),
   * or undefined when none is public. Configuration: the cache serves it (0030's triggers).
   */
  applicationProperties(clientId: string): Promise<Record<string, { v?: string }> | undefined>;
  /**
   * Whether the user holds one of the client's access roles (Kinde's application access roles) in
   * the organization `orgCode` — or, when `orgCode` is undefined, in any organization of theirs
   * that is not suspended. Read now, never cached: it decides who may sign in.
   */
  holdsAccessRole(clientId: string, userId: string, orgCode: string | null | undefined): Promise<boolean>;
  /**
   * The public user and organization properties' definitions, ordered by key. Configuration: the
   * cache serves it (0030's triggers); the user's and organization's values are read with the claims.
   */
  publicProperties(): Promise<readonly PublicPropertyDefinition[]>;
  /** The organization claims of a user's tokens, computed now (so changes show on refresh). */
  userClaims(userId: string, orgCode: string | null): Promise<UserClaimSet>;
  /**
   * userClaims and sessionProof together, in one statement (token-claims.store.ts) besides the
   * public properties (publicProperties): what a user's tokens carry, computed now (`sessionId`
   * null: no session's proof).
   */
  userTokenClaims(userId: string, orgCode: string | null, sessionId: string | null): Promise<UserTokenClaims>;
  /**
   * What the browser session's sign-in proved, for the ID token: its RFC 8176 `amr` values, and
   * Kinde's ext_provider claim when it signed in through a connection (`connection_id`, `name`,
   * `claims`). One read; undefined when the session is gone.
   */
  sessionProof(sessionId: string): Promise<SessionProof | undefined>;
  /**
   * Per audience: which of `keys` its API defines and which of them the user holds (through a role
   * or directly in `orgCode`; an administrator also through `adminClientId`'s Management API
   * grants). Read now, never cached: it decides what a user's token may carry.
   */
  heldScopes(input: {
    userId: string;
    orgCode: string | null;
    audiences: readonly string[];
    keys: readonly string[];
    adminClientId?: string;
  }): Promise<Map<string, { defined: Set<string>; held: Set<string> }>>;

  listSigningKeys(): Promise<SigningKeyRecord[]>;
  insertSigningKey(key: SigningKeyRecord): Promise<void>;
  retireSigningKeys(retiredAt: number, expiresAt: number, exceptKid: string): Promise<void>;
}
