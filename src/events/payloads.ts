// The `data` of each event, in the shapes of Kinde's `@kinde/webhooks` types. Built inside the
// transaction that makes the change, so the event describes the state that committed with it.
import { type OrganizationRow, OrganizationsStore } from "../organizations/organizations.store.js";
import { type PermissionRow, type RoleRow, RolesStore } from "../roles/roles.store.js";
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

/** organization.created / organization.updated: the organization as it now is. */
export function organizationData(org: OrganizationRow): Record<string, unknown> {
  return {
    organization: {
      code: org.code,
      name: org.name,
      handle: org.handle,
      external_id: org.external_id,
      is_allow_registrations: org.is_allow_registrations === 1,
    },
  };
}

/** organization.deleted: the code alone (the row is gone). */
export function organizationCodeData(code: string): Record<string, unknown> {
  return { organization: { code } };
}

/** role.created / role.updated. */
export function roleData(role: RoleRow): Record<string, unknown> {
  return {
    role: {
      id: role.id,
      key: role.key,
      name: role.name,
      description: role.description,
      is_default_role: role.is_default_role === 1,
    },
  };
}

/** role.deleted: the id alone. */
export function roleIdData(roleId: string): Record<string, unknown> {
  return { role: { id: roleId } };
}

/** permission.created / permission.updated. */
export function permissionData(permission: PermissionRow): Record<string, unknown> {
  return {
    permission: {
      id: permission.id,
      key: permission.key,
      name: permission.name,
      description: permission.description,
    },
  };
}

/** permission.deleted: the id alone. */
export function permissionIdData(permissionId: string): Record<string, unknown> {
  return { permission: { id: permissionId } };
}
