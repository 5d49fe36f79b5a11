// GET /api/v1/audit_log/authentication (a Latchkey extension beside GET /api/v1/audit_log; scope
// read:audit_log): the authentication log newest first — sign-ins, failed sign-ins, sign-outs and
// token grants (src/audit/authentication-log.ts) — filtered by user and type. A separate list, not
// more rows in /audit_log: those entries are Management API writes with method, path and status,
// and one list mixing both would leave every field of either kind null half the time.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { AUTHENTICATION_LOG_TYPES } from "../audit/authentication-log.js";
import type { Db } from "../storage/database.js";
import type { AuthenticationLogType } from "../storage/schema.js";
import { READ_ERRORS } from "./responses.schemas.js";
import {
  encodeCursor,
  isoSeconds,
  isTimeCursor,
  nullable,
  PageSize,
  readPage,
  success,
  type TimeCursor,
} from "./schemas.js";

const LogType = Type.Union(
  AUTHENTICATION_LOG_TYPES.map((type) => Type.Literal(type)),
  { description: "sign_in | sign_in_failed | sign_out | token_issued" },
);

const AuthenticationLogPage = Type.Object({
  code: Type.String(),
  message: Type.String(),
  entries: Type.Array(
    Type.Object({
      id: Type.String(),
      created_on: Type.String({ format: "date-time" }),
      type: LogType,
      /** Whose sign-in or tokens; null for client_credentials and for an unknown address. */
      user_id: nullable(Type.String()),
      client_id: nullable(Type.String()),
      grant_type: nullable(Type.String()),
      method: nullable(Type.String()),
      ip_address: nullable(Type.String()),
      request_id: nullable(Type.String()),
    }),
  ),
  next_token: nullable(Type.String()),
});

export interface AuthenticationLogFilter {
  userId?: string;
  type?: AuthenticationLogType;
  after?: TimeCursor;
}

/**
 * One page's query, newest first. Each filter is an equality on the leading column of an index
 * whose remaining columns are (created_at, id) — authentication_log_user, authentication_log_type,
 * or authentication_log_created without one — so the page is a single index range read in order,
 * however long the log (migration 0021; tests/management/authentication-log.test.ts checks plans).
 */
export function authenticationLogQuery(db: Db, filter: AuthenticationLogFilter, limit: number) {
  let query = db.selectFrom("authentication_log").selectAll();
  if (filter.userId !== undefined) query = query.where("user_id", "=", filter.userId);
  if (filter.type !== undefined) query = query.where("type", "=", filter.type);
  const after = filter.after;
  // A row-value comparison, not "a < x OR (a = x AND b < y)": both databases take it as a bound
  // of the index range, so a deep page starts at the cursor instead of filtering its way there.
  if (after)
    query = query.where((eb) => eb(eb.refTuple("created_at", "id"), "<", eb.tuple(after.at, after.id)));
  return query.orderBy("created_at", "desc").orderBy("id", "desc").limit(limit);
}

export function registerAuthenticationLogRoute(api: FastifyInstance): void {
  api.withTypeProvider<TypeBoxTypeProvider>().get(
    "/audit_log/authentication",
    {
      schema: {
        tags: ["Audit log"],
        description:
          "Sign-ins, failed sign-ins, sign-outs and token grants, newest first (a Latchkey extension). " +
          "Entries are written within about a second of the event.",
        querystring: Type.Object({
          user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
          type: Type.Optional(LogType),
          page_size: PageSize,
          next_token: Type.Optional(Type.String({ maxLength: 500 })),
        }),
        response: { 200: AuthenticationLogPage, ...READ_ERRORS },
      },
      config: { scope: "read:audit_log" },
    },
    async (request) => {
      const { user_id: userId, type, next_token: nextToken } = request.query;
      const { limit, after } = readPage(request.query.page_size, nextToken, isTimeCursor);
      const rows = await authenticationLogQuery(
        request.services.db,
        { userId, type, after },
        limit + 1,
      ).execute();
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        ...success(),
        entries: page.map((r) => ({
          id: r.id,
          created_on: isoSeconds(Number(r.created_at)),
          type: r.type,
          user_id: r.user_id,
          client_id: r.client_id,
          grant_type: r.grant_type,
          method: r.method,
          ip_address: r.ip_address,
          request_id: r.request_id,
        })),
        next_token:
          rows.length > limit && last ? encodeCursor({ at: Number(last.created_at), id: last.id }) : null,
      };
    },
  );
}
