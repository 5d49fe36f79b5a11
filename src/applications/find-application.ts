// Looking up the application a Management API operation names, for the routes of every feature.
import type { FastifyRequest } from "fastify";
import { findDashboardClientId } from "../dashboard/dashboard-app.js";
import { managementAudience } from "../management/auth.js";
import { ApiError } from "../management/errors.js";
import type { ApplicationRow } from "./applications.store.js";

export async function findApplication(request: FastifyRequest, id: string): Promise<ApplicationRow> {
  const application = await request.services.applications.store.findById(id);
  if (!application) throw new ApiError("APPLICATION_NOT_FOUND");
  return application;
}

/** Throws DASHBOARD_APPLICATION_PROTECTED when the id is the admin dashboard's application. */
export async function refuseDashboardApplication(request: FastifyRequest, id: string): Promise<void> {
  if (id === (await findDashboardClientId(request.services.db, request.services.oauth.issuer)))
    throw new ApiError("DASHBOARD_APPLICATION_PROTECTED");
}

/**
 * An application that a Management API call may change. The admin dashboard's is Latchkey's own and
 * changes with no call, whoever makes it: a callback URL added to it would send an administrator's
 * code to another site, a longer token lifetime would stretch every administrator's session, a new
 * API grant would widen what the dashboard's tokens carry. Latchkey keeps it as ISSUER_URL says.
 */
export async function findChangeableApplication(
  request: FastifyRequest,
  id: string,
): Promise<ApplicationRow> {
  const application = await findApplication(request, id);
  await refuseDashboardApplication(request, application.id);
  return application;
}

/**
 * Whether the caller may learn this application's client secret. A secret carries all of its
 * application's power, so it goes only to a caller at least as strong: an administrator, or a
 * machine whose own token holds every Management API scope the application was granted. Without
 * this, read:applications would read the bootstrap application's secret and become everything.
 */
export async function mayLearnSecret(request: FastifyRequest, applicationId: string): Promise<boolean> {
  const caller = request.caller;
  if (!caller) return false;
  if (caller.userId !== undefined) return true;
  const granted = await request.services.apis.store.grantedScopes(applicationId, [
    managementAudience(request.services.oauth.issuer),
  ]);
  for (const scope of granted) if (!caller.scopes.has(scope)) return false;
  return true;
}
