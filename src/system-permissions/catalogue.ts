// Kinde's system permissions: what an organization's members may do in the organization's
// self-service portal (Kinde docs, "Enable self-serve portal for orgs" › "Portal access control with
// system permissions"; the Management API's /api/v1/system_permissions). A role carries them
// (role_system_permissions, migration 0041); a member holds them through the roles they hold in that
// organization, and /account/organizations/{org_code} (src/account/organization*.ts) shows or
// refuses each section by them.
//
// Keys: `org:read:billing` / `org:write:billing` (the specification's example) and
// `org:write:members` are Kinde's, as its documentation names them. `org:read:members` and
// `org:write:details` follow Kinde's `org:<read|write>:<area>` pattern for the portal's Members and
// Details sections; Kinde's public documentation does not spell them out.
//
// Billing: Latchkey has no billing, so the two billing permissions are listed (a role exported from
// Kinde keeps them, and GET answers what Kinde answers) but grant nothing here; their descriptions
// say so rather than claim an effect that does not exist.
import { createHash } from "node:crypto";

export type SystemPermissionKey =
  | "org:read:billing"
  | "org:write:billing"
  | "org:read:members"
  | "org:write:members"
  | "org:write:details";

export interface SystemPermission {
  id: string;
  key: SystemPermissionKey;
  name: string;
  description: string;
}

/**
 * `perm_` + 32 hex of SHA-256 over the key: the same on every installation, so an id one Latchkey
 * answered names the same permission on another (and the migration seeds exactly these).
 */
export function systemPermissionId(key: string): string {
  return `perm_${createHash("sha256").update(`latchkey-system-permission:${key}`).digest("hex").slice(0, 32)}`;
}

const entry = (key: SystemPermissionKey, name: string, description: string): SystemPermission => ({
  id: systemPermissionId(key),
  key,
  name,
  description,
});

export const SYSTEM_PERMISSIONS: readonly SystemPermission[] = [
  entry(
    "org:read:billing",
    "Read billing details",
    "Kinde's billing permission; Latchkey has no billing, so it grants nothing here",
  ),
  entry(
    "org:write:billing",
    "Update billing details",
    "Kinde's billing permission; Latchkey has no billing, so it grants nothing here",
  ),
  entry("org:read:members", "Read members", "See the organization's members in the self-service portal"),
  entry(
    "org:write:members",
    "Manage members",
    "Invite people to the organization and remove its members in the self-service portal",
  ),
  entry(
    "org:write:details",
    "Update organization details",
    "Change the organization's name in the self-service portal",
  ),
];

export const SYSTEM_PERMISSION_ID = /^perm_[0-9a-f]{32}$/;
