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
import { t } from "../i18n/catalogue.js";
import { DEFAULT_LOCALE, type Locale } from "../i18n/locale.js";
import type { Services } from "../services.js";
import { UpstreamRefusal } from "./upstream-providers.js";

/** Whether `clientId` is the dashboard's application, whose sign-in makes no accounts. */
export function isDashboardClient(services: Services, clientId: string): Promise<boolean> {
  return services.oauth.store.isEnvironmentClient(clientId);
}

/** The 403 page /auth/sign-up answers for the dashboard, or undefined for any other application. */
export async function dashboardSignUpRefusal(
  services: Services,
  clientId: string,
  locale: Locale,
): Promise<string | undefined> {
  if (!(await isDashboardClient(services, clientId))) return undefined;
  return errorPage(
    t(locale, "dashboard.no_sign_up_title"),
    t(locale, "dashboard.only_admins", { who: t(locale, "dashboard.who_makes_admins") }),
    await services.business.name(),
    locale,
  );
}

/**
 * Thrown where a connection would create an account at its first sign-in, for the dashboard: the
 * person is told why, and nothing is stored.
 */
export async function refuseDashboardConnectionAccount(
  services: Services,
  clientId: string,
  locale: Locale = DEFAULT_LOCALE,
): Promise<void> {
  if (!(await isDashboardClient(services, clientId))) return;
  throw new UpstreamRefusal(
    403,
    t(locale, "dashboard.no_sign_up_title"),
    t(locale, "dashboard.no_account", { who: t(locale, "dashboard.who_makes_admins") }),
  );
}
