// The admin dashboard is an ordinary front-end (SPA) application of Latchkey: it signs in with the
// authorization code flow and PKCE (RFC 7636) and calls the Management API with the administrator's
// token, so it needs no private back door. It is recognised by its callback URL, which is derived
// from ISSUER_URL, so renaming it in the dashboard does not lose it.
import { redirectUrlProblem } from "../applications/urls.js";
import type { Services } from "../services.js";
import type { Db } from "../storage/database.js";

export const DASHBOARD_APPLICATION_NAME = "Latchkey dashboard";

export function dashboardUrls(issuer: string): { callback: string; logout: string } {
  return { callback: `${issuer}/admin/callback`, logout: `${issuer}/admin/` };
}

/** The dashboard's client ID: the front-end application registered with its callback URL. */
export async function findDashboardClientId(db: Db, issuer: string): Promise<string | undefined> {
  const row = await db
    .selectFrom("applications")
    .innerJoin("application_urls", "application_urls.application_id", "applications.id")
    .select("applications.id")
    .where("applications.type", "=", "spa")
    .where("application_urls.kind", "=", "callback")
    .where("application_urls.url", "=", dashboardUrls(issuer).callback)
    .orderBy("applications.created_at")
    .orderBy("applications.id")
    .executeTakeFirst();
  return row?.id;
}

/**
 * Registers the dashboard (idempotent) and authorises it for the Management API with every scope.
 * A user's token only carries the scopes it asks for, and auth.ts admits user tokens only for
 * administrators, so this grants nothing to anyone else who signs in. Returns undefined when
 * ISSUER_URL cannot carry a callback (http on a host other than localhost, RFC 9700 §2.6): the
 * dashboard then explains that instead of signing in.
 */
export async function ensureDashboardApplication(
  services: Services,
  issuer: string,
  managementApiId: string,
): Promise<string | undefined> {
  const urls = dashboardUrls(issuer);
  if (redirectUrlProblem(urls.callback) || redirectUrlProblem(urls.logout)) return undefined;
  let clientId = await findDashboardClientId(services.db, issuer);
  if (!clientId) {
    const created = await services.applications.create({
      type: "spa",
      name: DASHBOARD_APPLICATION_NAME,
      callbackUrls: [urls.callback],
      logoutUrls: [urls.logout],
    });
    clientId = created.application.id;
  } else {
    const logout = await services.applications.store.urls(clientId, "logout");
    if (!logout.includes(urls.logout)) await services.applications.addUrls(clientId, "logout", [urls.logout]);
  }
  await services.apis.authorizeApplication(managementApiId, clientId);
  await services.apis.grantScopes(managementApiId, clientId);
  return clientId;
}
