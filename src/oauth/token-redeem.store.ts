// The token endpoint's statements for the code and refresh grants, in as few round trips as the
// database allows (issue 21). On PostgreSQL a data-modifying CTE consumes the code or refresh token
// (the same conditional UPDATE as before: of two concurrent uses, the second re-checks
// `consumed_at is null` after the first commits and matches nothing — single use holds) and, in
// the same statement, reads what the grant needs: the grant, its user and the user's claims; the
// writes that follow (grant, code's grant, access token record, rotated refresh token) are one
// more statement of several CTEs — foreign keys are checked at the end of the statement, so the
// new grant is there for its tokens. SQLite has no DML in CTEs: there the same work is several
// statements — function calls, not round trips. Both run inside the grant's transaction.
import { type Expression, type Selectable, sql } from "kysely";
import { jsonObjectFrom } from "kysely/helpers/postgres";
import { isPostgres } from "../management/listing.js";
import type { Db } from "../storage/database.js";
import type {
  AuthorizationCodesTable,
  GrantsTable,
  RefreshTokensTable,
  UsersTable,
} from "../storage/schema.js";
import type {
  CodeRecord,
  GrantRecord,
  RedeemedCode,
  RedeemedRefreshToken,
  RefreshTokenRecord,
  UserIssue,
  UserRecord,
} from "./ports.js";
import {
  type ClaimColumnsRow,
  claimColumns,
  readUserTokenClaims,
  tokenClaimsOf,
} from "./token-claims.store.js";

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

function ref<T>(column: string): Expression<T> {
  return sql<T>`${sql.ref(column)}`;
}

/** The user's columns as one JSON object (null when there is no such user). */
function userObject(db: Db, userId: Expression<string>) {
  return jsonObjectFrom(db.selectFrom("users").select(USER_COLUMNS).where("users.id", "=", userId));
}

export async function redeemCode(db: Db, codeHash: string, now: number): Promise<RedeemedCode | undefined> {
  if (isPostgres(db)) {
    const row = await db
      .with("consumed", (qc) =>
        qc
          .updateTable("authorization_codes")
          .set({ consumed_at: now })
          .where("code_hash", "=", codeHash)
          .where("consumed_at", "is", null)
          .returningAll(),
      )
      .selectFrom("consumed")
      .selectAll("consumed")
      .select(userObject(db, ref("consumed.user_id")).as("user_row"))
      .select(
        claimColumns(db, {
          userId: ref("consumed.user_id"),
          orgCode: ref("consumed.org_code"),
          sessionId: ref("consumed.session_id"),
        }),
      )
      .executeTakeFirst();
    if (row) {
      const code = toCode(row);
      return {
        code,
        firstUse: true,
        user: row.user_row ? toUser(row.user_row as UserRow) : undefined,
        read: tokenClaimsOf(row as ClaimColumnsRow, code.orgCode ?? null),
      };
    }
  } else {
    const won = await db
      .updateTable("authorization_codes")
      .set({ consumed_at: now })
      .where("code_hash", "=", codeHash)
      .where("consumed_at", "is", null)
      .returningAll()
      .executeTakeFirst();
    if (won) {
      const code = toCode(won);
      const user = await findUser(db, code.userId);
      const read = await readUserTokenClaims(db, code.userId, code.orgCode ?? null, code.sessionId);
      return { code, firstUse: true, user, read };
    }
  }
  // Lost, replayed or unknown: what the replay needs (its grant, to revoke).
  const seen = await db
    .selectFrom("authorization_codes")
    .selectAll()
    .where("code_hash", "=", codeHash)
    .executeTakeFirst();
  return seen ? { code: toCode(seen), firstUse: false } : undefined;
}

export async function redeemRefreshToken(
  db: Db,
  tokenHash: string,
  now: number,
): Promise<RedeemedRefreshToken | undefined> {
  if (isPostgres(db)) {
    const row = await db
      .with("consumed", (qc) =>
        qc
          .updateTable("refresh_tokens")
          .set({ consumed_at: now })
          .where("token_hash", "=", tokenHash)
          .where("consumed_at", "is", null)
          .returningAll(),
      )
      .selectFrom("consumed")
      .leftJoin("grants as g", "g.id", "consumed.grant_id")
      .selectAll("consumed")
      .select(sql<Selectable<GrantsTable> | null>`to_json(g)`.as("grant_row"))
      .select(userObject(db, ref("g.user_id")).as("user_row"))
      .select(
        claimColumns(db, {
          userId: ref("g.user_id"),
          orgCode: ref("g.org_code"),
          sessionId: ref("g.session_id"),
        }),
      )
      .executeTakeFirst();
    if (row) {
      const grant = row.grant_row?.id ? toGrant(row.grant_row) : undefined;
      return {
        token: toRefreshToken(row),
        firstUse: true,
        grant,
        user: row.user_row ? toUser(row.user_row as UserRow) : undefined,
        read: grant ? tokenClaimsOf(row as ClaimColumnsRow, grant.orgCode ?? null) : undefined,
      };
    }
  } else {
    const won = await db
      .updateTable("refresh_tokens")
      .set({ consumed_at: now })
      .where("token_hash", "=", tokenHash)
      .where("consumed_at", "is", null)
      .returningAll()
      .executeTakeFirst();
    if (won) {
      const grant = await findGrant(db, won.grant_id);
      if (!grant) return { token: toRefreshToken(won), firstUse: true };
      const user = await findUser(db, grant.userId);
      const read = await readUserTokenClaims(db, grant.userId, grant.orgCode ?? null, grant.sessionId);
      return { token: toRefreshToken(won), firstUse: true, grant, user, read };
    }
  }
  // Lost, reused or unknown: the grant, to revoke the family.
  const seen = await db
    .selectFrom("refresh_tokens")
    .selectAll()
    .where("token_hash", "=", tokenHash)
    .executeTakeFirst();
  if (!seen) return undefined;
  return { token: toRefreshToken(seen), firstUse: false, grant: await findGrant(db, seen.grant_id) };
}

/** The writes of one issue, as one statement on PostgreSQL. */
export async function recordUserIssue(db: Db, issue: UserIssue): Promise<void> {
  const writes = [];
  if (issue.newGrant) {
    const { grant, codeHash } = issue.newGrant;
    writes.push(insertGrant(db, grant), attachGrant(db, codeHash, grant.id));
  }
  writes.push(insertAccessToken(db, issue.accessToken));
  if (issue.refreshToken) writes.push(insertRefreshToken(db, issue.refreshToken));
  if (!isPostgres(db)) {
    for (const write of writes) await write.execute();
    return;
  }
  const last = writes.pop()!;
  const ctes = writes.map((write, i) => sql`${sql.raw(`w${i}`)} as (${write})`);
  await (ctes.length === 0 ? last.execute() : sql`with ${sql.join(ctes)} ${last}`.execute(db));
}

export function insertGrant(db: Db, grant: GrantRecord) {
  return db.insertInto("grants").values({
    id: grant.id,
    client_id: grant.clientId,
    user_id: grant.userId,
    session_id: grant.sessionId,
    scope: grant.scope,
    audience: JSON.stringify(grant.audience),
    auth_time: grant.authTime,
    created_at: grant.createdAt,
    revoked_at: grant.revokedAt,
    revoked_reason: null,
    org_code: grant.orgCode ?? null,
  });
}

export function attachGrant(db: Db, codeHash: string, grantId: string) {
  return db.updateTable("authorization_codes").set({ grant_id: grantId }).where("code_hash", "=", codeHash);
}

export function insertAccessToken(db: Db, token: UserIssue["accessToken"]) {
  return db.insertInto("access_tokens").values({
    jti: token.jti,
    client_id: token.clientId,
    grant_id: token.grantId,
    expires_at: token.expiresAt,
    revoked_at: null,
  });
}

export function insertRefreshToken(db: Db, token: RefreshTokenRecord) {
  return db.insertInto("refresh_tokens").values({
    token_hash: token.tokenHash,
    grant_id: token.grantId,
    created_at: token.createdAt,
    expires_at: token.expiresAt,
    consumed_at: token.consumedAt,
  });
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
