// Looking up the application a Management API operation names, for the routes of every feature,
// and the rules on which applications a caller may change or learn the secret of.
import type { FastifyRequest } from "fastify";
import { storedDashboardClientId } from "../dashboard/dashboard-app.js";
import { managementAudience } from "../management/auth.js";
import { ApiError } from "../management/errors.js";
import { isFirstPartyApplication } from "../sign-in/first-party-sign-in.js";
import type { ApplicationRow } from "./applications.store.js";

export async function findApplication(request: FastifyRequest, id: string): Promise<ApplicationRow> {
  const application = await request.services.applications.store.findById(id);
  if (!application) throw new ApiError("APPLICATION_NOT_FOUND");
  return application;
}

/**
 * Refuses a change to an application the caller may not change: the admin dashboard's (Latchkey's
 * own, whoever calls: a callback URL added to it would send an administrator's code to another site,
 * a longer token lifetime would stretch every administrator's session, a new API grant would widen
 * what the dashboard's tokens carry), and one stronger than the caller (callerCovers).
 */
export async function refuseProtectedApplication(request: FastifyRequest, id: string): Promise<void> {
  // The stored id, even while ISSUER_URL cannot carry the dashboard's callback: it still holds
  // every Management API grant.
  if (id === (await storedDashboardClientId(request.services.db)))
    throw new ApiError("DASHBOARD_APPLICATION_PROTECTED");
  if (await isFirstPartyApplication(request.services, id))
    throw new ApiError(
      "FORBIDDEN",
      "This is one of Latchkey's own applications (account pages, device sign-in, invitation links): it is not changed through the Management API",
    );
  if (!(await callerCovers(request, id)))
    throw new ApiError(
      "FORBIDDEN",
      "This application holds Management API scopes your token does not: only a caller holding them, or an administrator, may change it",
    );
}

/** An application that a Management API call may change (refuseProtectedApplication). */
export async function findChangeableApplication(
  request: FastifyRequest,
  id: string,
): Promise<ApplicationRow> {
  const application = await findApplication(request, id);
  await refuseProtectedApplication(request, application.id);
  return application;
}

/**
 * Whether the caller is at least as strong as the application: an administrator, or a machine whose
 * token still holds every Management API scope the application was granted. Only such a caller may
 * learn its secret (which carries all of its power: read:applications would otherwise read the
 * bootstrap application's secret and become everything) or change it (delete it, strip its grants,
 * stretch its tokens, move its URLs).
 */
export async function callerCovers(request: FastifyRequest, applicationId: string): Promise<boolean> {
  const caller = request.caller;
  if (!caller) return false;
  if (caller.userId !== undefined) return true;
  const granted = await request.services.apis.store.grantedScopes(applicationId, [
    managementAudience(request.services.oauth.issuer),
  ]);
  for (const scope of granted) if (!caller.scopes.has(scope)) return false;
  return true;
}
