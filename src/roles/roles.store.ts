import type { Selectable } from "kysely";
import type { Db } from "../storage/database.js";
import type { ApiScopesTable, PermissionsTable, RolesTable } from "../storage/schema.js";

export type RoleRow = Selectable<RolesTable>;
export type PermissionRow = Selectable<PermissionsTable>;

/** Which of the scope keys asked about each audience's API defines, and which the user holds. */
export type HeldScopes = Map<string, { defined: Set<string>; held: Set<string> }>;

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

  /** The API scopes a role gives, sorted by key (byte-wise, alike on both dialects), then API. */
  async roleScopes(roleId: string): Promise<Selectable<ApiScopesTable>[]> {
    const rows = await this.db
      .selectFrom("role_scopes")
      .innerJoin("api_scopes", "api_scopes.id", "role_scopes.scope_id")
      .selectAll("api_scopes")
      .where("role_scopes.role_id", "=", roleId)
      .execute();
    return rows.sort((a, b) => binary(a.key, b.key) || binary(a.api_id, b.api_id) || binary(a.id, b.id));
  }

  /**
   * Per audience: which of `keys` its API defines, and which of those the user holds — through a
   * role they have in `orgCode`, given to them directly in it, or, for an administrator
   * (`adminClientId` set), granted to that application on the Management API. One statement:
   * token issuance runs it at most once (docs/performance.md counts the refresh path's statements).
   */
  async heldScopes(input: {
    userId: string;
    orgCode: string | null;
    audiences: readonly string[];
    keys: readonly string[];
    adminClientId?: string;
  }): Promise<HeldScopes> {
    const { userId, orgCode, audiences, keys, adminClientId } = input;
    const result: HeldScopes = new Map(
      audiences.map((a) => [a, { defined: new Set<string>(), held: new Set<string>() }]),
    );
    if (audiences.length === 0 || keys.length === 0 || (orgCode === null && adminClientId === undefined))
      return result;
    const rows = await this.db
      .selectFrom("api_scopes")
      .innerJoin("apis", "apis.id", "api_scopes.api_id")
      .select(["apis.audience", "api_scopes.key"])
      .select((eb) => {
        const sources = [];
        if (orgCode !== null) {
          sources.push(
            eb(
              "api_scopes.id",
              "in",
              eb
                .selectFrom("organization_user_roles")
                .innerJoin("role_scopes", "role_scopes.role_id", "organization_user_roles.role_id")
                .select("role_scopes.scope_id")
                .where("organization_user_roles.org_code", "=", orgCode)
                .where("organization_user_roles.user_id", "=", userId),
            ),
            eb(
              "api_scopes.id",
              "in",
              eb
                .selectFrom("organization_user_api_scopes")
                .select("organization_user_api_scopes.scope_id")
                .where("organization_user_api_scopes.org_code", "=", orgCode)
                .where("organization_user_api_scopes.user_id", "=", userId),
            ),
          );
        }
        if (adminClientId !== undefined) {
          sources.push(
            eb.and([
              eb("apis.is_management_api", "=", 1),
              eb(
                "api_scopes.id",
                "in",
                eb
                  .selectFrom("api_application_scopes")
                  .select("api_application_scopes.scope_id")
                  .where("api_application_scopes.application_id", "=", adminClientId),
              ),
            ]),
          );
        }
        // An integer on both dialects (PostgreSQL would answer a bare condition as a boolean).
        return eb.case().when(eb.or(sources)).then(1).else(0).end().as("held");
      })
      .where("apis.audience", "in", audiences)
      .where("api_scopes.key", "in", keys)
      .execute();
    for (const row of rows) {
      const entry = result.get(row.audience);
      if (!entry) continue;
      entry.defined.add(row.key);
      if (Number(row.held) === 1) entry.held.add(row.key);
    }
    return result;
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
