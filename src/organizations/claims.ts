// The organization part of a user's tokens (COMPAT.md §1.4), computed from the database at every
// issue and refresh — so a change shows on the next refresh, and `refresh_claims` has nothing to
// clear. Access token: org_code, permissions and roles in that organization, feature_flags. ID
// token: org_codes and organizations (every organization the user belongs to).
import type { Clock } from "../clock.js";
import { FeatureFlagsService, flagsClaim } from "../feature-flags/feature-flags.service.js";
import { binary, RolesStore } from "../roles/roles.store.js";
import type { Db } from "../storage/database.js";
import { OrganizationsStore } from "./organizations.store.js";

export interface UserClaims {
  access: Record<string, unknown>;
  id: Record<string, unknown>;
}

export async function userClaims(
  db: Db,
  clock: Clock,
  userId: string,
  orgCode: string | null,
): Promise<UserClaims> {
  const organizations = new OrganizationsStore(db);
  const roles = new RolesStore(db);
  const memberships = await organizations.ofUser(userId);
  // Only an organization the user still belongs to counts (leaving revokes its grants; this is
  // the second fence): otherwise the token names it but carries nothing from it.
  const member = orgCode !== null && memberships.some((m) => m.code === orgCode);
  const [permissions, memberRoles, flags] = await Promise.all([
    member ? roles.memberPermissions(orgCode, userId) : Promise.resolve([]),
    member ? roles.memberRoles(orgCode, userId) : Promise.resolve([]),
    new FeatureFlagsService(db, clock).resolve(userId, member ? orgCode : null),
  ]);
  const access: Record<string, unknown> = {
    permissions: permissions.map((p) => p.permission.key),
    roles: memberRoles
      .sort((a, b) => binary(a.key, b.key))
      .map((r) => ({ id: r.id, key: r.key, name: r.name })),
    feature_flags: flagsClaim(flags),
  };
  if (orgCode !== null) {
    access.org_code = orgCode;
    const name = memberships.find((m) => m.code === orgCode)?.name;
    if (name !== undefined) access.org_name = name;
  }
  return {
    access,
    id: {
      org_codes: memberships.map((m) => m.code),
      organizations: memberships.map((m) => ({ id: m.code, name: m.name })),
    },
  };
}

/** Why a user cannot sign into the organization they asked for. */
export type OrganizationRefusal = "not_member" | "suspended";

/**
 * The organization a user signs into: the one asked for (they must be a member), else the one
 * they last signed into, else the default one, else their first; null when they belong to none.
 */
export async function chooseOrganization(
  db: Db,
  clock: Clock,
  userId: string,
  requested: string | undefined,
): Promise<{ orgCode: string | null } | { refused: OrganizationRefusal }> {
  const store = new OrganizationsStore(db);
  const memberships = await store.ofUser(userId);
  let chosen: string | undefined;
  if (requested !== undefined) {
    if (!memberships.some((m) => m.code === requested)) return { refused: "not_member" };
    chosen = requested;
  } else {
    const last = [...memberships]
      .filter((m) => m.lastAccessedAt !== null)
      .sort((a, b) => b.lastAccessedAt! - a.lastAccessedAt!)[0];
    const fallback = await store.findDefault();
    chosen = last?.code ?? memberships.find((m) => m.code === fallback?.code)?.code ?? memberships[0]?.code;
  }
  if (chosen === undefined) return { orgCode: null };
  const org = await store.find(chosen);
  if (org?.is_suspended === 1) return { refused: "suspended" };
  await store.touchMembership(chosen, userId, clock.now());
  return { orgCode: chosen };
}
