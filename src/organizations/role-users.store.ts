// The holders of one role in one organization, by the index migration 0033 made for it
// (organization_user_roles (org_code, role_id, user_id)): a page is one range read in user id order,
// a count one index count, and the active count one semi-join into the authentication log's
// (user_id, created_at) index — the token grants it records already say who was issued a token when,
// so the token endpoint writes nothing more for this count.
import type { Db } from "../storage/database.js";

export class RoleUsersStore {
  constructor(private readonly db: Db) {}

  /** One page of holders' ids after `afterUserId` (keyset), `limit` of them. */
  async page(orgCode: string, roleId: string, limit: number, afterUserId?: string): Promise<string[]> {
    let query = this.db
      .selectFrom("organization_user_roles")
      .select("user_id")
      .where("org_code", "=", orgCode)
      .where("role_id", "=", roleId);
    if (afterUserId !== undefined) query = query.where("user_id", ">", afterUserId);
    const rows = await query.orderBy("user_id").limit(limit).execute();
    return rows.map((r) => r.user_id);
  }

  async count(orgCode: string, roleId: string): Promise<number> {
    const row = await this.db
      .selectFrom("organization_user_roles")
      .select((eb) => eb.fn.countAll<number | string>().as("n"))
      .where("org_code", "=", orgCode)
      .where("role_id", "=", roleId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * Holders who were issued an access token (any application, any organization) between `from`
   * and `to`, both inclusive, in epoch seconds. The primary key (org_code, user_id, role_id) makes
   * each holder one row, so COUNT(*) counts people.
   */
  async activeCount(orgCode: string, roleId: string, from: number, to: number): Promise<number> {
    const row = await this.db
      .selectFrom("organization_user_roles")
      .select((eb) => eb.fn.countAll<number | string>().as("n"))
      .where("org_code", "=", orgCode)
      .where("role_id", "=", roleId)
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom("authentication_log")
            .select("authentication_log.user_id")
            .whereRef("authentication_log.user_id", "=", "organization_user_roles.user_id")
            .where("authentication_log.created_at", ">=", from)
            .where("authentication_log.created_at", "<=", to)
            .where("authentication_log.type", "=", "token_issued"),
        ),
      )
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
