import type { Clock } from "../clock.js";
import { newId } from "../crypto/random.js";
import { type EventSource, recordEvent } from "../events/events.js";
import { organizationCodeData, organizationData } from "../events/payloads.js";
import { RateLimiter } from "../sign-in/rate-limit.js";
import { type Db, inTransaction } from "../storage/database.js";
import { uniqueViolation } from "../users/users.store.js";
import { recordMemberUpdated } from "./member-events.js";
import { type OrganizationRow, OrganizationsStore } from "./organizations.store.js";

/** Another organization already has this handle or external_id (both name one organization). */
export class OrganizationTakenError extends Error {
  constructor(readonly field: "handle" | "external_id") {
    super(`An organization with this ${field} already exists`);
    this.name = "OrganizationTakenError";
  }
}

/** A role or permission key (or a user id) that does not exist, named by what it is. */
export class UnknownReferenceError extends Error {
  constructor(
    readonly what: "user" | "role" | "permission",
    readonly value: string,
  ) {
    super(`Unknown ${what} ${value}`);
    this.name = "UnknownReferenceError";
  }
}

/** How many organizations one user may create for themselves (Kinde's is_create_org). */
export const USER_ORGANIZATION_LIMIT = { max: 10, windowSeconds: 86_400 } as const;

/** The user has created all the organizations USER_ORGANIZATION_LIMIT allows for now. */
export class OrganizationLimitError extends Error {
  constructor(readonly retryAfter: number) {
    super(`At most ${USER_ORGANIZATION_LIMIT.max} organizations can be created per user per day`);
    this.name = "OrganizationLimitError";
  }
}

export interface OrganizationFields {
  name?: string;
  handle?: string | null;
  external_id?: string | null;
  is_auto_membership_enabled?: boolean;
  is_allow_registrations?: boolean;
  is_suspended?: boolean;
  /** Kinde's is_enforce_mfa (stored as mfa_enforced). */
  is_enforce_mfa?: boolean;
  sender_name?: string | null;
  sender_email?: string | null;
  /** Colours and theme_code, merged into what is stored. */
  branding?: Record<string, string>;
}

/**
 * The field a unique violation on organizations names (a write that lost a race to checkFree), or
 * undefined when `error` is no unique violation.
 */
function takenField(error: unknown, fields: OrganizationFields): "handle" | "external_id" | undefined {
  if (!uniqueViolation(error)) return undefined;
  const { constraint, message } = error as { constraint?: unknown; message?: unknown };
  const text = `${typeof constraint === "string" ? constraint : ""} ${typeof message === "string" ? message : ""}`;
  if (/external_id/.test(text)) return "external_id";
  if (/handle/.test(text)) return "handle";
  return fields.handle ? "handle" : "external_id";
}

/** A member to add or change: roles and permissions by key. */
export interface MemberChange {
  id: string;
  roles?: readonly string[];
  permissions?: readonly string[];
}

export class OrganizationsService {
  readonly store: OrganizationsStore;
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {
    this.store = new OrganizationsStore(db);
  }

  private async checkFree(fields: OrganizationFields, except?: string): Promise<void> {
    for (const field of ["handle", "external_id"] as const) {
      const value = fields[field];
      if (!value) continue;
      const owner = await this.db
        .selectFrom("organizations")
        .select("code")
        .where(field, "=", value)
        .executeTakeFirst();
      if (owner && owner.code !== except) throw new OrganizationTakenError(field);
    }
  }

  /**
   * Creates an organization (never the default one) with its organization.created event; throws
   * OrganizationTakenError. `source`: who asked (operators' tools and tests by default).
   */
  async create(
    fields: OrganizationFields & { name: string },
    source: EventSource = "admin",
  ): Promise<OrganizationRow> {
    await this.checkFree(fields);
    const now = this.clock.now();
    const code = newId.organization();
    return inTransaction(this.db, async (trx) => {
      // ON CONFLICT DO NOTHING, not a caught violation: on PostgreSQL a failed statement would
      // poison this transaction (and the Idempotency-Key transaction around it).
      const result = await trx
        .insertInto("organizations")
        .values({
          code,
          name: fields.name,
          handle: fields.handle ?? null,
          external_id: fields.external_id ?? null,
          is_auto_membership_enabled: fields.is_auto_membership_enabled ? 1 : 0,
          is_allow_registrations: fields.is_allow_registrations ? 1 : 0,
          sender_name: fields.sender_name ?? null,
          sender_email: fields.sender_email ?? null,
          branding: JSON.stringify(fields.branding ?? {}),
          suspended_at: null,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0)
        throw new OrganizationTakenError(fields.handle ? "handle" : "external_id");
      const org = (await new OrganizationsStore(trx).find(code))!;
      await recordEvent(trx, this.clock, {
        type: "organization.created",
        source,
        data: organizationData(org),
      });
      return org;
    });
  }

  /**
   * Creates an organization for a user, who becomes its first member (Kinde's is_create_org): at
   * most USER_ORGANIZATION_LIMIT each, counted in the database; throws OrganizationLimitError.
   */
  async createForUser(userId: string, name: string): Promise<OrganizationRow> {
    const limit = await new RateLimiter(this.db, this.clock).consume(
      `create-org:user:${userId}`,
      USER_ORGANIZATION_LIMIT,
    );
    if (!limit.allowed) throw new OrganizationLimitError(limit.resetIn);
    // The organization, its first member and both events (organization.created, and user.updated
    // for the new membership) commit together; the user asked for it at sign-in.
    return inTransaction(this.db, async (trx) => {
      const service = new OrganizationsService(trx, this.clock);
      const created = await service.create({ name }, "user");
      await service.join(created.code, userId);
      await recordMemberUpdated(trx, this.clock, userId, "user");
      return created;
    });
  }

  /** Changes an organization and records organization.updated; throws OrganizationTakenError. */
  async update(
    org: OrganizationRow,
    fields: OrganizationFields,
    source: EventSource = "admin",
  ): Promise<void> {
    await this.checkFree(fields, org.code);
    const now = this.clock.now();
    const {
      branding,
      is_auto_membership_enabled,
      is_allow_registrations,
      is_suspended,
      is_enforce_mfa,
      ...text
    } = fields;
    const flag = (value: boolean | undefined) => (value === undefined ? undefined : value ? 1 : 0);
    try {
      await inTransaction(this.db, async (trx) => {
        await trx
          .updateTable("organizations")
          .set({
            ...text,
            is_auto_membership_enabled: flag(is_auto_membership_enabled),
            is_allow_registrations: flag(is_allow_registrations),
            mfa_enforced: flag(is_enforce_mfa),
            ...(is_suspended === undefined
              ? {}
              : { is_suspended: is_suspended ? 1 : 0, suspended_at: is_suspended ? now : null }),
            ...(branding ? { branding: JSON.stringify({ ...JSON.parse(org.branding), ...branding }) } : {}),
            updated_at: now,
          })
          .where("code", "=", org.code)
          .execute();
        // A suspended organization cannot be signed into: its live grants end now.
        if (is_suspended)
          await new OrganizationsService(trx, this.clock).revokeGrants(
            { orgCode: org.code },
            "organization suspended",
          );
        const updated = await new OrganizationsStore(trx).find(org.code);
        if (updated)
          await recordEvent(trx, this.clock, {
            type: "organization.updated",
            source,
            data: organizationData(updated),
          });
      });
    } catch (error) {
      // Lost a race to checkFree on a unique index: the same 409 (nothing more runs in the
      // transaction, which PostgreSQL has aborted).
      const field = takenField(error, fields);
      if (field) throw new OrganizationTakenError(field);
      throw error;
    }
  }

  /**
   * Deletes an organization, its memberships and overrides, and ends the grants signed into it;
   * organization.deleted with it. False when there was no such organization.
   */
  async delete(code: string, source: EventSource = "admin"): Promise<boolean> {
    return inTransaction(this.db, async (trx) => {
      const service = new OrganizationsService(trx, this.clock);
      await service.revokeGrants({ orgCode: code }, "organization deleted");
      const result = await trx.deleteFrom("organizations").where("code", "=", code).executeTakeFirst();
      const deleted = Number(result.numDeletedRows) > 0;
      if (deleted)
        await recordEvent(trx, this.clock, {
          type: "organization.deleted",
          source,
          data: organizationCodeData(code),
        });
      return deleted;
    });
  }

  /**
   * Ends the grants (refresh and access tokens) signed into an organization, for one member or
   * all, and burns their authorization codes not yet exchanged: a token must not keep (or get) an
   * organization's permissions once its holder has left it.
   */
  private async revokeGrants(target: { orgCode: string; userId?: string }, reason: string): Promise<void> {
    const now = this.clock.now();
    let codes = this.db
      .updateTable("authorization_codes")
      .set({ consumed_at: now })
      .where("org_code", "=", target.orgCode)
      .where("consumed_at", "is", null);
    if (target.userId) codes = codes.where("user_id", "=", target.userId);
    await codes.execute();
    let grants = this.db
      .selectFrom("grants")
      .select("id")
      .where("org_code", "=", target.orgCode)
      .where("revoked_at", "is", null);
    if (target.userId) grants = grants.where("user_id", "=", target.userId);
    const ids = (await grants.execute()).map((g) => g.id);
    if (ids.length === 0) return;
    await this.db
      .updateTable("grants")
      .set({ revoked_at: now, revoked_reason: reason })
      .where("id", "in", ids)
      .execute();
    // Recorded access tokens die with their grant (isAccessTokenRevoked joins on it).
  }

  /**
   * Adds users to an organization (members already there are left as they are, apart from the
   * roles and permissions given here), all or nothing: an unknown user, role or permission key
   * throws UnknownReferenceError before anything changes. New members get the default roles.
   * Returns the ids of users who were not members before. Each user whose membership, roles or
   * permissions changed gets one user.updated (with the state after every change).
   */
  async addMembers(
    orgCode: string,
    members: readonly MemberChange[],
    source: EventSource = "admin",
  ): Promise<string[]> {
    return inTransaction(this.db, async (trx) => {
      const service = new OrganizationsService(trx, this.clock);
      const resolved = await service.resolve(members);
      const added: string[] = [];
      const changed = new Set<string>();
      for (const member of resolved) {
        const joined = await service.join(orgCode, member.id);
        if (joined) added.push(member.id);
        const granted = await service.grant(orgCode, member.id, member.roleIds, member.permissionIds);
        if (joined || granted) changed.add(member.id);
      }
      for (const userId of changed) await recordMemberUpdated(trx, this.clock, userId, source);
      return added;
    });
  }

  /**
   * Kinde's PATCH of members: operation "delete" removes, otherwise the member is added if needed
   * and given the roles and permissions listed (existing ones stay). One user.updated per user
   * whose membership, roles or permissions changed.
   */
  async updateMembers(
    orgCode: string,
    members: readonly (MemberChange & { remove: boolean })[],
    source: EventSource = "admin",
  ): Promise<{ added: string[]; updated: string[]; removed: string[] }> {
    return inTransaction(this.db, async (trx) => {
      const service = new OrganizationsService(trx, this.clock);
      const resolved = await service.resolve(members);
      const outcome = { added: [] as string[], updated: [] as string[], removed: [] as string[] };
      const changed = new Set<string>();
      for (const [index, member] of resolved.entries()) {
        if (members[index]!.remove) {
          if (await service.leave(orgCode, member.id)) {
            outcome.removed.push(member.id);
            changed.add(member.id);
          }
          continue;
        }
        const joined = await service.join(orgCode, member.id);
        if (joined) outcome.added.push(member.id);
        else outcome.updated.push(member.id);
        const granted = await service.grant(orgCode, member.id, member.roleIds, member.permissionIds);
        if (joined || granted) changed.add(member.id);
      }
      for (const userId of changed) await recordMemberUpdated(trx, this.clock, userId, source);
      return outcome;
    });
  }

  /**
   * Removes a member (their roles and permissions in it go too), with user.updated; false if they
   * were not one.
   */
  async removeMember(orgCode: string, userId: string, source: EventSource = "admin"): Promise<boolean> {
    return inTransaction(this.db, async (trx) => {
      const removed = await new OrganizationsService(trx, this.clock).leave(orgCode, userId);
      if (removed) await recordMemberUpdated(trx, this.clock, userId, source);
      return removed;
    });
  }

  /** The removal itself (no event: callers record one per user); run inside a transaction. */
  private async leave(orgCode: string, userId: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom("organization_users")
      .where("org_code", "=", orgCode)
      .where("user_id", "=", userId)
      .executeTakeFirst();
    await this.revokeGrants({ orgCode, userId }, "removed from organization");
    return Number(result.numDeletedRows) > 0;
  }

  /** Makes the user a member with the default roles; false when they already were one. */
  async join(orgCode: string, userId: string): Promise<boolean> {
    const result = await this.db
      .insertInto("organization_users")
      .values({ org_code: orgCode, user_id: userId, joined_at: this.clock.now(), last_accessed_at: null })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0) return false;
    const defaults = await this.db
      .selectFrom("roles")
      .select("id")
      .where("is_default_role", "=", 1)
      .execute();
    await this.grant(
      orgCode,
      userId,
      defaults.map((r) => r.id),
      [],
    );
    return true;
  }

  /** New users join the default organization (as in Kinde), and any organization named. */
  async joinNewUser(userId: string, orgCode?: string): Promise<void> {
    const fallback = await this.store.findDefault();
    if (fallback) await this.join(fallback.code, userId);
    if (orgCode && orgCode !== fallback?.code) await this.join(orgCode, userId);
  }

  /**
   * Gives a member roles and permissions (those held already stay, once), recording nothing: the
   * caller records the user's event. True when any was new.
   */
  async grant(
    orgCode: string,
    userId: string,
    roleIds: readonly string[],
    permissionIds: readonly string[],
  ): Promise<boolean> {
    let inserted = 0;
    if (roleIds.length > 0) {
      const result = await this.db
        .insertInto("organization_user_roles")
        .values(roleIds.map((role_id) => ({ org_code: orgCode, user_id: userId, role_id })))
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      inserted += Number(result.numInsertedOrUpdatedRows ?? 0);
    }
    if (permissionIds.length > 0) {
      const result = await this.db
        .insertInto("organization_user_permissions")
        .values(permissionIds.map((permission_id) => ({ org_code: orgCode, user_id: userId, permission_id })))
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      inserted += Number(result.numInsertedOrUpdatedRows ?? 0);
    }
    return inserted > 0;
  }

  /**
   * grant through the Management API: the member's new roles and permissions and their
   * user.updated commit together (none when nothing was new). True when any was new.
   */
  async grantMember(
    orgCode: string,
    userId: string,
    roleIds: readonly string[],
    permissionIds: readonly string[],
    source: EventSource = "admin",
  ): Promise<boolean> {
    return inTransaction(this.db, async (trx) => {
      const granted = await new OrganizationsService(trx, this.clock).grant(
        orgCode,
        userId,
        roleIds,
        permissionIds,
      );
      if (granted) await recordMemberUpdated(trx, this.clock, userId, source);
      return granted;
    });
  }

  /** Checks every user id, role key and permission key; throws UnknownReferenceError. */
  private async resolve(
    members: readonly MemberChange[],
  ): Promise<{ id: string; roleIds: string[]; permissionIds: string[] }[]> {
    const ids = [...new Set(members.map((m) => m.id))];
    const users = ids.length
      ? await this.db.selectFrom("users").select("id").where("id", "in", ids).execute()
      : [];
    const knownUsers = new Set(users.map((u) => u.id));
    const missingUser = ids.find((id) => !knownUsers.has(id));
    if (missingUser !== undefined) throw new UnknownReferenceError("user", missingUser);
    const roleKeys = [...new Set(members.flatMap((m) => m.roles ?? []))];
    const permissionKeys = [...new Set(members.flatMap((m) => m.permissions ?? []))];
    const roles = roleKeys.length
      ? await this.db.selectFrom("roles").select(["id", "key"]).where("key", "in", roleKeys).execute()
      : [];
    const permissions = permissionKeys.length
      ? await this.db
          .selectFrom("permissions")
          .select(["id", "key"])
          .where("key", "in", permissionKeys)
          .execute()
      : [];
    const roleId = new Map(roles.map((r) => [r.key, r.id]));
    const permissionId = new Map(permissions.map((p) => [p.key, p.id]));
    const missingRole = roleKeys.find((k) => !roleId.has(k));
    if (missingRole !== undefined) throw new UnknownReferenceError("role", missingRole);
    const missingPermission = permissionKeys.find((k) => !permissionId.has(k));
    if (missingPermission !== undefined) throw new UnknownReferenceError("permission", missingPermission);
    return members.map((m) => ({
      id: m.id,
      roleIds: (m.roles ?? []).map((k) => roleId.get(k)!),
      permissionIds: (m.permissions ?? []).map((k) => permissionId.get(k)!),
    }));
  }
}
