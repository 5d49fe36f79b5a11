// Kinde's Hasura mode (PATCH /api/v1/applications/{id}/tokens is_hasura_mapping_enabled; COMPAT.md
// "Hasura mode"): the application's tokens carry Kinde's own claims under x-hasura- names, the
// names Kinde's SDKs fall back to (@kinde/js-utils reads `permissions || x-hasura-permissions`,
// `org_code || x-hasura-org-code`, `org_codes || x-hasura-org-codes` …). Only these are renamed:
// the protocol's claims (sub, aud, scope …) keep theirs. Like Kinde's mapping, it adds none of
// Hasura's own session claims (x-hasura-default-role, x-hasura-allowed-roles, x-hasura-user-id):
// Kinde's Hasura guide adds those itself, with a token workflow.
import type { UserClaimSet } from "./ports.js";

/** Kinde's claim names and their Hasura-mode names (hyphens, but the property claims keep "_"). */
const HASURA_NAMES: Readonly<Record<string, string>> = {
  permissions: "x-hasura-permissions",
  org_code: "x-hasura-org-code",
  org_name: "x-hasura-org-name",
  roles: "x-hasura-roles",
  feature_flags: "x-hasura-feature-flags",
  user_properties: "x-hasura-user_properties",
  organization_properties: "x-hasura-organization_properties",
  org_codes: "x-hasura-org-codes",
  organizations: "x-hasura-organizations",
};

const renamed = (claims: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(claims).map(([name, value]) => [HASURA_NAMES[name] ?? name, value]));

/** The claims as the client's tokens carry them: renamed when its Hasura mode is on. */
export function claimsForClient(client: { hasuraMapping: boolean }, claims: UserClaimSet): UserClaimSet {
  if (!client.hasuraMapping) return claims;
  return { access: renamed(claims.access), id: renamed(claims.id) };
}
