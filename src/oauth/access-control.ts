// Kinde's role-based access to applications (PATCH /api/v1/applications/{id}
// is_access_control_enabled, and its access_roles): while it is on, only a person holding one of
// the application's access roles may sign in to it. Roles are held per organization, and what
// counts is the organization the sign-in enters — the one the tokens' org_code names, whose roles
// the tokens carry: a role held in organization A does not let its holder into the application as
// a member of B. Judged before any code is minted (issueAuthorizationCode, and the sign-in pages
// through organizationRefusal), at the device grant, and again at every refresh, so a role taken
// away later stops the refreshes (RFC 6749 §6 lets the server refuse: invalid_grant).
import type { ClientRecord, OAuthStore } from "./ports.js";

export const NO_ACCESS_ROLE =
  "Your account does not have a role that may use this application. Ask an administrator of your organization for access.";

/**
 * Why the user may not sign in to the client (NO_ACCESS_ROLE), or undefined when they may.
 * `orgCode`: the organization entered (null: none — nobody holds a role outside one); undefined
 * before it is known, when any of the user's organizations may still turn out to be the one.
 */
export async function accessRefusal(
  store: OAuthStore,
  client: Pick<ClientRecord, "id" | "accessControl"> | undefined,
  userId: string,
  orgCode: string | null | undefined,
): Promise<string | undefined> {
  if (!client?.accessControl) return undefined;
  return (await store.holdsAccessRole(client.id, userId, orgCode)) ? undefined : NO_ACCESS_ROLE;
}
