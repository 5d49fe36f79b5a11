// Kinde's application access roles (issue 19, migration 0032): the roles allowed to sign in to an
// application while its role-based access control is on.
import type { Selectable } from "kysely";
import { binary } from "../roles/roles.store.js";
import type { Db } from "../storage/database.js";
import type { RolesTable } from "../storage/schema.js";

export type AccessRole = Pick<Selectable<RolesTable>, "id" | "key" | "name" | "description">;

export class AccessRolesStore {
  constructor(private readonly db: Db) {}

  /**
   * One page of an application's access roles in role-id order: after `startingAfter`, or the
   * last `limit` before `endingBefore` (Kinde's two cursors, both role ids).
   */
  async page(
    applicationId: string,
    options: { limit: number; startingAfter?: string; endingBefore?: string },
  ): Promise<AccessRole[]> {
    let query = this.db
      .selectFrom("application_access_roles")
      .innerJoin("roles", "roles.id", "application_access_roles.role_id")
      .select(["roles.id", "roles.key", "roles.name", "roles.description"])
      .where("application_access_roles.application_id", "=", applicationId);
    if (options.startingAfter !== undefined) query = query.where("roles.id", ">", options.startingAfter);
    if (options.endingBefore !== undefined) query = query.where("roles.id", "<", options.endingBefore);
    const backwards = options.endingBefore !== undefined;
    const rows = await query
      .orderBy("roles.id", backwards ? "desc" : "asc")
      .limit(options.limit)
      .execute();
    // PostgreSQL orders text by its collation, SQLite by bytes: one order for both, the cursor's.
    return rows.sort((a, b) => binary(a.id, b.id));
  }

  async count(applicationId: string): Promise<number> {
    const row = await this.db
      .selectFrom("application_access_roles")
      .select((eb) => eb.fn.countAll<string | number>().as("n"))
      .where("application_id", "=", applicationId)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async add(applicationId: string, roleId: string, now: number): Promise<void> {
    await this.db
      .insertInto("application_access_roles")
      .values({ application_id: applicationId, role_id: roleId, created_at: now })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  async remove(applicationId: string, roleId: string): Promise<void> {
    await this.db
      .deleteFrom("application_access_roles")
      .where("application_id", "=", applicationId)
      .where("role_id", "=", roleId)
      .execute();
  }

  /**
   * Whether the user holds one of the application's access roles as a member of `orgCode`, or,
   * when undefined, of any organization of theirs that is not suspended (OAuthStore.holdsAccessRole).
   */
  async holds(applicationId: string, userId: string, orgCode: string | null | undefined): Promise<boolean> {
    if (orgCode === null) return false;
    let query = this.db
      .selectFrom("application_access_roles")
      .innerJoin(
        "organization_user_roles",
        "organization_user_roles.role_id",
        "application_access_roles.role_id",
      )
      .innerJoin("organization_users", (join) =>
        join
          .onRef("organization_users.org_code", "=", "organization_user_roles.org_code")
          .onRef("organization_users.user_id", "=", "organization_user_roles.user_id"),
      )
      .innerJoin("organizations", "organizations.code", "organization_user_roles.org_code")
      .select("application_access_roles.role_id")
      .where("application_access_roles.application_id", "=", applicationId)
      .where("organization_user_roles.user_id", "=", userId)
      .where("organizations.is_suspended", "=", 0);
    if (orgCode !== undefined) query = query.where("organization_user_roles.org_code", "=", orgCode);
    return (await query.limit(1).executeTakeFirst()) !== undefined;
  }
}
