// Looking up the application a Management API operation names, for the routes of every feature.
import type { FastifyRequest } from "fastify";
import { findDashboardClientId } from "../dashboard/dashboard-app.js";
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
