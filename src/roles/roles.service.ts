import { randomUUID } from "node:crypto";
import type { Clock } from "../clock.js";
import { randomHex } from "../crypto/random.js";
import { type EventSource, recordEvent } from "../events/events.js";
import { permissionData, permissionIdData, roleData, roleIdData } from "../events/payloads.js";
import { recordMemberUpdated } from "../organizations/member-events.js";
import { type Db, inTransaction } from "../storage/database.js";
import { uniqueViolation } from "../users/users.store.js";
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

/**
 * Runs a write that checked its key was free beforehand; a unique violation (a concurrent write
 * took the key in between) becomes the same KeyTakenError. Only around a whole transaction:
 * PostgreSQL has aborted it by then, so nothing more may run in it.
 */
async function keyRace<T>(
  what: "role" | "permission",
  key: string | undefined,
  write: () => Promise<T>,
): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (key !== undefined && uniqueViolation(error)) throw new KeyTakenError(what, key);
    throw error;
  }
}

export class RolesService {
  readonly store: RolesStore;
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {
    this.store = new RolesStore(db);
  }

  /**
   * Creates a role with its role.created event; throws KeyTakenError. `source`: who asked
   * (operators' tools and tests by default).
   */
  async createRole(input: RoleInput, source: EventSource = "admin"): Promise<RoleRow> {
    const id = randomUUID();
    return inTransaction(this.db, async (trx) => {
      // ON CONFLICT DO NOTHING rather than a caught violation (a transaction on PostgreSQL — this
      // one, or an Idempotency-Key one around it — must not see a failed statement).
      const result = await trx
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
      const role = (await new RolesStore(trx).findRole(id))!;
      await recordEvent(trx, this.clock, { type: "role.created", source, data: roleData(role) });
      return role;
    });
  }

  /** Changes a role and records role.updated; throws KeyTakenError. */
  async updateRole(role: RoleRow, input: Partial<RoleInput>, source: EventSource = "admin"): Promise<void> {
    if (input.key !== undefined && input.key !== role.key) {
      const owner = await this.db
        .selectFrom("roles")
        .select("id")
        .where("key", "=", input.key)
        .executeTakeFirst();
      if (owner) throw new KeyTakenError("role", input.key);
    }
    await keyRace("role", input.key, () =>
      inTransaction(this.db, async (trx) => {
        await trx
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
        const updated = await new RolesStore(trx).findRole(role.id);
        if (updated)
          await recordEvent(trx, this.clock, { type: "role.updated", source, data: roleData(updated) });
      }),
    );
  }

  /**
   * Deletes a role, with role.deleted; members holding it lose it (and its permissions) with it.
   * False when there was no such role.
   */
  async deleteRole(id: string, source: EventSource = "admin"): Promise<boolean> {
    return inTransaction(this.db, async (trx) => {
      const result = await trx.deleteFrom("roles").where("id", "=", id).executeTakeFirst();
      const deleted = Number(result.numDeletedRows) > 0;
      if (deleted) await recordEvent(trx, this.clock, { type: "role.deleted", source, data: roleIdData(id) });
      return deleted;
    });
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

  /** Creates a permission with its permission.created event; throws KeyTakenError. */
  async createPermission(input: PermissionInput, source: EventSource = "admin"): Promise<PermissionRow> {
    const id = `perm_${randomHex(16)}`;
    return inTransaction(this.db, async (trx) => {
      // ON CONFLICT DO NOTHING, as in createRole.
      const result = await trx
        .insertInto("permissions")
        .values({ id, ...input, created_at: this.clock.now() })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0)
        throw new KeyTakenError("permission", input.key);
      const permission = (await new RolesStore(trx).findPermission(id))!;
      await recordEvent(trx, this.clock, {
        type: "permission.created",
        source,
        data: permissionData(permission),
      });
      return permission;
    });
  }

  /** Changes a permission and records permission.updated; throws KeyTakenError. */
  async updatePermission(
    permission: PermissionRow,
    input: Partial<PermissionInput>,
    source: EventSource = "admin",
  ): Promise<void> {
    if (input.key !== undefined && input.key !== permission.key) {
      const owner = await this.db
        .selectFrom("permissions")
        .select("id")
        .where("key", "=", input.key)
        .executeTakeFirst();
      if (owner) throw new KeyTakenError("permission", input.key);
    }
    await keyRace("permission", input.key, () =>
      inTransaction(this.db, async (trx) => {
        await trx.updateTable("permissions").set(input).where("id", "=", permission.id).execute();
        const updated = await new RolesStore(trx).findPermission(permission.id);
        if (updated)
          await recordEvent(trx, this.clock, {
            type: "permission.updated",
            source,
            data: permissionData(updated),
          });
      }),
    );
  }

  /**
   * Deletes a permission, with permission.deleted; roles and members holding it lose it. False
   * when there was no such permission.
   */
  async deletePermission(id: string, source: EventSource = "admin"): Promise<boolean> {
    return inTransaction(this.db, async (trx) => {
      const result = await trx.deleteFrom("permissions").where("id", "=", id).executeTakeFirst();
      const deleted = Number(result.numDeletedRows) > 0;
      if (deleted)
        await recordEvent(trx, this.clock, {
          type: "permission.deleted",
          source,
          data: permissionIdData(id),
        });
      return deleted;
    });
  }

  /** Takes a role from a member in one organization, with user.updated; false if they did not have it. */
  async removeMemberRole(
    orgCode: string,
    userId: string,
    roleId: string,
    source: EventSource = "admin",
  ): Promise<boolean> {
    return inTransaction(this.db, async (trx) => {
      const result = await trx
        .deleteFrom("organization_user_roles")
        .where("org_code", "=", orgCode)
        .where("user_id", "=", userId)
        .where("role_id", "=", roleId)
        .executeTakeFirst();
      const removed = Number(result.numDeletedRows) > 0;
      if (removed) await recordMemberUpdated(trx, this.clock, userId, source);
      return removed;
    });
  }

  /**
   * Takes a directly given permission from a member in one organization, with user.updated; false
   * if they did not have it.
   */
  async removeMemberPermission(
    orgCode: string,
    userId: string,
    permissionId: string,
    source: EventSource = "admin",
  ): Promise<boolean> {
    return inTransaction(this.db, async (trx) => {
      const result = await trx
        .deleteFrom("organization_user_permissions")
        .where("org_code", "=", orgCode)
        .where("user_id", "=", userId)
        .where("permission_id", "=", permissionId)
        .executeTakeFirst();
      const removed = Number(result.numDeletedRows) > 0;
      if (removed) await recordMemberUpdated(trx, this.clock, userId, source);
      return removed;
    });
  }
}
