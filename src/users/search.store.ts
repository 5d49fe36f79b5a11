// SQL of Kinde's user search (GET /api/v1/search/users): users in id order, a page at a time
// (starting_after / ending_before by id), narrowed by words, property values and API scopes.
//
// Each word must appear, in any letter case, in the e-mail address, given or family name,
// username, id, provided id or one of the user's property values. That is a substring test no
// ordinary index answers, so the read walks users in primary-key order and stops once it has the
// page: cheap when matches are common, a scan of the table when they are rare. The exact filters
// are indexed: properties[key]=value by user_property_values (property_id, value), API scopes by
// their tables' keys, ids by the primary key.
import { type Expression, type ExpressionBuilder, type SqlBool, sql } from "kysely";
import type { Db } from "../storage/database.js";
import type { Schema } from "../storage/schema.js";
import { LISTED_USER_COLUMNS, type ListedUser } from "./users.store.js";

export interface SearchQuery {
  limit: number;
  startingAfter?: string;
  endingBefore?: string;
  /** Lower-case words; every one must match. */
  words: readonly string[];
  /** Property id → accepted values: the user must have one of them for every property named. */
  properties: ReadonlyMap<string, readonly string[]>;
  /** API scope keys: the user must hold one of them directly in some organization. */
  apiScopes?: readonly string[];
}

const SEARCHED_COLUMNS = [
  "users.email",
  "users.given_name",
  "users.family_name",
  "users.username",
  "users.id",
  "users.provided_id",
] as const;

/** A LIKE pattern finding `word` anywhere, its own % _ and \ taken literally. */
export function containing(word: string): string {
  return `%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function matchesWord(eb: ExpressionBuilder<Schema, "users">, word: string): Expression<SqlBool> {
  const pattern = containing(word);
  const like = (column: Expression<unknown>) => sql<SqlBool>`lower(${column}) like ${pattern} escape '\\'`;
  return eb.or([
    ...SEARCHED_COLUMNS.map((column) => like(eb.ref(column))),
    eb.exists(
      eb
        .selectFrom("user_property_values as pv")
        .select("pv.user_id")
        .whereRef("pv.user_id", "=", "users.id")
        .where(() => like(sql.ref("pv.value"))),
    ),
  ]);
}

export class UserSearchStore {
  constructor(private readonly db: Db) {}

  async search(query: SearchQuery): Promise<{ users: ListedUser[]; hasMore: boolean }> {
    let select = this.db.selectFrom("users").select(LISTED_USER_COLUMNS.map((c) => `users.${c}` as const));
    for (const word of query.words) select = select.where((eb) => matchesWord(eb, word));
    for (const [propertyId, values] of query.properties) {
      select = select.where((eb) =>
        eb.exists(
          eb
            .selectFrom("user_property_values as f")
            .select("f.user_id")
            .whereRef("f.user_id", "=", "users.id")
            .where("f.property_id", "=", propertyId)
            .where("f.value", "in", [...values]),
        ),
      );
    }
    const scopes = query.apiScopes;
    if (scopes && scopes.length > 0) {
      select = select.where((eb) =>
        eb.exists(
          eb
            .selectFrom("organization_user_api_scopes as s")
            .innerJoin("api_scopes", "api_scopes.id", "s.scope_id")
            .select("s.user_id")
            .whereRef("s.user_id", "=", "users.id")
            .where("api_scopes.key", "in", [...scopes]),
        ),
      );
    }
    const backwards = query.endingBefore !== undefined && query.startingAfter === undefined;
    if (query.startingAfter !== undefined) select = select.where("users.id", ">", query.startingAfter);
    if (query.endingBefore !== undefined) select = select.where("users.id", "<", query.endingBefore);
    const rows = await select
      .orderBy("users.id", backwards ? "desc" : "asc")
      .limit(query.limit + 1)
      .execute();
    const hasMore = rows.length > query.limit;
    const page = rows.slice(0, query.limit);
    return { users: backwards ? page.reverse() : page, hasMore };
  }

  /** The API scopes each user holds directly, by organization (Kinde's api_scopes of a result). */
  async apiScopesOf(
    userIds: readonly string[],
  ): Promise<Map<string, { org_code: string; scope: string; api_id: string }[]>> {
    const byUser = new Map<string, { org_code: string; scope: string; api_id: string }[]>(
      userIds.map((id) => [id, []]),
    );
    if (userIds.length === 0) return byUser;
    const rows = await this.db
      .selectFrom("organization_user_api_scopes as s")
      .innerJoin("api_scopes", "api_scopes.id", "s.scope_id")
      .select(["s.user_id", "s.org_code", "api_scopes.key", "api_scopes.api_id"])
      .where("s.user_id", "in", [...userIds])
      .orderBy("s.org_code")
      .orderBy("api_scopes.key")
      .execute();
    for (const row of rows)
      byUser.get(row.user_id)?.push({ org_code: row.org_code, scope: row.key, api_id: row.api_id });
    return byUser;
  }
}
