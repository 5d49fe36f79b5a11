// The organization part of a user's tokens (COMPAT.md §1.4), computed from the database at every
// issue and refresh — so a change shows on the next refresh, and `refresh_claims` has nothing to
// clear. Access token: org_code, permissions and roles in that organization, feature_flags. ID
// token: org_codes and organizations (every organization the user belongs to). Both: the public
// user_properties, and organization_properties of the organization signed into.
import type { Clock } from "../clock.js";
import { FeatureFlagsService, flagsClaim } from "../feature-flags/feature-flags.service.js";
import { PropertiesStore } from "../properties/properties.store.js";
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
  // Only an organization the user still belongs to, and which is not suspended, counts (leaving
  // or suspension revokes its grants; this is the second fence): otherwise the token carries
  // nothing from it, not even its org_code — which the code and refresh grants check before issuing.
  const entered = orgCode === null ? undefined : memberships.find((m) => m.code === orgCode && !m.suspended);
  const [permissions, memberRoles, flags, properties] = await Promise.all([
    entered ? roles.memberPermissionKeys(entered.code, userId) : Promise.resolve([]),
    entered ? roles.memberRoles(entered.code, userId) : Promise.resolve([]),
    new FeatureFlagsService(db, clock).resolve(userId, entered ? entered.code : null),
    new PropertiesStore(db).tokenClaims(userId, entered ? entered.code : null),
  ]);
  const access: Record<string, unknown> = {
    permissions,
    roles: memberRoles
      .sort((a, b) => binary(a.key, b.key))
      .map((r) => ({ id: r.id, key: r.key, name: r.name })),
    feature_flags: flagsClaim(flags),
    ...properties,
  };
  if (entered) {
    access.org_code = entered.code;
    access.org_name = entered.name;
  }
  return {
    access,
    id: {
      org_codes: memberships.map((m) => m.code),
      organizations: memberships.map((m) => ({ id: m.code, name: m.name })),
      ...properties,
    },
  };
}

/** Why a user cannot sign into the organization they asked for. */
export type OrganizationRefusal = "not_member" | "suspended";

/**
 * The organization a user signs into: the one asked for (they must be a member), else the one
 * they last signed into, else the default one, else their first — never a suspended one, which is
 * skipped; null when they belong to none, refused when every one they belong to is suspended.
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
    // A suspended organization must not lock its members out of their other ones.
    const open = memberships.filter((m) => !m.suspended);
    const last = open
      .filter((m) => m.lastAccessedAt !== null)
      .sort((a, b) => b.lastAccessedAt! - a.lastAccessedAt!)[0];
    const fallback = await store.findDefault();
    chosen = last?.code ?? open.find((m) => m.code === fallback?.code)?.code ?? open[0]?.code;
    if (chosen === undefined && memberships.length > 0) return { refused: "suspended" };
  }
  if (chosen === undefined) return { orgCode: null };
  if (memberships.find((m) => m.code === chosen)?.suspended) return { refused: "suspended" };
  await store.touchMembership(chosen, userId, clock.now());
  return { orgCode: chosen };
}
