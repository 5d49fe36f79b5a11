import type { Selectable } from "kysely";
import type { Db } from "../storage/database.js";
import type { PermissionsTable, RolesTable } from "../storage/schema.js";

export type RoleRow = Selectable<RolesTable>;
export type PermissionRow = Selectable<PermissionsTable>;

export class RolesStore {
  constructor(private readonly db: Db) {}

  findRole(id: string): Promise<RoleRow | undefined> {
    return this.db.selectFrom("roles").selectAll().where("id", "=", id).executeTakeFirst();
  }

  roles(): Promise<RoleRow[]> {
    return this.db.selectFrom("roles").selectAll().execute();
  }

  /** Roles by key (unknown keys are simply absent from the result). */
  rolesByKey(keys: readonly string[]): Promise<RoleRow[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return this.db.selectFrom("roles").selectAll().where("key", "in", keys).execute();
  }

  defaultRoles(): Promise<RoleRow[]> {
    return this.db.selectFrom("roles").selectAll().where("is_default_role", "=", 1).execute();
  }

  findPermission(id: string): Promise<PermissionRow | undefined> {
    return this.db.selectFrom("permissions").selectAll().where("id", "=", id).executeTakeFirst();
  }

  permissions(): Promise<PermissionRow[]> {
    return this.db.selectFrom("permissions").selectAll().execute();
  }

  permissionsByKey(keys: readonly string[]): Promise<PermissionRow[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return this.db.selectFrom("permissions").selectAll().where("key", "in", keys).execute();
  }

  permissionsOfRole(roleId: string): Promise<PermissionRow[]> {
    return this.db
      .selectFrom("role_permissions")
      .innerJoin("permissions", "permissions.id", "role_permissions.permission_id")
      .selectAll("permissions")
      .where("role_permissions.role_id", "=", roleId)
      .execute();
  }

  /** The roles a member holds in one organization. */
  memberRoles(orgCode: string, userId: string): Promise<RoleRow[]> {
    return this.db
      .selectFrom("organization_user_roles")
      .innerJoin("roles", "roles.id", "organization_user_roles.role_id")
      .selectAll("roles")
      .where("organization_user_roles.org_code", "=", orgCode)
      .where("organization_user_roles.user_id", "=", userId)
      .execute();
  }

  /** Role keys of several members of one organization, by user id. */
  async memberRoleKeys(orgCode: string, userIds: readonly string[]): Promise<Map<string, string[]>> {
    const byUser = new Map<string, string[]>(userIds.map((id) => [id, []]));
    if (userIds.length === 0) return byUser;
    const rows = await this.db
      .selectFrom("organization_user_roles")
      .innerJoin("roles", "roles.id", "organization_user_roles.role_id")
      .select(["organization_user_roles.user_id", "roles.key"])
      .where("organization_user_roles.org_code", "=", orgCode)
      .where("organization_user_roles.user_id", "in", userIds)
      .execute();
    for (const row of rows) byUser.get(row.user_id)?.push(row.key);
    for (const keys of byUser.values()) keys.sort();
    return byUser;
  }

  /** Permissions given to a member directly (not through a role). */
  memberDirectPermissions(orgCode: string, userId: string): Promise<PermissionRow[]> {
    return this.db
      .selectFrom("organization_user_permissions")
      .innerJoin("permissions", "permissions.id", "organization_user_permissions.permission_id")
      .selectAll("permissions")
      .where("organization_user_permissions.org_code", "=", orgCode)
      .where("organization_user_permissions.user_id", "=", userId)
      .execute();
  }

  /** Keys of every permission a member has in one organization (directly or by role), in one query. */
  async memberPermissionKeys(orgCode: string, userId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom("permissions")
      .select("key")
      .where((eb) =>
        eb.or([
          eb(
            "id",
            "in",
            eb
              .selectFrom("organization_user_permissions")
              .select("permission_id")
              .where("org_code", "=", orgCode)
              .where("user_id", "=", userId),
          ),
          eb(
            "id",
            "in",
            eb
              .selectFrom("organization_user_roles")
              .innerJoin("role_permissions", "role_permissions.role_id", "organization_user_roles.role_id")
              .select("role_permissions.permission_id")
              .where("organization_user_roles.org_code", "=", orgCode)
              .where("organization_user_roles.user_id", "=", userId),
          ),
        ]),
      )
      .execute();
    return rows.map((row) => row.key).sort(binary);
  }

  /**
   * Every permission a member has in one organization, each with the roles that give it (none
   * when it was given directly). Only this organization's grants count: the same user's roles in
   * another organization never leak in.
   */
  async memberPermissions(
    orgCode: string,
    userId: string,
  ): Promise<{ permission: PermissionRow; roles: { id: string; key: string }[] }[]> {
    const [direct, viaRoles] = await Promise.all([
      this.memberDirectPermissions(orgCode, userId),
      this.db
        .selectFrom("organization_user_roles")
        .innerJoin("role_permissions", "role_permissions.role_id", "organization_user_roles.role_id")
        .innerJoin("permissions", "permissions.id", "role_permissions.permission_id")
        .innerJoin("roles", "roles.id", "organization_user_roles.role_id")
        .selectAll("permissions")
        .select(["roles.id as role_id", "roles.key as role_key"])
        .where("organization_user_roles.org_code", "=", orgCode)
        .where("organization_user_roles.user_id", "=", userId)
        .execute(),
    ]);
    const result = new Map<string, { permission: PermissionRow; roles: { id: string; key: string }[] }>();
    for (const permission of direct) result.set(permission.id, { permission, roles: [] });
    for (const { role_id, role_key, ...permission } of viaRoles) {
      const entry = result.get(permission.id) ?? { permission, roles: [] };
      entry.roles.push({ id: role_id, key: role_key });
      result.set(permission.id, entry);
    }
    return [...result.values()].sort((a, b) => binary(a.permission.key, b.permission.key));
  }

  /** Users holding a role, with the organizations they hold it in. */
  async roleUsers(roleId: string): Promise<{ id: string; org_codes: string[] }[]> {
    const rows = await this.db
      .selectFrom("organization_user_roles")
      .select(["user_id", "org_code"])
      .where("role_id", "=", roleId)
      .execute();
    const byUser = new Map<string, string[]>();
    for (const row of rows) byUser.set(row.user_id, [...(byUser.get(row.user_id) ?? []), row.org_code]);
    return [...byUser]
      .sort(([a], [b]) => binary(a, b))
      .map(([id, codes]) => ({ id, org_codes: codes.sort() }));
  }
}

export const binary = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
