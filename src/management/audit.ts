// The audit log of Management API writes: every POST, PUT, PATCH and DELETE, whatever its outcome,
// with the caller, the request and where it came from. Administrators read it at
// GET /api/v1/audit_log (a Latchkey extension; scope read:audit_log). Sign-ins, sign-outs and token
// grants are in the authentication log beside it (GET /api/v1/audit_log/authentication).
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { timeSortableId } from "../audit/authentication-log.js";
import type { Services } from "../services.js";
import { registerAuthenticationLogRoute } from "./authentication-log.routes.js";
import { READ_ERRORS } from "./responses.schemas.js";
import { encodeCursor, isoSeconds, isTimeCursor, nullable, PageSize, readPage, success } from "./schemas.js";

const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);

const AuditLogPage = Type.Object({
  code: Type.String(),
  message: Type.String(),
  entries: Type.Array(
    Type.Object({
      id: Type.String(),
      created_on: Type.String({ format: "date-time" }),
      actor_type: Type.Union([Type.Literal("application"), Type.Literal("user")]),
      actor_id: Type.String(),
      client_id: Type.String(),
      method: Type.String(),
      path: Type.String(),
      status_code: Type.Integer(),
      ip_address: nullable(Type.String()),
      request_id: nullable(Type.String()),
    }),
  ),
  next_token: nullable(Type.String()),
});

export function registerAuditLog(api: FastifyInstance, services: Services): void {
  api.addHook("onResponse", async (request, reply) => {
    const caller = request.caller;
    if (!WRITES.has(request.method) || !caller) return;
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
        })
        .execute();
    } catch (error) {
      request.log.error({ err: error }, "could not write the audit log entry");
    }
  });

  registerAuthenticationLogRoute(api);

  const typed = api.withTypeProvider<TypeBoxTypeProvider>();
  typed.get(
    "/audit_log",
    {
      schema: {
        tags: ["Audit log"],
        querystring: Type.Object({
          page_size: PageSize,
          next_token: Type.Optional(Type.String({ maxLength: 500 })),
        }),
        response: { 200: AuditLogPage, ...READ_ERRORS },
      },
      config: { scope: "read:audit_log" },
    },
    async (request) => {
      const { limit, after } = readPage(request.query.page_size, request.query.next_token, isTimeCursor);
      let query = request.services.db.selectFrom("audit_log").selectAll();
      if (after) {
        // A row-value comparison: PostgreSQL starts the index read at the cursor (the OR form
        // became a filter over everything newer, so deep pages got slower).
        query = query.where((eb) => eb(eb.refTuple("created_at", "id"), "<", eb.tuple(after.at, after.id)));
      }
      // Newest first.
      const rows = await query
        .orderBy("created_at", "desc")
        .orderBy("id", "desc")
        .limit(limit + 1)
        .execute();
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        ...success(),
        entries: page.map((r) => ({
          id: r.id,
          created_on: isoSeconds(r.created_at),
          actor_type: r.actor_type,
          actor_id: r.actor_id,
          client_id: r.client_id,
          method: r.method,
          path: r.path,
          status_code: r.status_code,
          ip_address: r.ip_address,
          request_id: r.request_id,
        })),
        next_token: rows.length > limit && last ? encodeCursor({ at: last.created_at, id: last.id }) : null,
      };
    },
  );
}
