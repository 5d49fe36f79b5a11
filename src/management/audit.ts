// The audit log of Management API writes: every POST, PUT, PATCH and DELETE, whatever its outcome,
// with the caller, the request, where it came from, and what it did (an action and its target,
// src/management/audit-actions.ts). Administrators read it at GET /api/v1/audit_log (a Latchkey
// extension; scope read:audit_log; audit-log.routes.ts). Sign-ins, sign-outs and token grants are
// in the authentication log beside it (GET /api/v1/audit_log/authentication).
import type { FastifyInstance, FastifyRequest } from "fastify";
import { timeSortableId } from "../audit/authentication-log.js";
import type { Services } from "../services.js";
import { idInRequest, idInResponse, ruleFor } from "./audit-actions.js";
import { registerAuditLogRoutes } from "./audit-log.routes.js";
import { registerAuthenticationLogRoute } from "./authentication-log.routes.js";

const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** The id a create's response names (its path cannot), kept from onSend until onResponse writes the entry. */
const createdIds = new WeakMap<FastifyRequest, string>();

export function registerAuditLog(api: FastifyInstance, services: Services): void {
  api.addHook("onSend", async (request, reply, payload) => {
    if (request.method !== "POST" || reply.statusCode >= 300 || !request.caller) return payload;
    const from = ruleFor(request.method, request.routeOptions.url)?.from;
    if (from?.startsWith("$.")) {
      const text = Buffer.isBuffer(payload) ? payload.toString("utf8") : payload;
      const id = idInResponse(text, from);
      if (id) createdIds.set(request, id);
    }
    return payload;
  });

  api.addHook("onResponse", async (request, reply) => {
    const caller = request.caller;
    if (!WRITES.has(request.method) || !caller) return;
    const rule = ruleFor(request.method, request.routeOptions.url);
    const targetId = rule
      ? (idInRequest(rule, request.params, request.query) ?? createdIds.get(request))
      : undefined;
    try {
      // The process-wide database, not the request's transaction, which has ended by now.
      await services.db
        .insertInto("audit_log")
        .values({
          // Sorts by time, so the log reads newest first.
          id: timeSortableId(),
          created_at: services.clock.now(),
          actor_type: caller.userId ? "user" : "application",
          actor_id: caller.userId ?? caller.clientId,
          client_id: caller.clientId,
          method: request.method,
          path: request.url.slice(0, 2000),
          status_code: reply.statusCode,
          ip_address: request.ip,
          request_id: request.id,
          action: rule?.action ?? null,
          target_type: rule?.target && targetId ? rule.target : null,
          target_id: rule?.target ? (targetId ?? null) : null,
        })
        .execute();
    } catch (error) {
      request.log.error({ err: error }, "could not write the audit log entry");
    }
  });

  registerAuthenticationLogRoute(api);
  registerAuditLogRoutes(api);
}
