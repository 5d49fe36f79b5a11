// The `data` of each event, in the shapes of Kinde's `@kinde/webhooks` types. Built inside the
// transaction that makes the change, so the event describes the state that committed with it.
import { OrganizationsStore } from "../organizations/organizations.store.js";
import { RolesStore } from "../roles/roles.store.js";
import type { Db } from "../storage/database.js";
import type { User } from "../users/users.store.js";

/** user.created / user.updated: the user with their organizations, roles and permissions. */
export async function userData(db: Db, user: User): Promise<Record<string, unknown>> {
  const roles = new RolesStore(db);
  const organizations = [];
  for (const membership of await new OrganizationsStore(db).ofUser(user.id)) {
    const [memberRoles, memberPermissions] = await Promise.all([
      roles.memberRoles(membership.code, user.id),
      roles.memberPermissions(membership.code, user.id),
    ]);
    organizations.push({
      code: membership.code,
      roles: memberRoles.map((r) => r.key),
      permissions: memberPermissions.map(({ permission }) => ({ id: permission.id, key: permission.key })),
    });
  }
  return {
    user: {
      id: user.id,
      email: user.email,
      first_name: user.given_name,
      last_name: user.family_name,
      username: user.username,
      // Latchkey stores no phone numbers yet.
      phone: null,
      is_suspended: user.is_suspended === 1,
      is_password_reset_requested: user.password_change_required === 1,
      organizations,
    },
  };
}

/** user.deleted, user.authenticated, user.authentication_failed: the id alone. */
export function userIdData(userId: string): Record<string, unknown> {
  return { user: { id: userId } };
}
