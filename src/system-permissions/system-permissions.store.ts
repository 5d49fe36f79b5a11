// The system permissions' SQL: the catalogue, a role's permissions, and what a member holds in an
// organization through the roles they hold there.
import type { Db } from "../storage/database.js";
import { inTransaction } from "../storage/database.js";
import type { SystemPermission, SystemPermissionKey } from "./catalogue.js";

export class UnknownSystemPermissionError extends Error {
  constructor(readonly id: string) {
    super(`unknown system permission ${id}`);
  }
}

export class SystemPermissionsStore {
  constructor(private readonly db: Db) {}

  /** The catalogue (sorted and paged by the caller, alike on both dialects). */
  async all(): Promise<SystemPermission[]> {
    return (await this.db
      .selectFrom("system_permissions")
      .select(["id", "key", "name", "description"])
      .execute()) as SystemPermission[];
  }

  async ofRole(roleId: string): Promise<SystemPermission[]> {
    return (await this.db
      .selectFrom("role_system_permissions")
      .innerJoin(
        "system_permissions",
        "system_permissions.id",
        "role_system_permissions.system_permission_id",
      )
      .select([
        "system_permissions.id",
        "system_permissions.key",
        "system_permissions.name",
        "system_permissions.description",
      ])
      .where("role_system_permissions.role_id", "=", roleId)
      .execute()) as SystemPermission[];
  }

  /**
   * Adds and removes in one transaction; every id must name a system permission (nothing is
   * written otherwise). Answers the ids as asked, as Kinde's system_permissions_added/removed.
   */
  update(
    roleId: string,
    changes: readonly { id: string; remove: boolean }[],
  ): Promise<{ added: string[]; removed: string[] }> {
    return inTransaction(this.db, async (trx) => {
      const ids = [...new Set(changes.map((c) => c.id))];
      const known = new Set(
        ids.length
          ? (await trx.selectFrom("system_permissions").select("id").where("id", "in", ids).execute()).map(
              (p) => p.id,
            )
          : [],
      );
      const unknown = ids.find((id) => !known.has(id));
      if (unknown !== undefined) throw new UnknownSystemPermissionError(unknown);
      const added: string[] = [];
      const removed: string[] = [];
      for (const change of changes) {
        if (change.remove) {
          await trx
            .deleteFrom("role_system_permissions")
            .where("role_id", "=", roleId)
            .where("system_permission_id", "=", change.id)
            .execute();
          removed.push(change.id);
        } else {
          await trx
            .insertInto("role_system_permissions")
            .values({ role_id: roleId, system_permission_id: change.id })
            .onConflict((oc) => oc.doNothing())
            .execute();
          added.push(change.id);
        }
      }
      return { added, removed };
    });
  }

  /** The keys a member holds in the organization, through the roles they hold there. */
  async heldBy(orgCode: string, userId: string): Promise<Set<SystemPermissionKey>> {
    const rows = await this.db
      .selectFrom("organization_user_roles")
      .innerJoin(
        "role_system_permissions",
        "role_system_permissions.role_id",
        "organization_user_roles.role_id",
      )
      .innerJoin(
        "system_permissions",
        "system_permissions.id",
        "role_system_permissions.system_permission_id",
      )
      .select("system_permissions.key")
      .distinct()
      .where("organization_user_roles.org_code", "=", orgCode)
      .where("organization_user_roles.user_id", "=", userId)
      .execute();
    return new Set(rows.map((r) => r.key as SystemPermissionKey));
  }
}
