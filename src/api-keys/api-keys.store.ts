// SQL of API keys (migration 0029). Keys arrive here already hashed; `lookup` is the visible part.
import type { Selectable } from "kysely";
import type { Db } from "../storage/database.js";
import type { ApiKeyStatus, ApiKeysTable, ApiKeyType } from "../storage/schema.js";

export type ApiKeyRow = Selectable<ApiKeysTable>;

/** A scope a key carries: its id and key (what a verifying API checks). */
export interface KeyScope {
  id: string;
  key: string;
}

export interface ApiKeyFilter {
  type?: Extract<ApiKeyType, "user" | "organization">;
  status?: ApiKeyStatus;
  userId?: string;
  orgCode?: string;
}

export class ApiKeysStore {
  constructor(private readonly db: Db) {}

  async insert(
    row: Omit<
      ApiKeyRow,
      "status" | "rotated_at" | "last_verified_at" | "last_verified_ip" | "verification_count"
    >,
    scopeIds: readonly string[],
  ): Promise<void> {
    await this.db.insertInto("api_keys").values(row).execute();
    if (scopeIds.length > 0)
      await this.db
        .insertInto("api_key_scopes")
        .values(scopeIds.map((scope_id) => ({ api_key_id: row.id, scope_id })))
        .execute();
  }

  find(id: string): Promise<ApiKeyRow | undefined> {
    return this.db.selectFrom("api_keys").selectAll().where("id", "=", id).executeTakeFirst();
  }

  /** The key whose visible prefix this is: one lookup on a unique index. */
  findByLookup(lookup: string): Promise<ApiKeyRow | undefined> {
    return this.db.selectFrom("api_keys").selectAll().where("lookup", "=", lookup).executeTakeFirst();
  }

  /**
   * One page in creation order (then id), after the key `afterId` names; `limit + 1` rows are read
   * so the caller knows whether more follow.
   */
  async page(filter: ApiKeyFilter, limit: number, after?: ApiKeyRow): Promise<ApiKeyRow[]> {
    let query = this.db.selectFrom("api_keys").selectAll();
    if (filter.type) query = query.where("type", "=", filter.type);
    if (filter.status) query = query.where("status", "=", filter.status);
    if (filter.userId) query = query.where("user_id", "=", filter.userId);
    if (filter.orgCode) query = query.where("org_code", "=", filter.orgCode);
    if (after)
      query = query.where((eb) =>
        eb.or([
          eb("created_at", ">", after.created_at),
          eb.and([eb("created_at", "=", after.created_at), eb("id", ">", after.id)]),
        ]),
      );
    return query
      .orderBy("created_at")
      .orderBy("id")
      .limit(limit + 1)
      .execute();
  }

  /** The scopes of each key, by key id, sorted by scope key. */
  async scopes(keyIds: readonly string[]): Promise<Map<string, KeyScope[]>> {
    const found = new Map<string, KeyScope[]>(keyIds.map((id) => [id, []]));
    if (keyIds.length === 0) return found;
    const rows = await this.db
      .selectFrom("api_key_scopes")
      .innerJoin("api_scopes", "api_scopes.id", "api_key_scopes.scope_id")
      .select(["api_key_scopes.api_key_id", "api_scopes.id", "api_scopes.key"])
      .where("api_key_scopes.api_key_id", "in", keyIds)
      .execute();
    for (const row of rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)))
      found.get(row.api_key_id)?.push({ id: row.id, key: row.key });
    return found;
  }

  /** Replaces the key's secret: the old key stops verifying the moment this commits. */
  async rotate(id: string, secret: { lookup: string; keyHash: string; suffix: string }, now: number) {
    const result = await this.db
      .updateTable("api_keys")
      .set({ lookup: secret.lookup, key_hash: secret.keyHash, key_suffix: secret.suffix, rotated_at: now })
      .where("id", "=", id)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom("api_keys").where("id", "=", id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /**
   * Counts a verification (when, from where) and answers the key's state after it — only while the
   * key is still the one verified (`keyHash`) and active: a rotation or deletion that committed
   * since the read wins.
   */
  async recordVerification(
    id: string,
    keyHash: string,
    ip: string,
    now: number,
  ): Promise<ApiKeyRow | undefined> {
    return this.db
      .updateTable("api_keys")
      .set((eb) => ({
        last_verified_at: now,
        last_verified_ip: ip,
        verification_count: eb("verification_count", "+", 1),
      }))
      .where("id", "=", id)
      .where("key_hash", "=", keyHash)
      .where("status", "=", "active")
      .returningAll()
      .executeTakeFirst();
  }
}
