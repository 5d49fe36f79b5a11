// Who may change which connection, for the Management API routes (issue 15's rules applied to
// sign-in connections). A connection enabled for an application decides who can sign in to it:
//   - the admin dashboard's application is how administrators sign in, so enabling, disabling or
//     changing a connection it offers is an administrator's explicit decision, never a machine
//     token's (a machine that could point it at a provider it controls would sign in as an admin);
//   - an application holding Management API scopes the caller lacks is stronger than the caller
//     (callerCovers), and a weaker machine cannot change how people sign in to it either.
import type { FastifyRequest } from "fastify";
import { callerCovers } from "../applications/find-application.js";
import { storedDashboardClientId } from "../dashboard/dashboard-app.js";
import { ApiError } from "../management/errors.js";
import { ConnectionError, type EnablementGuard } from "./connections.service.js";

/** Runs a service call, answering its refusals in the Management API's vocabulary. */
export async function answering<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ConnectionError) throw new ApiError(error.code, error.message);
    throw error;
  }
}

async function refuseApplication(
  request: FastifyRequest,
  applicationId: string,
  dashboard: string | undefined,
): Promise<void> {
  if (applicationId === dashboard) {
    if (request.caller?.userId === undefined)
      throw new ApiError(
        "DASHBOARD_APPLICATION_PROTECTED",
        "The admin dashboard's sign-in connections can be changed only by an administrator in the dashboard: " +
          "it is how administrators sign in",
      );
    return;
  }
  if (!(await callerCovers(request, applicationId)))
    throw new ApiError(
      "FORBIDDEN",
      "This application holds Management API scopes your token does not: only a caller holding them, " +
        "or an administrator, may change how people sign in to it",
    );
}

function requireScope(request: FastifyRequest, scope: string, why: string): void {
  const caller = request.caller;
  if (caller && !caller.scopes.has(scope))
    throw new ApiError("FORBIDDEN", `${why} needs ${scope}; the token does not grant it`);
}

/**
 * The guard for a write through the Management API. `enablementScopes`: changing the applications
 * through enabled_applications needs the scopes of the per-application operations too (otherwise
 * create:connections alone would reach what create:application_connections guards).
 * `changesConnection`: the write changes (or deletes) the connection itself, so every application
 * it is enabled for is affected, not only those added or removed.
 */
export function applicationGuard(
  request: FastifyRequest,
  { enablementScopes, changesConnection }: { enablementScopes: boolean; changesConnection: boolean },
): EnablementGuard {
  return async ({ enabledApplications, added, removed }, db) => {
    if (enablementScopes) {
      if (added.length > 0)
        requireScope(request, "create:application_connections", "Enabling a connection for an application");
      if (removed.length > 0)
        requireScope(request, "delete:application_connections", "Disabling a connection for an application");
    }
    const affected = new Set([...added, ...removed, ...(changesConnection ? enabledApplications : [])]);
    if (affected.size === 0) return;
    // The request's reads go through the write's transaction (callerCovers reads request.services).
    const scoped = Object.create(request, {
      services: { value: request.services.withDb(db) },
    }) as FastifyRequest;
    const dashboard = await storedDashboardClientId(db);
    for (const applicationId of affected) await refuseApplication(scoped, applicationId, dashboard);
  };
}
