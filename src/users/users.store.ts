import type { ExpressionBuilder, Insertable, Selectable, SelectQueryBuilder } from "kysely";
import {
  type Count,
  cappedCount,
  FILTERED_COUNT_CAP,
  isPostgres,
  lowerStartsWith,
  startsWith,
  tableCount,
} from "../management/listing.js";
import type { TimeCursor } from "../management/schemas.js";
import type { Db } from "../storage/database.js";
import type { BrowserSessionsTable, Schema, UsersTable } from "../storage/schema.js";
import { canonicalEmail } from "./email.js";

export type User = Selectable<UsersTable>;

/**
 * Every column of users, named: a statement that names its columns can be a named statement on
 * PostgreSQL (src/storage/statement-names.ts; `*` never is). A column a migration adds must be
 * added here; every read returning a User fails to compile until it is.
 */
export const ALL_USER_COLUMNS = [
  "id",
  "email",
  "email_verified",
  "given_name",
  "family_name",
  "picture",
  "username",
  "provided_id",
  "password_hash",
  "is_suspended",
  "is_admin",
  "created_at",
  "updated_at",
  "last_signed_in_at",
  "total_sign_ins",
  "failed_sign_ins",
  "password_change_required",
  "mfa_offer_dismissed_at",
] as const satisfies readonly (keyof UsersTable)[];
export type BrowserSessionRow = Selectable<BrowserSessionsTable>;

/** Usernames are matched case-insensitively: stored lower-cased, like emails. */
export function normalizeUsername(username: string): string {
  return username.trim().toLowerCase();
}

/**
 * What a users page shows: every column but the password hash and the few the list does not
 * display. better-sqlite3 builds a JS object per row, so a page of 100 costs per column read.
 */
export const LISTED_USER_COLUMNS = [
  "id",
  "email",
  "username",
  "given_name",
  "family_name",
  "picture",
  "provided_id",
  "is_suspended",
  "total_sign_ins",
  "failed_sign_ins",
  "last_signed_in_at",
  "created_at",
] as const;
export type ListedUser = Pick<User, (typeof LISTED_USER_COLUMNS)[number]>;

/** Latchkey's list orders besides Kinde's (by id): by creation time, newest or oldest first. */
export type UserOrder = "id" | "created_on_desc" | "created_on_asc";

/** Users a prefix search in creation order reads in order before using the prefix indexes (probe). */
const PROBE_ROWS = 5000;

export interface UserFilters {
  ids?: readonly string[];
  emails?: readonly string[];
  usernames?: readonly string[];
  /** Epoch seconds: only users who signed in at or after this time. */
  activeSince?: number;
  /** Only users who belong (true) or do not belong (false) to some organization. */
  hasOrganization?: boolean;
  /** A normalized prefix (listing.ts normalizePrefix) of the e-mail, username, given or family name. */
  startsWith?: string;
}

export interface UserPageQuery extends UserFilters {
  limit: number;
  order?: UserOrder;
  /** Keyset cursor in id order: the id of the last user of the previous page. */
  afterId?: string;
  /** Keyset cursor in creation order: the last user's created_at and id. */
  after?: TimeCursor;
}

/**
 * Users whose e-mail address, username, given or family name starts with `prefix` — each an index
 * range (migration 0035), so PostgreSQL ORs four bitmap scans and SQLite unions four index reads.
 * "ada lov" also finds given name "Ada" with a family name starting "lov".
 */
function matchingPrefix(postgres: boolean, eb: ExpressionBuilder<Schema, "users">, text: string) {
  // Addresses and usernames are stored lower-cased (canonicalEmail, normalizeUsername).
  const stored = text.toLowerCase();
  const terms = [
    startsWith(postgres, eb.ref("users.email"), stored),
    startsWith(postgres, eb.ref("users.username"), stored),
    lowerStartsWith(postgres, eb, "users.given_name", text),
    lowerStartsWith(postgres, eb, "users.family_name", text),
  ];
  const space = text.indexOf(" ");
  const given = text.slice(0, space);
  const family = text.slice(space + 1).trimStart();
  if (space > 0 && family)
    terms.push(
      eb.and([
        lowerStartsWith(postgres, eb, "users.given_name", given),
        lowerStartsWith(postgres, eb, "users.family_name", family),
      ]),
    );
  return eb.or(terms);
}
/** A UNIQUE violation (SQLite or PostgreSQL) and, when it can be told, the column it hit. */
export function uniqueViolation(error: unknown): { column?: "email" | "username" } | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { code, constraint, message } = error as { code?: unknown; constraint?: unknown; message?: unknown };
  const unique = code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE";
  if (!unique) return undefined;
  const text = `${typeof constraint === "string" ? constraint : ""} ${typeof message === "string" ? message : ""}`;
  if (/username/.test(text)) return { column: "username" };
  if (/email/.test(text)) return { column: "email" };
  return {};
}

export class UsersStore {
  constructor(private readonly db: Db) {}

  findById(id: string): Promise<User | undefined> {
    return this.db.selectFrom("users").select(ALL_USER_COLUMNS).where("id", "=", id).executeTakeFirst();
  }

  findByEmail(email: string): Promise<User | undefined> {
    return this.db
      .selectFrom("users")
      .select(ALL_USER_COLUMNS)
      .where("email", "=", canonicalEmail(email))
      .executeTakeFirst();
  }

  findByUsername(username: string): Promise<User | undefined> {
    return this.db
      .selectFrom("users")
      .select(ALL_USER_COLUMNS)
      .where("username", "=", normalizeUsername(username))
      .executeTakeFirst();
  }

  async insert(user: Insertable<UsersTable>): Promise<void> {
    await this.db.insertInto("users").values(user).execute();
  }

  /**
   * Inserts unless the email or username is taken (any unique index), without raising: on
   * PostgreSQL a raised violation would abort the surrounding transaction.
   */
  async insertIfFree(user: Insertable<UsersTable>): Promise<boolean> {
    const result = await this.db
      .insertInto("users")
      .values(user)
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /**
   * Accounts whose addresses are one mailbox (migration 0013 could not merge them: that is the
   * operator's call). Every address written since is canonical, so a duplicate is a stored address
   * that is not, beside the account holding its canonical form. Read in pages: memory stays flat.
   */
  async emailDuplicates(): Promise<{ email: string; userIds: string[] }[]> {
    const groups = new Map<string, string[]>();
    let after = "";
    for (;;) {
      const rows = await this.db
        .selectFrom("users")
        .select(["id", "email"])
        .where("email", "is not", null)
        .where("id", ">", after)
        .orderBy("id")
        .limit(1000)
        .execute();
      for (const { id, email } of rows) {
        const canonical = canonicalEmail(email!);
        if (canonical === email) continue;
        let group = groups.get(canonical);
        if (!group) {
          const owner = await this.findByEmail(canonical);
          group = owner ? [owner.id] : [];
          groups.set(canonical, group);
        }
        group.push(id);
      }
      if (rows.length < 1000) break;
      after = rows.at(-1)!.id;
    }
    return [...groups].filter(([, ids]) => ids.length > 1).map(([email, userIds]) => ({ email, userIds }));
  }

  /** Every administrator, oldest first. */
  listAdmins(): Promise<User[]> {
    return this.db
      .selectFrom("users")
      .select(ALL_USER_COLUMNS)
      .where("is_admin", "=", 1)
      .orderBy("created_at")
      .orderBy("id")
      .execute();
  }

  async update(id: string, changes: Partial<Omit<Insertable<UsersTable>, "id">>): Promise<void> {
    await this.db.updateTable("users").set(changes).where("id", "=", id).execute();
  }

  /** Sets a column only while it is still empty; false when the user or the empty slot is gone. */
  async fillIfEmpty(
    id: string,
    column: "email" | "username",
    value: string,
    changes: Partial<Omit<Insertable<UsersTable>, "id">> = {},
  ): Promise<boolean> {
    const result = await this.db
      .updateTable("users")
      .set({ ...changes, [column]: value })
      .where("id", "=", id)
      .where(column, "is", null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Replaces a password hash only if it is still the one that was verified (no lost update). */
  async replacePasswordHash(id: string, previous: string, next: string, now: number): Promise<void> {
    await this.db
      .updateTable("users")
      .set({ password_hash: next, updated_at: now })
      .where("id", "=", id)
      .where("password_hash", "=", previous)
      .execute();
  }

  async recordSignIn(id: string, now: number): Promise<void> {
    await this.signInCounted(id, now).execute();
  }

  /** recordSignIn's UPDATE, for a caller that embeds it in a statement of its own. */
  signInCounted(id: string, now: number) {
    return this.db
      .updateTable("users")
      .set((eb) => ({ last_signed_in_at: now, total_sign_ins: eb("total_sign_ins", "+", 1) }))
      .where("id", "=", id);
  }

  async recordFailedSignIn(id: string): Promise<void> {
    await this.db
      .updateTable("users")
      .set((eb) => ({ failed_sign_ins: eb("failed_sign_ins", "+", 1) }))
      .where("id", "=", id)
      .execute();
  }

  /**
   * One page in primary-key order (Kinde's) or by creation time — a keyset on an index either way:
   * constant cost at any depth, no OFFSET, no COUNT. Filters use the primary key, the unique
   * email/username indexes and 0035's prefix indexes.
   */
  async page(query: UserPageQuery): Promise<ListedUser[]> {
    let q = this.filtered(this.db.selectFrom("users").select(LISTED_USER_COLUMNS), query);
    const order = query.order ?? "id";
    if (order === "id") {
      if (query.afterId !== undefined) q = q.where("id", ">", query.afterId);
      return q.orderBy("id").limit(query.limit).execute();
    }
    // Newest first is a backward walk of users_created (0035); the cursor a row-value bound on it.
    const direction = order === "created_on_desc" ? "desc" : "asc";
    const after = query.after;
    const keyset = <O>(select: SelectQueryBuilder<Schema, "users", O>) =>
      after
        ? select.where((eb) =>
            eb(
              eb.refTuple("created_at", "id"),
              direction === "desc" ? "<" : ">",
              eb.tuple(after.at, after.id),
            ),
          )
        : select;
    if (query.startsWith !== undefined && !isPostgres(this.db)) {
      const probed = await this.probe(query, keyset, direction);
      if (probed) return probed;
    }
    return keyset(q).orderBy("created_at", direction).orderBy("id", direction).limit(query.limit).execute();
  }

  /**
   * SQLite has no statistics to choose between its two plans for a prefix search in creation order:
   * the prefix indexes (then a sort of every match: slow for a common prefix, ~10 000 rows for "ada")
   * or users_created (then a filter of every row: slow for a rare one). It always takes the first.
   * So the next PROBE_ROWS users in order are read first and filtered: if they hold a full page,
   * that is the page (every later match comes after them in the order); otherwise the prefix indexes
   * answer. Either way no more than PROBE_ROWS + the matches are read.
   */
  private async probe(
    query: UserPageQuery,
    keyset: <O>(select: SelectQueryBuilder<Schema, "users", O>) => SelectQueryBuilder<Schema, "users", O>,
    direction: "asc" | "desc",
  ): Promise<ListedUser[] | undefined> {
    const window = keyset(this.db.selectFrom("users").select(LISTED_USER_COLUMNS))
      .orderBy("created_at", direction)
      .orderBy("id", direction)
      .limit(PROBE_ROWS)
      .as("users");
    const rows = await this.filtered(this.db.selectFrom(window).selectAll(), query)
      .orderBy("created_at", direction)
      .orderBy("id", direction)
      .limit(query.limit)
      .execute();
    return rows.length === query.limit ? rows : undefined;
  }

  /**
   * How many users a list holds: the whole table is counted or estimated (listing.ts tableCount),
   * a filtered list counted up to FILTERED_COUNT_CAP.
   */
  count(filters: UserFilters): Promise<Count> {
    const filtered = Object.values(filters).some((v) => v !== undefined);
    if (!filtered) return tableCount(this.db, "users");
    return cappedCount(
      this.filtered(this.db.selectFrom("users").select("id"), filters).limit(FILTERED_COUNT_CAP + 1),
    );
  }

  private filtered<O>(
    select: SelectQueryBuilder<Schema, "users", O>,
    query: UserFilters,
  ): SelectQueryBuilder<Schema, "users", O> {
    let q = select;
    const prefix = query.startsWith;
    if (prefix !== undefined) {
      const postgres = isPostgres(this.db);
      q = q.where((eb) => matchingPrefix(postgres, eb, prefix));
    }
    if (query.ids) q = q.where("id", "in", [...query.ids]);
    if (query.emails) q = q.where("email", "in", query.emails.map(canonicalEmail));
    if (query.usernames) q = q.where("username", "in", query.usernames.map(normalizeUsername));
    if (query.activeSince !== undefined) q = q.where("last_signed_in_at", ">=", query.activeSince);
    if (query.hasOrganization !== undefined) {
      const wanted = query.hasOrganization;
      q = q.where((eb) => {
        const member = eb.exists(
          eb
            .selectFrom("organization_users")
            .select("organization_users.user_id")
            .whereRef("organization_users.user_id", "=", "users.id"),
        );
        return wanted ? member : eb.not(member);
      });
    }
    return q;
  }

  /** The organization codes of each of these users (for `expand=organizations`), sorted. */
  async organizationCodes(userIds: readonly string[]): Promise<Map<string, string[]>> {
    const codes = new Map<string, string[]>(userIds.map((id) => [id, []]));
    if (userIds.length === 0) return codes;
    const rows = await this.db
      .selectFrom("organization_users")
      .select(["user_id", "org_code"])
      .where("user_id", "in", [...userIds])
      .orderBy("org_code")
      .execute();
    for (const row of rows) codes.get(row.user_id)?.push(row.org_code);
    return codes;
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom("users").where("id", "=", id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Live browser sessions of a user, newest first (the browser_sessions_user index). */
  liveSessions(userId: string, now: number, limit: number): Promise<BrowserSessionRow[]> {
    return this.db
      .selectFrom("browser_sessions")
      .selectAll()
      .where("user_id", "=", userId)
      .where("revoked_at", "is", null)
      .where("expires_at", ">", now)
      .orderBy("created_at", "desc")
      .orderBy("id")
      .limit(limit)
      .execute();
  }

  /** The application each session was first used for (from its earliest grant), by session id. */
  async sessionClients(userId: string): Promise<Map<string, string>> {
    const rows = await this.db
      .selectFrom("grants")
      .select(["session_id", "client_id", "created_at"])
      .where("user_id", "=", userId)
      .where("session_id", "is not", null)
      .orderBy("created_at")
      .execute();
    const clients = new Map<string, string>();
    for (const row of rows)
      if (row.session_id && !clients.has(row.session_id)) clients.set(row.session_id, row.client_id);
    return clients;
  }

  /**
   * Ends everything a user is signed in with: browser sessions, unexchanged authorization codes and
   * every grant (so refresh tokens and the access tokens recorded with them stop working).
   */
  async revokeEverything(userId: string, now: number, reason: string): Promise<void> {
    await this.db
      .updateTable("browser_sessions")
      .set({ revoked_at: now })
      .where("user_id", "=", userId)
      .where("revoked_at", "is", null)
      .execute();
    await this.db
      .updateTable("authorization_codes")
      .set({ consumed_at: now })
      .where("user_id", "=", userId)
      .where("consumed_at", "is", null)
      .execute();
    await this.db
      .updateTable("grants")
      .set({ revoked_at: now, revoked_reason: reason })
      .where("user_id", "=", userId)
      .where("revoked_at", "is", null)
      .execute();
  }

  /** Drops the user's cached claim parts (claims_cache, migration 0045). */
  async forgetCachedClaims(userId: string): Promise<void> {
    await this.db.deleteFrom("claims_cache").where("user_id", "=", userId).execute();
  }

  /**
   * Marks the user's recorded access tokens revoked by jti. Needed before deleting a user: the
   * grants cascade away with the user, and a token whose grant is gone would otherwise look live.
   */
  async revokeAccessTokens(userId: string, now: number): Promise<void> {
    await this.db
      .updateTable("access_tokens")
      .set({ revoked_at: now })
      .where("revoked_at", "is", null)
      .where("grant_id", "in", (eb) => eb.selectFrom("grants").select("id").where("user_id", "=", userId))
      .execute();
  }
}
