// Who may change which connection, for the Management API routes (issue 15's rules applied to
// sign-in connections). A connection enabled for an application decides who can sign in to it:
//   - the admin dashboard's application is how administrators sign in, so enabling, disabling or
//     changing a connection it offers is an administrator's explicit decision, never a machine
//     token's (a machine that could point it at a provider it controls would sign in as an admin);
//   - an application holding Management API scopes the caller lacks is stronger than the caller
//     (callerCovers), and a weaker machine cannot change how people sign in to it either;
//   - a trusted connection's verified addresses sign in to the existing (non-administrator)
//     accounts that have them, and a connection's provider signs in as the accounts linked through
//     it, whatever application it is enabled for: making a connection trusted, or re-pointing a
//     trusted or linked one, is an administrator's decision too.
import type { FastifyRequest } from "fastify";
import { callerCovers } from "../applications/find-application.js";
import { storedDashboardClientId } from "../dashboard/dashboard-app.js";
import { requireScope } from "../management/auth.js";
import { ApiError } from "../management/errors.js";
import type { Db } from "../storage/database.js";
import {
  ConnectionError,
  type EnablementEffect,
  type EnablementGuard,
  hasLinkedIdentities,
} from "./connections.service.js";
import { changedOptions, IDENTITY_SOURCE_OPTIONS } from "./strategies.js";

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

/**
 * Who vouches for an address, and so who may sign in as an existing account, is an administrator's
 * decision: a machine (any token without a user; only the dashboard calls with an administrator's)
 * may not make a connection trusted, nor change where a connection points or how it reads the
 * address (IDENTITY_SOURCE_OPTIONS) while it is trusted or has accounts linked through it. With a
 * provider it controls, either would let that provider sign in as any account holding a verified
 * address it names, or as any linked account by naming its `sub` (OIDC Core §2: a `sub` means
 * something only at its issuer) — connection scopes would amount to every user's account. Writing
 * the settings back unchanged (a PUT of what GET read), and making a connection untrusted, stay open.
 */
async function refuseMachineVouching(
  request: FastifyRequest,
  effect: EnablementEffect,
  db: Db,
): Promise<void> {
  const { current, nextOptions } = effect;
  if (nextOptions === undefined || request.caller?.userId !== undefined) return;
  if (nextOptions.is_trusted === true && current?.options.is_trusted !== true)
    throw new ApiError(
      "FORBIDDEN",
      "Only an administrator, in the dashboard, may make a connection trusted (is_trusted: true): " +
        "a trusted connection's verified e-mail addresses sign in to the existing accounts that have them",
    );
  if (current === undefined) return;
  const changed = changedOptions(current.options, nextOptions, IDENTITY_SOURCE_OPTIONS);
  if (changed.length === 0) return;
  const fields = changed.join(", ");
  if (current.options.is_trusted === true && nextOptions.is_trusted === true)
    throw new ApiError(
      "FORBIDDEN",
      `This connection is trusted: only an administrator, in the dashboard, may change its ${fields} ` +
        "(a trusted connection's provider signs in as the accounts whose addresses it vouches for)",
    );
  if (await hasLinkedIdentities(db, current.id))
    throw new ApiError(
      "FORBIDDEN",
      `Accounts are linked to this connection: only an administrator, in the dashboard, may change its ${fields} ` +
        "(its provider signs in as them); create a new connection instead",
    );
}

/**
 * The guard for a write through the Management API: who vouches for addresses first
 * (refuseMachineVouching), then the applications the write affects. `enablementScopes`: changing
 * the applications through enabled_applications needs the scopes of the per-application operations
 * too (otherwise create:connections alone would reach what create:application_connections guards).
 * `changesConnection`: the write changes (or deletes) the connection itself, so every application
 * it is enabled for is affected, not only those added or removed.
 */
export function applicationGuard(
  request: FastifyRequest,
  { enablementScopes, changesConnection }: { enablementScopes: boolean; changesConnection: boolean },
): EnablementGuard {
  return async (effect, db) => {
    const { enabledApplications, added, removed } = effect;
    await refuseMachineVouching(request, effect, db);
    // A connection's home realm domains are also the addresses a SCIM directory using it may make
    // accounts for (src/directories/scim-domains.ts): widening them is creating users.
    if (effect.nextDomains !== undefined) {
      const domains = (list: readonly string[] | undefined) => JSON.stringify([...(list ?? [])].sort());
      if (domains(effect.nextDomains) !== domains(effect.current?.homeRealmDomains))
        requireScope(request, "create:users", "Changing a connection's home realm domains");
    }
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
