// Groups that are roles: a directory group whose displayName is exactly a role's key gives its
// members that role in the directory's organization, and takes it back when they leave the group
// (or the group goes, or is renamed). This is how an IdP's group assignments become Kinde roles
// without a mapping table; any other group is kept with its members and grants nothing.
// Only keys an administrator allowed for the directory (`assignable_role_keys`, none by default)
// count (security review M1): otherwise whoever holds the directory's token could name a group
// after any role — an administrative or application access role — and grant it to themselves.
import type { Clock } from "../clock.js";
import { recordMemberUpdated } from "../organizations/member-events.js";
import { OrganizationsService } from "../organizations/organizations.service.js";
import type { Db } from "../storage/database.js";
import { DirectoriesStore, type DirectoryRow } from "./directories.store.js";

/** The role keys a directory's groups may grant (migration 0042: a JSON array of strings). */
export function assignableRoleKeys(directory: Pick<DirectoryRow, "assignable_role_keys">): string[] {
  const keys: unknown = JSON.parse(directory.assignable_role_keys);
  return Array.isArray(keys) ? keys.filter((k): k is string => typeof k === "string") : [];
}

export class GroupRoles {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly directory: DirectoryRow,
  ) {}

  private async roleId(displayName: string): Promise<string | undefined> {
    if (!assignableRoleKeys(this.directory).includes(displayName)) return undefined;
    const role = await this.db
      .selectFrom("roles")
      .select("id")
      .where("key", "=", displayName)
      .executeTakeFirst();
    return role?.id;
  }

  /** Gives the group's role (if it names one) to these members of the organization. */
  async grant(displayName: string, userIds: readonly string[]): Promise<void> {
    const roleId = await this.roleId(displayName);
    if (!roleId || userIds.length === 0) return;
    const organizations = new OrganizationsService(this.db, this.clock);
    const members = await this.db
      .selectFrom("organization_users")
      .select("user_id")
      .where("org_code", "=", this.directory.org_code)
      .where("user_id", "in", userIds)
      .execute();
    for (const { user_id } of members)
      if (await organizations.grant(this.directory.org_code, user_id, [roleId], []))
        await recordMemberUpdated(this.db, this.clock, user_id, "api");
  }

  /** Takes the group's role (if it names one) back from these users. */
  async revoke(displayName: string, userIds: readonly string[]): Promise<void> {
    const roleId = await this.roleId(displayName);
    if (!roleId || userIds.length === 0) return;
    for (const userId of userIds) {
      const result = await this.db
        .deleteFrom("organization_user_roles")
        .where("org_code", "=", this.directory.org_code)
        .where("role_id", "=", roleId)
        .where("user_id", "=", userId)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) > 0) await recordMemberUpdated(this.db, this.clock, userId, "api");
    }
  }

  /** The user leaves every group of the directory, and the roles those groups gave. */
  async leaveAll(userId: string): Promise<void> {
    const store = new DirectoriesStore(this.db);
    for (const group of await store.groupsOf(this.directory.id, userId)) {
      await this.revoke(group.display_name, [userId]);
      await store.removeMembers(group.id, [userId]);
    }
  }
}
