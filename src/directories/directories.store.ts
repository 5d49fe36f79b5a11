// SQL of SCIM directories and what they provisioned (migration 0038). Tokens arrive here hashed.
import type { Insertable, Selectable } from "kysely";
import { ENTERPRISE_STRATEGIES } from "../connections/strategies.js";
import type { Db } from "../storage/database.js";
import type { ScimDirectoriesTable, ScimGroupsTable, ScimUsersTable } from "../storage/schema.js";

export type DirectoryRow = Selectable<ScimDirectoriesTable>;
export type ScimUserRow = Selectable<ScimUsersTable>;
export type ScimGroupRow = Selectable<ScimGroupsTable>;

export interface EnterpriseConnection {
  id: string;
  display_name: string;
}

export class DirectoriesStore {
  constructor(private readonly db: Db) {}

  // --- directories -------------------------------------------------------------------------

  async insert(row: Insertable<ScimDirectoriesTable>): Promise<void> {
    await this.db.insertInto("scim_directories").values(row).execute();
  }

  find(id: string): Promise<DirectoryRow | undefined> {
    return this.db.selectFrom("scim_directories").selectAll().where("id", "=", id).executeTakeFirst();
  }

  findByEndpoint(endpointId: string): Promise<DirectoryRow | undefined> {
    return this.db
      .selectFrom("scim_directories")
      .selectAll()
      .where("endpoint_id", "=", endpointId)
      .executeTakeFirst();
  }

  findByOrganization(orgCode: string): Promise<DirectoryRow | undefined> {
    return this.db
      .selectFrom("scim_directories")
      .selectAll()
      .where("org_code", "=", orgCode)
      .executeTakeFirst();
  }

  /** One page in creation order after `after`; `limit + 1` rows so the caller knows if more follow. */
  page(limit: number, after: DirectoryRow | undefined, orgCode?: string): Promise<DirectoryRow[]> {
    let query = this.db.selectFrom("scim_directories").selectAll();
    if (orgCode) query = query.where("org_code", "=", orgCode);
    if (after)
      query = query.where((eb) =>
        eb.or([
          eb("created_at", ">", after.created_at),
          eb.and([eb("created_at", "=", after.created_at), eb("id", ">", after.id)]),
        ]),
      );
    return query
      .orderBy("created_at")
      .orderBy("id")
      .limit(limit + 1)
      .execute();
  }

  async update(
    id: string,
    set: Partial<Pick<DirectoryRow, "name" | "assignable_role_keys" | "token_hash">>,
    now: number,
    ifTokenHash?: string,
  ): Promise<boolean> {
    let update = this.db
      .updateTable("scim_directories")
      .set({ ...set, updated_at: now })
      .where("id", "=", id);
    if (ifTokenHash !== undefined) update = update.where("token_hash", "=", ifTokenHash);
    const result = await update.executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom("scim_directories").where("id", "=", id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** A SCIM request arrived: the directory is in use (Kinde's Active) and was synced just now. */
  async recordSync(id: string, now: number): Promise<void> {
    await this.db
      .updateTable("scim_directories")
      .set({ status: "Active", last_sync_started_at: now, last_sync_completed_at: now })
      .where("id", "=", id)
      .execute();
  }

  /** The organization's enabled enterprise connections (the ones a directory's users sign in with). */
  enterpriseConnections(orgCode: string): Promise<EnterpriseConnection[]> {
    return this.db
      .selectFrom("organization_sign_in_connections")
      .innerJoin(
        "sign_in_connections",
        "sign_in_connections.id",
        "organization_sign_in_connections.connection_id",
      )
      .select(["sign_in_connections.id", "sign_in_connections.display_name"])
      .where("organization_sign_in_connections.org_code", "=", orgCode)
      .where("sign_in_connections.strategy", "in", [...ENTERPRISE_STRATEGIES])
      .orderBy("sign_in_connections.id")
      .execute();
  }

  async connectionNames(ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db
      .selectFrom("sign_in_connections")
      .select(["id", "display_name"])
      .where("id", "in", ids)
      .execute();
    return new Map(rows.map((r) => [r.id, r.display_name]));
  }

  // --- users -------------------------------------------------------------------------------

  async insertUser(row: Insertable<ScimUsersTable>): Promise<void> {
    await this.db.insertInto("scim_users").values(row).execute();
  }

  findUser(directoryId: string, userId: string): Promise<ScimUserRow | undefined> {
    return this.db
      .selectFrom("scim_users")
      .selectAll()
      .where("directory_id", "=", directoryId)
      .where("user_id", "=", userId)
      .executeTakeFirst();
  }

  findUserByName(directoryId: string, userNameKey: string): Promise<ScimUserRow | undefined> {
    return this.db
      .selectFrom("scim_users")
      .selectAll()
      .where("directory_id", "=", directoryId)
      .where("user_name_key", "=", userNameKey)
      .executeTakeFirst();
  }

  /** Users matching one equality (filter) or all, in creation order; and how many match in all. */
  async users(
    directoryId: string,
    where: { column: "user_name_key" | "external_id" | "user_id"; value: string } | undefined,
    offset: number,
    limit: number,
  ): Promise<{ rows: ScimUserRow[]; total: number }> {
    let query = this.db.selectFrom("scim_users").where("directory_id", "=", directoryId);
    if (where) query = query.where(where.column, "=", where.value);
    const counted = await query.select((eb) => eb.fn.countAll<number | string>().as("n")).executeTakeFirst();
    const rows =
      limit === 0
        ? []
        : await query
            .selectAll()
            .orderBy("created_at")
            .orderBy("user_id")
            .offset(offset)
            .limit(limit)
            .execute();
    return { rows, total: Number(counted?.n ?? 0) };
  }

  async updateUser(
    directoryId: string,
    userId: string,
    set: Partial<Pick<ScimUserRow, "user_name" | "user_name_key" | "external_id" | "active" | "resource">>,
    now: number,
  ): Promise<void> {
    await this.db
      .updateTable("scim_users")
      .set((eb) => ({ ...set, updated_at: now, version: eb("version", "+", 1) }))
      .where("directory_id", "=", directoryId)
      .where("user_id", "=", userId)
      .execute();
  }

  async deleteUser(directoryId: string, userId: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom("scim_users")
      .where("directory_id", "=", directoryId)
      .where("user_id", "=", userId)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  // --- groups ------------------------------------------------------------------------------

  async insertGroup(row: Insertable<ScimGroupsTable>): Promise<void> {
    await this.db.insertInto("scim_groups").values(row).execute();
  }

  findGroup(directoryId: string, id: string): Promise<ScimGroupRow | undefined> {
    return this.db
      .selectFrom("scim_groups")
      .selectAll()
      .where("directory_id", "=", directoryId)
      .where("id", "=", id)
      .executeTakeFirst();
  }

  findGroupByName(directoryId: string, key: string): Promise<ScimGroupRow | undefined> {
    return this.db
      .selectFrom("scim_groups")
      .selectAll()
      .where("directory_id", "=", directoryId)
      .where("display_name_key", "=", key)
      .executeTakeFirst();
  }

  async groups(
    directoryId: string,
    where: { column: "display_name_key" | "external_id" | "id"; value: string } | undefined,
    offset: number,
    limit: number,
  ): Promise<{ rows: ScimGroupRow[]; total: number }> {
    let query = this.db.selectFrom("scim_groups").where("directory_id", "=", directoryId);
    if (where) query = query.where(where.column, "=", where.value);
    const counted = await query.select((eb) => eb.fn.countAll<number | string>().as("n")).executeTakeFirst();
    const rows =
      limit === 0
        ? []
        : await query.selectAll().orderBy("created_at").orderBy("id").offset(offset).limit(limit).execute();
    return { rows, total: Number(counted?.n ?? 0) };
  }

  async updateGroup(
    id: string,
    set: Partial<Pick<ScimGroupRow, "display_name" | "display_name_key" | "external_id">>,
    now: number,
  ): Promise<void> {
    await this.db
      .updateTable("scim_groups")
      .set((eb) => ({ ...set, updated_at: now, version: eb("version", "+", 1) }))
      .where("id", "=", id)
      .execute();
  }

  async deleteGroup(id: string): Promise<void> {
    await this.db.deleteFrom("scim_groups").where("id", "=", id).execute();
  }

  /** Members of each group, by group id. */
  async members(groupIds: readonly string[]): Promise<Map<string, string[]>> {
    const found = new Map<string, string[]>(groupIds.map((id) => [id, []]));
    if (groupIds.length === 0) return found;
    const rows = await this.db
      .selectFrom("scim_group_members")
      .select(["group_id", "user_id"])
      .where("group_id", "in", groupIds)
      .orderBy("user_id")
      .execute();
    for (const row of rows) found.get(row.group_id)?.push(row.user_id);
    return found;
  }

  async addMembers(groupId: string, userIds: readonly string[]): Promise<void> {
    if (userIds.length === 0) return;
    await this.db
      .insertInto("scim_group_members")
      .values(userIds.map((user_id) => ({ group_id: groupId, user_id })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  async removeMembers(groupId: string, userIds?: readonly string[]): Promise<void> {
    let query = this.db.deleteFrom("scim_group_members").where("group_id", "=", groupId);
    if (userIds) {
      if (userIds.length === 0) return;
      query = query.where("user_id", "in", userIds);
    }
    await query.execute();
  }

  /** The directory's groups a user belongs to. */
  groupsOf(directoryId: string, userId: string): Promise<Pick<ScimGroupRow, "id" | "display_name">[]> {
    return this.db
      .selectFrom("scim_group_members")
      .innerJoin("scim_groups", "scim_groups.id", "scim_group_members.group_id")
      .select(["scim_groups.id", "scim_groups.display_name"])
      .where("scim_groups.directory_id", "=", directoryId)
      .where("scim_group_members.user_id", "=", userId)
      .orderBy("scim_groups.display_name")
      .execute();
  }

  /** Which of these user ids this directory provisioned. */
  async provisioned(directoryId: string, userIds: readonly string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const rows = await this.db
      .selectFrom("scim_users")
      .select("user_id")
      .where("directory_id", "=", directoryId)
      .where("user_id", "in", userIds)
      .execute();
    return new Set(rows.map((r) => r.user_id));
  }
}
