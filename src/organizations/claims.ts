// The organization part of a user's tokens (COMPAT.md §1.4), computed from the database at every
// issue and refresh — so a change shows on the next refresh, and `refresh_claims` has nothing to
// clear. Access token: org_code, permissions and roles in that organization, feature_flags. ID
// token: org_codes and organizations (every organization the user belongs to). Both: the public
// user_properties, and organization_properties of the organization signed into.
import type { Clock } from "../clock.js";
import { type FeatureFlagRow, flagsClaim, resolveFlag } from "../feature-flags/feature-flags.service.js";
import type { PublicPropertyDefinition } from "../oauth/ports.js";
import { readUserClaimRows } from "../oauth/token-claims.store.js";
import { propertiesClaims } from "../properties/properties.store.js";
import { binary } from "../roles/roles.store.js";
import type { Db } from "../storage/database.js";
import { OrganizationsStore } from "./organizations.store.js";

export interface UserClaims {
  access: Record<string, unknown>;
  id: Record<string, unknown>;
}

/**
 * What the claims are made of, read in one statement (oauth/token-claims.store.ts) for the
 * organization asked for, with the public property definitions (configuration, cached apart);
 * `buildUserClaims` keeps what applies to the organization entered.
 */
export interface UserClaimRows {
  /** In joining order. */
  memberships: { code: string; name: string; is_suspended: number }[];
  permissions: { key: string }[];
  roles: { id: string; key: string; name: string }[];
  /** Ordered by key. */
  flags: (FeatureFlagRow & { org_value: string | null; user_value: string | null })[];
  /** Public user ("usr") and organization ("org") properties, ordered by key. */
  properties: { context: string; key: string; user_value: string | null; org_value: string | null }[];
}

export async function userClaims(
  db: Db,
  userId: string,
  orgCode: string | null,
  properties: Promise<readonly PublicPropertyDefinition[]>,
): Promise<UserClaims> {
  return buildUserClaims(await readUserClaimRows(db, userId, orgCode, properties), orgCode);
}

export function buildUserClaims(rows: UserClaimRows, orgCode: string | null): UserClaims {
  const memberships = rows.memberships.map((m) => ({
    code: m.code,
    name: m.name,
    suspended: m.is_suspended === 1,
  }));
  // Only an organization the user still belongs to, and which is not suspended, counts (leaving
  // or suspension revokes its grants; this is the second fence): otherwise the token carries
  // nothing from it, not even its org_code — which the code and refresh grants check before issuing.
  const entered = orgCode === null ? undefined : memberships.find((m) => m.code === orgCode && !m.suspended);
  const permissions = entered ? rows.permissions.map((p) => p.key).sort(binary) : [];
  const memberRoles = entered ? [...rows.roles] : [];
  const flags = rows.flags.map((row) => resolveFlag(row, entered ? entered.code : null));
  const properties = propertiesClaims(
    rows.properties.filter((p) => p.context === "usr" || (entered !== undefined && p.context === "org")),
  );
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
 * The organization a user enters when none is asked for: the open one they last signed into, else
 * the default one, else their first open one. Shared by chooseOrganization and the session rules'
 * prediction (src/sign-in/session-lifetime.ts) so the two cannot drift apart (security review M3).
 */
export async function usualOrganization(
  store: { findDefault(): Promise<{ code: string } | undefined> },
  memberships: readonly { code: string; lastAccessedAt: number | null; suspended: boolean }[],
): Promise<string | undefined> {
  // A suspended organization must not lock its members out of their other ones.
  const open = memberships.filter((m) => !m.suspended);
  // One (or no) organization open to them: it is the answer whichever is the default.
  if (open.length <= 1) return open[0]?.code;
  const last = open
    .filter((m) => m.lastAccessedAt !== null)
    .sort((a, b) => b.lastAccessedAt! - a.lastAccessedAt!)[0];
  if (last) return last.code;
  const fallback = await store.findDefault();
  return open.find((m) => m.code === fallback?.code)?.code ?? open[0]?.code;
}

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
  const choice = await organizationChoice(store, await store.ofUser(userId), requested);
  if ("orgCode" in choice && choice.orgCode !== null)
    await store.touchMembership(choice.orgCode, userId, clock.now());
  return choice;
}

/**
 * chooseOrganization's choice among `memberships`, without entering it: also made on the
 * memberships read with the account at a password sign-in (src/sign-in/sign-in-account.ts).
 */
export async function organizationChoice(
  store: { findDefault(): Promise<{ code: string } | undefined> },
  memberships: readonly { code: string; lastAccessedAt: number | null; suspended: boolean }[],
  requested: string | undefined,
): Promise<{ orgCode: string | null } | { refused: OrganizationRefusal }> {
  let chosen: string | undefined;
  if (requested !== undefined) {
    if (!memberships.some((m) => m.code === requested)) return { refused: "not_member" };
    chosen = requested;
  } else {
    chosen = await usualOrganization(store, memberships);
    if (chosen === undefined && memberships.length > 0) return { refused: "suspended" };
  }
  if (chosen === undefined) return { orgCode: null };
  if (memberships.find((m) => m.code === chosen)?.suspended) return { refused: "suspended" };
  return { orgCode: chosen };
}
