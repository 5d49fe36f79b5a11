import type { Selectable, SelectQueryBuilder } from "kysely";
import {
  type Count,
  cappedCount,
  FILTERED_COUNT_CAP,
  isPostgres,
  lowerStartsWith,
  tableCount,
} from "../management/listing.js";
import type { TimeCursor } from "../management/schemas.js";
import type { Db } from "../storage/database.js";
import type { OrganizationsTable, Schema } from "../storage/schema.js";
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

  /** Organizations whose name starts with a normalized `prefix` (0035's lower(name) index), or all. */
  matching(prefix: string | undefined): Promise<OrganizationRow[]> {
    return this.named(this.db.selectFrom("organizations").selectAll(), prefix).execute();
  }

  /** Newest first by a keyset on (created_at, code): the organizations_created index of 0035. */
  newestPage(options: { limit: number; after?: TimeCursor; prefix?: string }): Promise<OrganizationRow[]> {
    let q = this.named(this.db.selectFrom("organizations").selectAll(), options.prefix);
    const after = options.after;
    if (after) q = q.where((eb) => eb(eb.refTuple("created_at", "code"), "<", eb.tuple(after.at, after.id)));
    return q.orderBy("created_at", "desc").orderBy("code", "desc").limit(options.limit).execute();
  }

  /** How many organizations there are, or how many names start with `prefix` (listing.ts). */
  count(prefix: string | undefined): Promise<Count> {
    if (prefix === undefined) return tableCount(this.db, "organizations");
    return cappedCount(
      this.named(this.db.selectFrom("organizations").select("code"), prefix).limit(FILTERED_COUNT_CAP + 1),
    );
  }

  private named<O>(
    query: SelectQueryBuilder<Schema, "organizations", O>,
    prefix: string | undefined,
  ): SelectQueryBuilder<Schema, "organizations", O> {
    if (prefix === undefined) return query;
    const postgres = isPostgres(this.db);
    return query.where((eb) => lowerStartsWith(postgres, eb, "organizations.name", prefix));
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
    await this.membershipTouched(orgCode, userId, now).execute();
  }

  /** touchMembership's UPDATE, for a caller that embeds it in a statement of its own. */
  membershipTouched(orgCode: string, userId: string, now: number) {
    return this.db
      .updateTable("organization_users")
      .set({ last_accessed_at: now })
      .where("org_code", "=", orgCode)
      .where("user_id", "=", userId);
  }
}
