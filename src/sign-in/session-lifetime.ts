// How long a browser session may sign its person in silently, and whether its cookie outlives the
// browser (issue 19; Kinde's application authenticated_session_lifetime and the organization's
// PATCH /organizations/{org_code}/sessions).
//
// Precedence: the strictest wins. A session signs in silently to an application only while its
// age (since the person signed in, auth_time) is within every lifetime that applies: the
// environment's absolute session lifetime (SESSION_LIFETIME_SECONDS, the row's expiry), the
// application's authenticated_session_lifetime when set, and the organization's when the sign-in
// enters it (named by org_code, else the usual one: organizationToEnter) and its
// is_use_org_authenticated_session_lifetime is on; issueAuthorizationCode judges it again against the
// organization actually entered (security review M3). An older session
// makes the person sign in again (the sign-in page; login_required for prompt=none, OIDC Core
// §3.1.2.6) — like max_age, which the application can still send to ask for less. "Strictest" and
// not "organization over application" because either owner shortening a session is a security
// decision the other must not undo; neither can lengthen one past the environment's.
//
// Persistence is decided when the session starts: a sign-in into (entering) an organization whose SSO session
// policy override is on with sso_session_persistence_mode "non_persistent" gets a browser-session
// cookie (no Max-Age/Expires: gone when the browser closes); every other sign-in a persistent one.
import { configCacheFor } from "../oauth/config-cache.js";
import { usualOrganization } from "../organizations/claims.js";
import { OrganizationsStore } from "../organizations/organizations.store.js";
import type { Db } from "../storage/database.js";
import type { BrowserSession } from "./sessions.js";

export interface SessionRules {
  /** The oldest a session may be (seconds since auth_time) to sign in silently; none = the row's expiry. */
  maxAgeSeconds?: number;
  /** Whether the session cookie carries Max-Age (outlives the browser). */
  persistent: boolean;
}

/** The rules for a sign-in to `clientId`, into `orgCode` when the request names one. */
export async function sessionRules(
  db: Db,
  request: { clientId?: string; orgCode?: string | null },
): Promise<SessionRules> {
  // Every sign-in reads both, twice: from the configuration cache (migrations 0009 and 0043 move
  // the generation when either changes); inside a transaction, as the transaction sees them.
  const cached = <T>(key: string, read: () => Promise<T>) =>
    db.isTransaction ? read() : configCacheFor(db).memo(key, read);
  const { clientId, orgCode } = request;
  const [application, organization] = await Promise.all([
    clientId
      ? cached(`session-rules:application:${clientId}`, () =>
          db
            .selectFrom("applications")
            .select("authenticated_session_lifetime")
            .where("id", "=", clientId)
            .executeTakeFirst(),
        )
      : undefined,
    orgCode
      ? cached(`session-rules:organization:${orgCode}`, () =>
          db
            .selectFrom("organizations")
            .select([
              "sso_session_policy_enabled",
              "sso_session_persistence",
              "session_lifetime_enabled",
              "authenticated_session_lifetime",
            ])
            .where("code", "=", orgCode)
            .executeTakeFirst(),
        )
      : undefined,
  ]);
  const lifetimes: number[] = [];
  if (application?.authenticated_session_lifetime != null)
    lifetimes.push(application.authenticated_session_lifetime);
  if (organization?.session_lifetime_enabled === 1 && organization.authenticated_session_lifetime != null)
    lifetimes.push(organization.authenticated_session_lifetime);
  return {
    ...(lifetimes.length > 0 ? { maxAgeSeconds: Math.min(...lifetimes) } : {}),
    persistent: !(
      organization?.sso_session_policy_enabled === 1 &&
      organization.sso_session_persistence === "non_persistent"
    ),
  };
}

/**
 * The organization a sign-in without org_code will enter, read without entering it (security review
 * M3): chooseOrganization's choice (usualOrganization, src/organizations/claims.ts), so its rules
 * apply before the code is issued; issueAuthorizationCode judges the one actually entered again.
 */
export async function organizationToEnter(db: Db, userId: string): Promise<string | undefined> {
  const store = new OrganizationsStore(db);
  return usualOrganization(store, await store.ofUser(userId));
}

/** Whether `session` is young enough to sign in silently to this request's application and organization. */
export async function lifetimeAdmits(
  db: Db,
  now: number,
  session: BrowserSession,
  request: { clientId: string; orgCode?: string },
): Promise<boolean> {
  const orgCode = request.orgCode ?? (await organizationToEnter(db, session.userId));
  const { maxAgeSeconds } = await sessionRules(db, { clientId: request.clientId, orgCode });
  return maxAgeSeconds === undefined || now - session.authTime <= maxAgeSeconds;
}
