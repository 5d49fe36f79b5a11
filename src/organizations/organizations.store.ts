import type { Selectable } from "kysely";
import type { Db } from "../storage/database.js";
import type { OrganizationsTable } from "../storage/schema.js";
import type { User } from "../users/users.store.js";

export type OrganizationRow = Selectable<OrganizationsTable>;

/** A member as the organization lists them: the user, when they joined, their role keys. */
export interface MemberRow {
  user: User;
  joinedAt: number;
  lastAccessedAt: number | null;
}

export class OrganizationsStore {
  constructor(private readonly db: Db) {}

  find(code: string): Promise<OrganizationRow | undefined> {
    return this.db.selectFrom("organizations").selectAll().where("code", "=", code).executeTakeFirst();
  }

  findDefault(): Promise<OrganizationRow | undefined> {
    return this.db.selectFrom("organizations").selectAll().where("is_default", "=", 1).executeTakeFirst();
  }

  /** Every organization (sorted and paged by the caller, alike on both dialects). */
  all(): Promise<OrganizationRow[]> {
    return this.db.selectFrom("organizations").selectAll().execute();
  }

  isMember(orgCode: string, userId: string): Promise<boolean> {
    return this.db
      .selectFrom("organization_users")
      .select("user_id")
      .where("org_code", "=", orgCode)
      .where("user_id", "=", userId)
      .executeTakeFirst()
      .then((row) => row !== undefined);
  }

  /** The organizations a user belongs to, oldest membership first. */
  async ofUser(
    userId: string,
  ): Promise<{ code: string; name: string; lastAccessedAt: number | null; suspended: boolean }[]> {
    const rows = await this.db
      .selectFrom("organization_users")
      .innerJoin("organizations", "organizations.code", "organization_users.org_code")
      .select([
        "organizations.code",
        "organizations.name",
        "organizations.is_suspended",
        "organization_users.joined_at",
        "organization_users.last_accessed_at",
      ])
      .where("organization_users.user_id", "=", userId)
      .orderBy("organization_users.joined_at")
      .orderBy("organizations.code")
      .execute();
    return rows.map((r) => ({
      code: r.code,
      name: r.name,
      lastAccessedAt: r.last_accessed_at,
      suspended: r.is_suspended === 1,
    }));
  }

  /** The members, one page in user id order. */
  async members(
    orgCode: string,
    options: { limit: number; afterUserId?: string; userIds?: readonly string[] },
  ): Promise<MemberRow[]> {
    let query = this.db
      .selectFrom("organization_users")
      .innerJoin("users", "users.id", "organization_users.user_id")
      .selectAll("users")
      .select(["organization_users.joined_at", "organization_users.last_accessed_at"])
      .where("organization_users.org_code", "=", orgCode);
    if (options.afterUserId) query = query.where("users.id", ">", options.afterUserId);
    if (options.userIds) {
      if (options.userIds.length === 0) return [];
      query = query.where("users.id", "in", options.userIds);
    }
    const rows = await query.orderBy("users.id").limit(options.limit).execute();
    return rows.map(({ joined_at, last_accessed_at, ...user }) => ({
      user: user as User,
      joinedAt: joined_at,
      lastAccessedAt: last_accessed_at,
    }));
  }

  async touchMembership(orgCode: string, userId: string, now: number): Promise<void> {
    await this.db
      .updateTable("organization_users")
      .set({ last_accessed_at: now })
      .where("org_code", "=", orgCode)
      .where("user_id", "=", userId)
      .execute();
  }
}
