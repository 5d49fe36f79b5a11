import { randomUUID } from "node:crypto";
import type { Clock } from "../clock.js";
import { randomHex } from "../crypto/random.js";
import { type Db, inTransaction } from "../storage/database.js";
import { type PermissionRow, type RoleRow, RolesStore } from "./roles.store.js";

/** Another role or permission already has this key (keys are what tokens carry). */
export class KeyTakenError extends Error {
  constructor(
    readonly what: "role" | "permission",
    readonly key: string,
  ) {
    super(`A ${what} with the key ${key} already exists`);
    this.name = "KeyTakenError";
  }
}

export class UnknownPermissionError extends Error {
  constructor(readonly permissionId: string) {
    super(`Permission ${permissionId} not found`);
    this.name = "UnknownPermissionError";
  }
}

export interface RoleInput {
  key: string;
  name: string;
  description: string | null;
  isDefault: boolean;
  assignmentPermissionId: string | null;
}

export interface PermissionInput {
  key: string;
  name: string;
  description: string | null;
}

export class RolesService {
  readonly store: RolesStore;
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {
    this.store = new RolesStore(db);
  }

  async createRole(input: RoleInput): Promise<RoleRow> {
    const id = randomUUID();
    // ON CONFLICT DO NOTHING rather than a caught violation (an Idempotency-Key transaction on
    // PostgreSQL must not see a failed statement).
    const result = await this.db
      .insertInto("roles")
      .values({
        id,
        key: input.key,
        name: input.name,
        description: input.description,
        is_default_role: input.isDefault ? 1 : 0,
        assignment_permission_id: input.assignmentPermissionId,
        created_at: this.clock.now(),
      })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0) throw new KeyTakenError("role", input.key);
    return (await this.store.findRole(id))!;
  }

  async updateRole(role: RoleRow, input: Partial<RoleInput>): Promise<void> {
    if (input.key !== undefined && input.key !== role.key) {
      const owner = await this.db
        .selectFrom("roles")
        .select("id")
        .where("key", "=", input.key)
        .executeTakeFirst();
      if (owner) throw new KeyTakenError("role", input.key);
    }
    await this.db
      .updateTable("roles")
      .set({
        key: input.key,
        name: input.name,
        description: input.description,
        is_default_role: input.isDefault === undefined ? undefined : input.isDefault ? 1 : 0,
        assignment_permission_id: input.assignmentPermissionId,
      })
      .where("id", "=", role.id)
      .execute();
  }

  /** Deletes a role; members holding it lose it (and its permissions) with it. */
  async deleteRole(id: string): Promise<void> {
    await this.db.deleteFrom("roles").where("id", "=", id).execute();
  }

  /**
   * Adds and removes permissions of a role, all or nothing: an unknown permission id throws
   * UnknownPermissionError before anything changes.
   */
  async updateRolePermissions(
    roleId: string,
    changes: readonly { permissionId: string; remove: boolean }[],
  ): Promise<{ added: string[]; removed: string[] }> {
    return inTransaction(this.db, async (trx) => {
      const ids = [...new Set(changes.map((c) => c.permissionId))];
      const known = new Set(
        ids.length
          ? (await trx.selectFrom("permissions").select("id").where("id", "in", ids).execute()).map(
              (p) => p.id,
            )
          : [],
      );
      const unknown = ids.find((id) => !known.has(id));
      if (unknown !== undefined) throw new UnknownPermissionError(unknown);
      const added: string[] = [];
      const removed: string[] = [];
      for (const change of changes) {
        if (change.remove) {
          await trx
            .deleteFrom("role_permissions")
            .where("role_id", "=", roleId)
            .where("permission_id", "=", change.permissionId)
            .execute();
          removed.push(change.permissionId);
        } else {
          await trx
            .insertInto("role_permissions")
            .values({ role_id: roleId, permission_id: change.permissionId })
            .onConflict((oc) => oc.doNothing())
            .execute();
          added.push(change.permissionId);
        }
      }
      return { added, removed };
    });
  }

  async removeRolePermission(roleId: string, permissionId: string): Promise<void> {
    await this.db
      .deleteFrom("role_permissions")
      .where("role_id", "=", roleId)
      .where("permission_id", "=", permissionId)
      .execute();
  }

  /** Gives a role an API scope (Kinde's role scopes); adding one it has changes nothing. */
  async addRoleScope(roleId: string, scopeId: string): Promise<void> {
    await this.db
      .insertInto("role_scopes")
      .values({ role_id: roleId, scope_id: scopeId })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  async removeRoleScope(roleId: string, scopeId: string): Promise<void> {
    await this.db
      .deleteFrom("role_scopes")
      .where("role_id", "=", roleId)
      .where("scope_id", "=", scopeId)
      .execute();
  }

  /** Gives a member an API scope directly, in one organization (Kinde's organization-user API scopes). */
  async addMemberApiScope(orgCode: string, userId: string, scopeId: string): Promise<void> {
    await this.db
      .insertInto("organization_user_api_scopes")
      .values({ org_code: orgCode, user_id: userId, scope_id: scopeId })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  async removeMemberApiScope(orgCode: string, userId: string, scopeId: string): Promise<void> {
    await this.db
      .deleteFrom("organization_user_api_scopes")
      .where("org_code", "=", orgCode)
      .where("user_id", "=", userId)
      .where("scope_id", "=", scopeId)
      .execute();
  }

  async createPermission(input: PermissionInput): Promise<PermissionRow> {
    const id = `perm_${randomHex(16)}`;
    const result = await this.db
      .insertInto("permissions")
      .values({ id, ...input, created_at: this.clock.now() })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0) throw new KeyTakenError("permission", input.key);
    return (await this.store.findPermission(id))!;
  }

  async updatePermission(permission: PermissionRow, input: Partial<PermissionInput>): Promise<void> {
    if (input.key !== undefined && input.key !== permission.key) {
      const owner = await this.db
        .selectFrom("permissions")
        .select("id")
        .where("key", "=", input.key)
        .executeTakeFirst();
      if (owner) throw new KeyTakenError("permission", input.key);
    }
    await this.db.updateTable("permissions").set(input).where("id", "=", permission.id).execute();
  }

  async deletePermission(id: string): Promise<void> {
    await this.db.deleteFrom("permissions").where("id", "=", id).execute();
  }

  async removeMemberRole(orgCode: string, userId: string, roleId: string): Promise<void> {
    await this.db
      .deleteFrom("organization_user_roles")
      .where("org_code", "=", orgCode)
      .where("user_id", "=", userId)
      .where("role_id", "=", roleId)
      .execute();
  }

  async removeMemberPermission(orgCode: string, userId: string, permissionId: string): Promise<void> {
    await this.db
      .deleteFrom("organization_user_permissions")
      .where("org_code", "=", orgCode)
      .where("user_id", "=", userId)
      .where("permission_id", "=", permissionId)
      .execute();
  }
}
