// The admin dashboard's own sign-in takes no sign-ups (issue 20). Only administrators use the
// dashboard, and an administrator's account is made by someone who runs Latchkey (bootstrap,
// `latchkey admins create`, or an existing account promoted with `latchkey admins grant`). An
// account made through the dashboard's sign-in could do nothing there — it is no administrator —
// yet it would exist, so the dashboard's hosted pages would be an open sign-up for a business that
// may want none. Every way an account is born at sign-in is closed for it:
// - the sign-in page offers no "Create one" link (FormContext.noSignUp);
// - /auth/sign-up, shown or posted, answers 403 with this page instead of the form;
// - a connection's just-in-time account (connection-accounts.ts) is refused with a page;
// - prompt=create (and start_page=registration, is_create_org) is refused by the authorization
//   endpoint itself (oauth/authorize.ts), before any page.
// Which application is the dashboard is what bootstrap stored (dashboard/dashboard-app.ts), never
// guessed from a URL or a name.
import { errorPage } from "../http/html.js";
import type { Services } from "../services.js";
import { UpstreamRefusal } from "./upstream-providers.js";

const TITLE = "The dashboard takes no sign-ups";

const WHO_MAKES_ADMINISTRATORS =
  "Whoever runs this Latchkey server can make you an administrator: “latchkey admins create”, or “latchkey admins grant --email <address>” for an account you already have.";

/** Whether `clientId` is the dashboard's application, whose sign-in makes no accounts. */
export function isDashboardClient(services: Services, clientId: string): Promise<boolean> {
  return services.oauth.store.isEnvironmentClient(clientId);
}

/** The 403 page /auth/sign-up answers for the dashboard, or undefined for any other application. */
export async function dashboardSignUpRefusal(
  services: Services,
  clientId: string,
): Promise<string | undefined> {
  if (!(await isDashboardClient(services, clientId))) return undefined;
  return errorPage(
    TITLE,
    `Only administrators sign in to the dashboard, with an account they have already. ${WHO_MAKES_ADMINISTRATORS}`,
    await services.business.name(),
  );
}

/**
 * Thrown where a connection would create an account at its first sign-in, for the dashboard: the
 * person is told why, and nothing is stored.
 */
export async function refuseDashboardConnectionAccount(services: Services, clientId: string): Promise<void> {
  if (!(await isDashboardClient(services, clientId))) return;
  throw new UpstreamRefusal(
    403,
    TITLE,
    `There is no account for you here, and signing in to the dashboard creates none. ${WHO_MAKES_ADMINISTRATORS}`,
  );
}
