// The admin dashboard is an ordinary front-end (SPA) application of Latchkey: it signs in with the
// authorization code flow and PKCE (RFC 7636) and calls the Management API with the administrator's
// token, so it needs no private back door. Which application it is, is stored (business row,
// migration 0015) when bootstrap registers it, never inferred from its callback URL: that URL is
// derived from ISSUER_URL, and another application could register the one a future ISSUER_URL
// would give, then be taken for the dashboard — with every Management API scope — once the
// operator changed it.
import { redirectUrlProblem } from "../applications/urls.js";
import { configCacheFor } from "../oauth/config-cache.js";
import type { Services } from "../services.js";
import type { Db } from "../storage/database.js";
import type { ApplicationUrlKind } from "../storage/schema.js";

export const DASHBOARD_APPLICATION_NAME = "Latchkey dashboard";

export function dashboardUrls(issuer: string): { callback: string; logout: string } {
  return { callback: `${issuer}/admin/callback`, logout: `${issuer}/admin/` };
}

/** Whether the dashboard can sign in under this issuer: http off localhost carries no callback (RFC 9700 §2.6). */
function canSignIn(issuer: string): boolean {
  const urls = dashboardUrls(issuer);
  return !redirectUrlProblem(urls.callback) && !redirectUrlProblem(urls.logout);
}

/**
 * The dashboard's client ID, or undefined when there is none or it cannot sign in under this
 * issuer. Read per Management API call made with a user's token (storedDashboardClientId).
 */
export async function findDashboardClientId(db: Db, issuer: string): Promise<string | undefined> {
  if (!canSignIn(issuer)) return undefined;
  return storedDashboardClientId(db);
}

/**
 * The application bootstrap registered as the dashboard, whether or not ISSUER_URL lets it sign in.
 * From the configuration cache (migration 0043 moves the generation when it changes): every sign-in
 * asks, twice. Inside a transaction, as the transaction sees it.
 */
export async function storedDashboardClientId(db: Db): Promise<string | undefined> {
  const read = async () =>
    (await db.selectFrom("business").select("dashboard_client_id").executeTakeFirst())?.dashboard_client_id ??
    undefined;
  return db.isTransaction ? read() : configCacheFor(db).memo("business:dashboard_client_id", read);
}

/**
 * Registers the dashboard once, keeps its URLs on ISSUER_URL and authorises it for the Management
 * API with every scope (at every start, inside bootstrap's transaction). A user's token only
 * carries the scopes it asks for, and auth.ts admits user tokens only for administrators, so this
 * grants nothing to anyone else who signs in. Returns undefined when ISSUER_URL cannot carry a
 * callback: the dashboard then explains that instead of signing in.
 */
export async function ensureDashboardApplication(
  services: Services,
  issuer: string,
  managementApiId: string,
): Promise<string | undefined> {
  const usable = canSignIn(issuer);
  const business = await services.db
    .selectFrom("business")
    .select(["id", "dashboard_client_id"])
    .executeTakeFirstOrThrow();
  let clientId = business.dashboard_client_id ?? undefined;
  if (!clientId) {
    if (!usable) return undefined;
    // Created with no URLs: Latchkey's own are set below, where no other application may go.
    const created = await services.applications.create({ type: "spa", name: DASHBOARD_APPLICATION_NAME });
    clientId = created.application.id;
    await services.db
      .updateTable("business")
      .set({ dashboard_client_id: clientId })
      .where("id", "=", business.id)
      .execute();
  }
  // Exactly the current issuer's URLs. Nothing else ever registers on the dashboard (the Management
  // API refuses every change to it), and a URL left on a former ISSUER_URL's origin would hand an
  // administrator's code to whoever holds that origin next.
  const urls = dashboardUrls(issuer);
  await keepUrls(services, clientId, "callback", usable ? [urls.callback] : []);
  await keepUrls(services, clientId, "logout", usable ? [urls.logout] : []);
  if (!usable) return undefined;
  await services.apis.authorizeApplication(managementApiId, clientId);
  await services.apis.grantScopes(managementApiId, clientId);
  return clientId;
}

/** Sets the dashboard's URLs of one kind, writing only when they differ (a write moves every instance's configuration cache). */
async function keepUrls(
  services: Services,
  clientId: string,
  kind: ApplicationUrlKind,
  wanted: readonly string[],
): Promise<void> {
  const store = services.applications.store;
  const current = await store.urls(clientId, kind);
  if (current.length === wanted.length && current.every((url) => wanted.includes(url))) return;
  await store.replaceUrls(clientId, kind, wanted, services.clock.now());
}
