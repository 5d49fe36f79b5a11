// The write of the code and refresh grants (issue 21): after the read (token-redeem.store.ts) and
// the signatures, ONE statement consumes the code or refresh token only if it is still
// unconsumed and, in the same statement, writes what the issue makes (grant, access token record,
// rotated refresh token) selecting FROM the consumed row — so nothing is written unless this
// request won the consume. On PostgreSQL that is a data-modifying CTE, atomic as any one statement,
// committed when it answers (no BEGIN/COMMIT): of two concurrent uses the second waits for the
// first's row lock, re-checks `consumed_at is null`, matches nothing and so inserts nothing —
// single use holds; it answers `false` and the grant reads again (a replay). Foreign keys are
// checked at the end of the statement, so a new grant is there for its tokens. SQLite has no DML in
// CTEs: there the same writes are several statements (function calls, not round trips) in one
// transaction that the lost consume ends before any insert.
//
// A refresh token is consumed only while its grant is live, checked by the same statement: every
// revocation (RFC 7009 §2.1, logout, suspension, reuse detection...) changes only the grant row, so
// a refresh that read the grant live before a revocation must not write after it. On PostgreSQL the
// grant row is locked FOR SHARE, which conflicts with the row lock revokeGrant's UPDATE takes (FOR
// KEY SHARE would not): a revocation committing meanwhile is waited for and then seen (READ
// COMMITTED re-checks `revoked_at is null` on the row it committed); one that starts later waits
// for this statement and revokes the tokens it wrote too, as they are the same grant's. SQLite runs
// one writer at a time: the check inside the write transaction sees every revocation committed
// before.
import { type CompiledQuery, type Insertable, type SqlBool, sql } from "kysely";
import { isPostgres } from "../management/listing.js";
import { type Db, inTransaction } from "../storage/database.js";
import { type PreparedStatement, prepared } from "../storage/prepared.js";
import type { AccessTokensTable, GrantsTable, RefreshTokensTable } from "../storage/schema.js";
import type { Consumption, GrantRecord, RefreshTokenRecord, UserIssue } from "./ports.js";

/**
 * Consumes the code or refresh token if it is still unconsumed (and a refresh token's grant still
 * live) and, only then, writes `issue` (a code's new grant is recorded on it by the same UPDATE).
 * `false`: it was consumed (or is gone) already — another request won — or its grant was revoked;
 * nothing was written. One statement on PostgreSQL.
 */
export async function consumeAndIssue(
  db: Db,
  what: Consumption,
  now: number,
  issue?: UserIssue,
): Promise<boolean> {
  const grantId = issue?.newGrant?.grant.id;
  const kind: ConsumedKind = "codeHash" in what ? "code" : "refresh";
  const consumed: ConsumeValues = {
    hash: "codeHash" in what ? what.codeHash : what.refreshTokenHash,
    now,
    grantId: grantId ?? null,
  };
  const rows: IssuedRow[] = [];
  if (issue?.newGrant) rows.push(["grants", grantRow(issue.newGrant.grant)]);
  if (issue) rows.push(["access_tokens", accessTokenRow(issue.accessToken)]);
  if (issue?.refreshToken) rows.push(["refresh_tokens", refreshTokenRow(issue.refreshToken)]);
  for (const [table, row] of rows) {
    // The statements are compiled once per shape with these columns: a row with others would lose them.
    if (Object.keys(row).length !== ISSUED_COLUMNS[table].length)
      throw new Error(`${table}: unexpected columns`);
  }
  const tables = rows.map(([table]) => table);
  const cache = issue?.claimsCache;
  if (!isPostgres(db)) {
    return inTransaction(db, async (trx) => {
      if (!(await consumeStatement(kind, grantId !== undefined).first(trx, consumed))) return false;
      // Parents first: SQLite checks foreign keys at each statement.
      for (const [table, row] of rows) await insertStatement(table).execute(trx, row);
      return true;
    });
  }
  const values: ConsumeValues = { ...consumed };
  rows.forEach(([table, row], i) => {
    for (const column of ISSUED_COLUMNS[table]) values[`w${i}_${column}`] = row[column];
  });
  if (cache) {
    values.c_user_id = cache.userId;
    values.c_org_code = cache.orgCode;
    values.c_format = cache.format;
    values.c_user_version = cache.userVersion;
    values.c_claims_generation = cache.claimsGeneration;
    values.c_parts = cache.parts;
  }
  const statement = consumeAndIssueStatement(kind, grantId !== undefined, tables, cache !== undefined);
  return (await statement.first(db, values)) !== undefined;
}

type ConsumedKind = "code" | "refresh";
/** The consumed row's hash, the time, a code's new grant, and (PostgreSQL) the issued rows' values. */
type ConsumeValues = { hash: string; now: number; grantId: string | null; [column: string]: unknown };
type IssuedTable = "grants" | "access_tokens" | "refresh_tokens";
type IssuedRow = [IssuedTable, Record<string, unknown>];

/** The columns grantRow, accessTokenRow and refreshTokenRow give, every one every time. */
const ISSUED_COLUMNS: Record<IssuedTable, readonly string[]> = {
  grants: [
    "id",
    "client_id",
    "user_id",
    "session_id",
    "scope",
    "audience",
    "auth_time",
    "created_at",
    "revoked_at",
    "revoked_reason",
    "org_code",
  ] satisfies (keyof GrantsTable)[],
  access_tokens: [
    "jti",
    "client_id",
    "grant_id",
    "expires_at",
    "revoked_at",
  ] satisfies (keyof AccessTokensTable)[],
  refresh_tokens: [
    "token_hash",
    "grant_id",
    "created_at",
    "expires_at",
    "consumed_at",
  ] satisfies (keyof RefreshTokensTable)[],
};

/** The prepared statements of consumeAndIssue, one per shape (what an issue writes), made on first use. */
const statements = new Map<string, PreparedStatement<ConsumeValues, { consumed: string }>>();

function statementOf(
  shape: string,
  build: (db: Db, values: ConsumeValues) => { compile(db: Db): CompiledQuery<{ consumed: string }> },
) {
  let statement = statements.get(shape);
  if (!statement) {
    statement = prepared(shape, build);
    statements.set(shape, statement);
  }
  return statement;
}

/**
 * PostgreSQL: the consume and every insert as one statement. Each insert selects FROM the consumed
 * row, so none of them writes when the consume matched nothing.
 */
function consumeAndIssueStatement(
  kind: ConsumedKind,
  attachesGrant: boolean,
  tables: readonly IssuedTable[],
  cachesClaims: boolean,
) {
  const written = tables.map((table) => `_${table}`).join("");
  const shape = `consume_and_issue_${kind}${attachesGrant ? "_grant" : ""}${written}${cachesClaims ? "_claims_cache" : ""}`;
  return statementOf(shape, (db, values) => {
    const inserts = tables.map((table, i) => {
      const columns = ISSUED_COLUMNS[table];
      const names = sql.join(columns.map((column) => sql.ref(column)));
      const placed = sql.join(columns.map((column) => sql.val(values[`w${i}_${column}`])));
      return sql`, ${sql.raw(`w${i}`)} as (insert into ${sql.table(table)} (${names}) select ${placed} from consumed)`;
    });
    // The claims the read computed, as of the versions it read; never over a newer row (the read
    // only ever uses a row whose versions are the current ones, so an older one would be wasted).
    if (cachesClaims)
      inserts.push(sql`, wc as (insert into claims_cache
        (user_id, org_code, format, user_version, claims_generation, parts)
        select ${values.c_user_id}, ${values.c_org_code}, ${values.c_format}, ${values.c_user_version},
          ${values.c_claims_generation}, ${values.c_parts} from consumed
        on conflict (user_id, org_code) do update set format = excluded.format,
          user_version = excluded.user_version, claims_generation = excluded.claims_generation,
          parts = excluded.parts
        where claims_cache.user_version <= excluded.user_version
          and claims_cache.claims_generation <= excluded.claims_generation)`);
    const live = kind === "refresh" ? sql`${sql.raw(LIVE)} as (${liveGrant(db, values.hash)}), ` : sql``;
    const consumed = consume(db, kind, attachesGrant, values);
    return sql<{ consumed: string }>`with ${live}consumed as (${consumed})${sql.join(inserts, sql``)}
    select consumed from consumed`;
  });
}

/** SQLite: the consume alone, first in the transaction. */
function consumeStatement(kind: ConsumedKind, attachesGrant: boolean) {
  return statementOf(`consume_${kind}${attachesGrant ? "_grant" : ""}`, (db, values) =>
    consume(db, kind, attachesGrant, values),
  );
}

const insertStatements = new Map<IssuedTable, PreparedStatement<Record<string, unknown>, unknown>>();

/** SQLite: one insert of an issue. */
function insertStatement(table: IssuedTable) {
  let statement = insertStatements.get(table);
  if (!statement) {
    statement = prepared(`insert_${table}`, (_db, values: Record<string, unknown>) => {
      const columns = ISSUED_COLUMNS[table];
      const names = sql.join(columns.map((column) => sql.ref(column)));
      const placed = sql.join(columns.map((column) => sql.val(values[column])));
      return sql`insert into ${sql.table(table)} (${names}) values (${placed})`;
    });
    insertStatements.set(table, statement);
  }
  return statement;
}

/** The CTE (PostgreSQL) holding the refresh token's grant, locked, while it is not revoked. */
const LIVE = "live";

/**
 * The grant of the refresh token with this hash if it is not revoked, locked FOR SHARE until the
 * statement commits. Found by the token (whose grant never changes), so the consume without an
 * issue (an expired token) is covered too.
 */
function liveGrant(db: Db, refreshTokenHash: string) {
  return db
    .selectFrom("grants")
    .select("id")
    .where("id", "=", (eb) =>
      eb.selectFrom("refresh_tokens").select("grant_id").where("token_hash", "=", refreshTokenHash),
    )
    .where("revoked_at", "is", null)
    .forShare();
}

/**
 * The conditional UPDATE that makes a code or refresh token single-use. A code has no grant before
 * it is exchanged; every revocation that could race its exchange burns it first (consumed_at).
 */
function consume(db: Db, kind: ConsumedKind, attachesGrant: boolean, values: ConsumeValues) {
  return kind === "code"
    ? db
        .updateTable("authorization_codes")
        .set({ consumed_at: values.now, ...(attachesGrant ? { grant_id: values.grantId } : {}) })
        .where("code_hash", "=", values.hash)
        .where("consumed_at", "is", null)
        .returning("code_hash as consumed")
    : db
        .updateTable("refresh_tokens")
        .set({ consumed_at: values.now })
        .where("token_hash", "=", values.hash)
        .where("consumed_at", "is", null)
        .where(
          isPostgres(db)
            ? sql<SqlBool>`exists (select 1 from ${sql.raw(LIVE)})`
            : sql<SqlBool>`exists (select 1 from grants
                where grants.id = refresh_tokens.grant_id and grants.revoked_at is null)`,
        )
        .returning("token_hash as consumed");
}

/** The writes of one issue that consumes nothing (the device grant), as one statement on PostgreSQL. */
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

function grantRow(grant: GrantRecord): Insertable<GrantsTable> {
  return {
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
  };
}

function accessTokenRow(token: UserIssue["accessToken"]): Insertable<AccessTokensTable> {
  return {
    jti: token.jti,
    client_id: token.clientId,
    grant_id: token.grantId,
    expires_at: token.expiresAt,
    revoked_at: null,
  };
}

function refreshTokenRow(token: RefreshTokenRecord): Insertable<RefreshTokensTable> {
  return {
    token_hash: token.tokenHash,
    grant_id: token.grantId,
    created_at: token.createdAt,
    expires_at: token.expiresAt,
    consumed_at: token.consumedAt,
  };
}

export function insertGrant(db: Db, grant: GrantRecord) {
  return db.insertInto("grants").values(grantRow(grant));
}

export function attachGrant(db: Db, codeHash: string, grantId: string) {
  return db.updateTable("authorization_codes").set({ grant_id: grantId }).where("code_hash", "=", codeHash);
}

export function insertAccessToken(db: Db, token: UserIssue["accessToken"]) {
  return db.insertInto("access_tokens").values(accessTokenRow(token));
}

export function insertRefreshToken(db: Db, token: RefreshTokenRecord) {
  return db.insertInto("refresh_tokens").values(refreshTokenRow(token));
}
