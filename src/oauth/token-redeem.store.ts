// The token endpoint's reads for the code and refresh grants, in as few round trips as the database
// allows (issue 21): one read, then one write (token-issue.store.ts).
//
// The read takes no lock: the code or refresh token with what the grant needs (the grant, the user,
// the user's claims) in one SELECT, which also reads the configuration generation: that is the
// request's freshness check (config-cache.ts), so the whole grant is two round trips. The grant
// checks it and signs the tokens; then one statement consumes the row and writes the issue.
import { type Selectable, type SqlBool, sql } from "kysely";
import { isPostgres } from "../management/listing.js";
import type { Db } from "../storage/database.js";
import { prepared } from "../storage/prepared.js";
import type {
  AuthorizationCodesTable,
  GrantsTable,
  RefreshTokensTable,
  UsersTable,
} from "../storage/schema.js";
import { claimsCacheFormat, claimsOfRead } from "./claims-cache.store.js";
import type {
  CodeForExchange,
  CodeRecord,
  GrantRecord,
  Redemption,
  RefreshTokenForUse,
  RefreshTokenRecord,
  UserRecord,
} from "./ports.js";
import { claimColumns, tokenClaimsOf } from "./token-claims.store.js";

/** What tokens need of a user (a subset of ALL_USER_COLUMNS: never the password hash). */
const USER_COLUMNS = [
  "id",
  "email",
  "email_verified",
  "given_name",
  "family_name",
  "picture",
  "username",
  "provided_id",
  "is_suspended",
  "is_admin",
  "updated_at",
] as const;
type UserRow = Pick<Selectable<UsersTable>, (typeof USER_COLUMNS)[number]>;

// Aliases r*: the claim subqueries (token-claims.store.ts) use short ones of their own.
/** The joined user's columns (`ru`), prefixed `u_`: null throughout when there is no such user. */
const JOINED_USER = [
  "ru.id as u_id",
  "ru.email as u_email",
  "ru.email_verified as u_email_verified",
  "ru.given_name as u_given_name",
  "ru.family_name as u_family_name",
  "ru.picture as u_picture",
  "ru.username as u_username",
  "ru.provided_id as u_provided_id",
  "ru.is_suspended as u_is_suspended",
  "ru.is_admin as u_is_admin",
  "ru.updated_at as u_updated_at",
] as const;

// Named, not `*`: a prepared statement's result type is fixed (prepared.ts).
const CODE_COLUMNS = [
  "rc.code_hash",
  "rc.client_id",
  "rc.user_id",
  "rc.session_id",
  "rc.redirect_uri",
  "rc.scope",
  "rc.audience",
  "rc.nonce",
  "rc.code_challenge",
  "rc.auth_time",
  "rc.created_at",
  "rc.expires_at",
  "rc.consumed_at",
  "rc.grant_id",
  "rc.org_code",
] as const;

const REFRESH_TOKEN_COLUMNS = [
  "rt.token_hash",
  "rt.grant_id",
  "rt.created_at",
  "rt.expires_at",
  "rt.consumed_at",
] as const;

/** The joined grant's columns (`rg`), prefixed `g_`. */
const JOINED_GRANT = [
  "rg.id as g_id",
  "rg.client_id as g_client_id",
  "rg.user_id as g_user_id",
  "rg.session_id as g_session_id",
  "rg.scope as g_scope",
  "rg.audience as g_audience",
  "rg.auth_time as g_auth_time",
  "rg.created_at as g_created_at",
  "rg.revoked_at as g_revoked_at",
  "rg.revoked_reason as g_revoked_reason",
  "rg.org_code as g_org_code",
] as const;

type Prefixed<P extends string, T> = { [K in keyof T as `${P}${K & string}`]: T[K] | null };

function joinedUser(row: Prefixed<"u_", UserRow>): UserRecord | undefined {
  if (row.u_id === null) return undefined;
  const user = Object.fromEntries(USER_COLUMNS.map((column) => [column, row[`u_${column}`]]));
  return toUser(user as UserRow);
}

// Both reads start from the configuration generation's one row and left-join the code or token:
// the statement reads the generation whether or not the code or token exists (the request's
// freshness check either way, config-cache.ts), and answers found or not in one round trip.
//
// On PostgreSQL both also find the user's claims_cache row for the organization, if it is as new as
// both versions read in this same statement (migration 0045), and leave the cached parts out:
// PostgreSQL sets up every subplan of a statement at each execution, so they cost even when not
// run. Not found, a second statement reads those parts with the versions as of its own snapshot
// (claims-cache.store.ts), and the consume writes them under those versions: a row holds parts at
// least as new as its versions say, so once a change moves them it is never found.

/** The row a read takes its user, organization and session from: the code's or the grant's. */
type Holder = "rc" | "rg";

/**
 * The join condition of the current claims_cache row (`cc`) of the holder's user and organization;
 * none on SQLite (which must not even look at `format`: a prepared statement's value decides
 * nothing of its shape).
 */
function currentClaimsCache(postgres: boolean, values: { format: string }, holder: Holder) {
  return postgres
    ? sql<SqlBool>`cc.user_id = ${sql.ref(`${holder}.user_id`)}
        and cc.org_code = coalesce(${sql.ref(`${holder}.org_code`)}, '')
        and cc.format = ${values.format} and cc.user_version = coalesce(ucv.version, 0)
        and cc.claims_generation = cgn.generation`
    : sql<SqlBool>`false`;
}

/** The claim columns a read selects: on PostgreSQL the session's only, the others are cached. */
function readClaimColumns(db: Db, holder: Holder) {
  return claimColumns(
    db,
    {
      userId: sql.ref<string>(`${holder}.user_id`),
      orgCode: sql.ref<string | null>(`${holder}.org_code`),
      sessionId: sql.ref<string | null>(`${holder}.session_id`),
    },
    isPostgres(db) ? ["claim_session"] : undefined,
  );
}

const CODE_FOR_EXCHANGE = prepared(
  "code_for_exchange",
  (db, values: { codeHash: string; format: string }) => {
    const postgres = isPostgres(db);
    return db
      .selectFrom("config_generation as cg")
      .leftJoin("claims_generation as cgn", (join) => join.on("cgn.id", "=", 1))
      .leftJoin("authorization_codes as rc", (join) => join.on("rc.code_hash", "=", values.codeHash))
      .leftJoin("users as ru", "ru.id", "rc.user_id")
      .leftJoin("user_claims_versions as ucv", "ucv.user_id", "rc.user_id")
      .leftJoin("claims_cache as cc", (join) => join.on(currentClaimsCache(postgres, values, "rc")))
      .select(["cg.generation as config_generation", "cc.parts as claim_cached"])
      .select(CODE_COLUMNS)
      .select(JOINED_USER)
      .select(readClaimColumns(db, "rc"))
      .where("cg.id", "=", 1);
  },
);

const REFRESH_TOKEN_FOR_USE = prepared(
  "refresh_token_for_use",
  (db, values: { tokenHash: string; format: string }) => {
    const postgres = isPostgres(db);
    return db
      .selectFrom("config_generation as cg")
      .leftJoin("claims_generation as cgn", (join) => join.on("cgn.id", "=", 1))
      .leftJoin("refresh_tokens as rt", (join) => join.on("rt.token_hash", "=", values.tokenHash))
      .leftJoin("grants as rg", "rg.id", "rt.grant_id")
      .leftJoin("users as ru", "ru.id", "rg.user_id")
      .leftJoin("user_claims_versions as ucv", "ucv.user_id", "rg.user_id")
      .leftJoin("claims_cache as cc", (join) => join.on(currentClaimsCache(postgres, values, "rg")))
      .select(["cg.generation as config_generation", "cc.parts as claim_cached"])
      .select(REFRESH_TOKEN_COLUMNS)
      .select(JOINED_GRANT)
      .select(JOINED_USER)
      .select(readClaimColumns(db, "rg"))
      .where("cg.id", "=", 1);
  },
);

/** The code, whether it was consumed, and its user and claims: one statement, no lock. */
export async function readCodeForExchange(db: Db, codeHash: string): Promise<Redemption<CodeForExchange>> {
  const format = isPostgres(db) ? claimsCacheFormat(db) : "";
  const row = await CODE_FOR_EXCHANGE.first(db, { codeHash, format });
  const configGeneration = Number(row?.config_generation ?? 0);
  if (!row || row.code_hash === null) return { found: undefined, configGeneration };
  const code = toCode(row as Selectable<AuthorizationCodesTable>);
  const user = joinedUser(row);
  const { parts, claimsCache } = await claimsOfRead(db, row, user, code.orgCode ?? null, format);
  return {
    found: {
      code,
      consumed: row.consumed_at !== null,
      user,
      read: (properties) => tokenClaimsOf(parts, code.orgCode ?? null, properties),
      ...(claimsCache ? { claimsCache } : {}),
    },
    configGeneration,
  };
}

/** The refresh token, its grant, the grant's user and their claims: one statement, no lock. */
export async function readRefreshTokenForUse(
  db: Db,
  tokenHash: string,
): Promise<Redemption<RefreshTokenForUse>> {
  const format = isPostgres(db) ? claimsCacheFormat(db) : "";
  const row = await REFRESH_TOKEN_FOR_USE.first(db, { tokenHash, format });
  const configGeneration = Number(row?.config_generation ?? 0);
  if (!row || row.token_hash === null) return { found: undefined, configGeneration };
  const token = toRefreshToken(row as Selectable<RefreshTokensTable>);
  if (row.g_id === null) return { found: { token }, configGeneration };
  const grant = toGrant({
    id: row.g_id,
    client_id: row.g_client_id!,
    user_id: row.g_user_id!,
    session_id: row.g_session_id,
    scope: row.g_scope!,
    audience: row.g_audience!,
    auth_time: row.g_auth_time!,
    created_at: row.g_created_at!,
    revoked_at: row.g_revoked_at,
    revoked_reason: row.g_revoked_reason,
    org_code: row.g_org_code,
  });
  const user = joinedUser(row);
  const { parts, claimsCache } = await claimsOfRead(db, row, user, grant.orgCode ?? null, format);
  return {
    found: {
      token,
      grant,
      user,
      read: (properties) => tokenClaimsOf(parts, grant.orgCode ?? null, properties),
      ...(claimsCache ? { claimsCache } : {}),
    },
    configGeneration,
  };
}

export async function findUser(db: Db, userId: string): Promise<UserRecord | undefined> {
  const row = await db.selectFrom("users").select(USER_COLUMNS).where("id", "=", userId).executeTakeFirst();
  return row ? toUser(row) : undefined;
}

export async function findGrant(db: Db, grantId: string): Promise<GrantRecord | undefined> {
  const row = await db.selectFrom("grants").selectAll().where("id", "=", grantId).executeTakeFirst();
  return row ? toGrant(row) : undefined;
}

export function toUser(row: UserRow): UserRecord {
  return {
    id: row.id,
    email: row.email,
    emailVerified: row.email_verified === 1,
    givenName: row.given_name,
    familyName: row.family_name,
    picture: row.picture,
    username: row.username,
    providedId: row.provided_id,
    suspended: row.is_suspended === 1,
    isAdmin: row.is_admin === 1,
    updatedAt: row.updated_at,
  };
}

export function toCode(row: Selectable<AuthorizationCodesTable>): CodeRecord {
  return {
    codeHash: row.code_hash,
    clientId: row.client_id,
    userId: row.user_id,
    sessionId: row.session_id,
    redirectUri: row.redirect_uri,
    scope: row.scope,
    audience: JSON.parse(row.audience) as string[],
    nonce: row.nonce,
    codeChallenge: row.code_challenge,
    authTime: row.auth_time,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    grantId: row.grant_id,
    orgCode: row.org_code,
  };
}

export function toGrant(row: Selectable<GrantsTable>): GrantRecord {
  return {
    id: row.id,
    clientId: row.client_id,
    userId: row.user_id,
    sessionId: row.session_id,
    scope: row.scope,
    audience: JSON.parse(row.audience) as string[],
    authTime: row.auth_time,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    orgCode: row.org_code,
  };
}

export function toRefreshToken(row: Selectable<RefreshTokensTable>): RefreshTokenRecord {
  return {
    tokenHash: row.token_hash,
    grantId: row.grant_id,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    consumedAt: row.consumed_at,
  };
}
