// Reading the audit log of Management API writes (Latchkey extensions; scope read:audit_log, as
// GET /api/v1/audit_log/authentication beside them):
//   GET /api/v1/audit_log          a page, newest first, filtered by actor, action and dates, each
//                                  entry with its actor's and target's names and a sentence
//   GET /api/v1/audit_log/actions  the action codes the filter takes, with labels
//   GET /api/v1/audit_log/export   everything the same filters select as CSV, up to a bound
import { Readable } from "node:stream";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { type Static, Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { Db } from "../storage/database.js";
import { auditActions, isAuditAction } from "./audit-actions.js";
import {
  type AuditLogFilter,
  auditEntry,
  auditLogQuery,
  parseBound,
  resolveActor,
} from "./audit-log.query.js";
import { csvRecord } from "./csv.js";
import { ApiError } from "./errors.js";
import { READ_ERRORS } from "./responses.schemas.js";
import { encodeCursor, isTimeCursor, nullable, PageSize, readPage, success } from "./schemas.js";

/** The most rows one export holds; past it the file ends with a record saying so. */
export const EXPORT_MAX_ROWS = 100_000;
const EXPORT_BATCH = 1_000;

const Filters = {
  actor: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 320,
      description: "A user id or client id, or a person's e-mail address",
    }),
  ),
  action: Type.Optional(
    Type.String({ minLength: 1, maxLength: 100, description: "An action code (GET /audit_log/actions)" }),
  ),
  from: Type.Optional(
    Type.String({ maxLength: 40, description: "From this date (YYYY-MM-DD, UTC) or date-time, inclusive" }),
  ),
  to: Type.Optional(
    Type.String({ maxLength: 40, description: "To this date (YYYY-MM-DD, UTC, the whole day) or date-time" }),
  ),
};
type FilterQuery = { actor?: string; action?: string; from?: string; to?: string };

const AuditEntry = Type.Object({
  id: Type.String(),
  created_on: Type.String({ format: "date-time" }),
  actor_type: Type.Union([Type.Literal("application"), Type.Literal("user")]),
  actor_id: Type.String(),
  /** The person's name (or e-mail) or the application's name; null once deleted. */
  actor_name: nullable(Type.String()),
  client_id: Type.String(),
  action: nullable(Type.String()),
  target_type: nullable(Type.String()),
  target_id: nullable(Type.String()),
  target_name: nullable(Type.String()),
  description: Type.String({
    description: "What happened in words: 'Ada Lovelace created application Acme'",
  }),
  method: Type.String(),
  path: Type.String(),
  status_code: Type.Integer(),
  ip_address: nullable(Type.String()),
  request_id: nullable(Type.String()),
});

const AuditLogPage = Type.Object({
  code: Type.String(),
  message: Type.String(),
  entries: Type.Array(AuditEntry),
  next_token: nullable(Type.String()),
});

const CSV_COLUMNS = [
  "time",
  "actor",
  "actor_type",
  "actor_id",
  "description",
  "action",
  "target_type",
  "target_id",
  "target_name",
  "method",
  "path",
  "status_code",
  "ip_address",
  "request_id",
] as const;

async function readFilters(db: Db, query: FilterQuery): Promise<Omit<AuditLogFilter, "after">> {
  if (query.action !== undefined && !isAuditAction(query.action))
    throw new ApiError(
      "INVALID_REQUEST",
      "action is not an audit log action (see GET /api/v1/audit_log/actions)",
    );
  const from = parseBound(query.from, "from", false);
  const until = parseBound(query.to, "to", true);
  if (from !== undefined && until !== undefined && from >= until)
    throw new ApiError("INVALID_REQUEST", "from must be before to");
  return { actorId: await resolveActor(db, query.actor), action: query.action, from, until };
}

/** Pages through the selection with the keyset, so memory holds one batch however long the export. */
async function* exportCsv(db: Db, filter: Omit<AuditLogFilter, "after">, maxRows: number) {
  yield csvRecord(CSV_COLUMNS);
  let after: AuditLogFilter["after"];
  let written = 0;
  for (;;) {
    const rows = await auditLogQuery(
      db,
      { ...filter, after },
      Math.min(EXPORT_BATCH, maxRows - written + 1),
    ).execute();
    const room = maxRows - written;
    for (const row of rows.slice(0, room)) {
      const e = auditEntry(row);
      yield csvRecord([
        e.created_on,
        e.actor_name ?? e.actor_id,
        e.actor_type,
        e.actor_id,
        e.description,
        e.action,
        e.target_type,
        e.target_id,
        e.target_name,
        e.method,
        e.path,
        e.status_code,
        e.ip_address,
        e.request_id,
      ]);
    }
    written += Math.min(rows.length, room);
    if (rows.length > room) {
      // In the file itself, where whoever opens it sees it (headers are lost once it is saved).
      yield csvRecord([
        `Export stopped at ${maxRows} rows: more entries match. Narrow the dates (from, to) to export the rest.`,
      ]);
      return;
    }
    const last = rows.at(-1);
    if (rows.length < EXPORT_BATCH || !last) return;
    after = { at: Number(last.created_at), id: last.id };
  }
}

export function registerAuditLogRoutes(api: FastifyInstance): void {
  const typed = api.withTypeProvider<TypeBoxTypeProvider>();
  typed.get(
    "/audit_log",
    {
      schema: {
        tags: ["Audit log"],
        description:
          "Management API writes, newest first, with who made them and what they acted on by name (a Latchkey extension).",
        querystring: Type.Object({
          ...Filters,
          page_size: PageSize,
          next_token: Type.Optional(Type.String({ maxLength: 500 })),
        }),
        response: { 200: AuditLogPage, ...READ_ERRORS },
      },
      config: { scope: "read:audit_log" },
    },
    async (request) => {
      const { limit, after } = readPage(request.query.page_size, request.query.next_token, isTimeCursor);
      const db = request.services.db;
      const filter = await readFilters(db, request.query);
      const rows = await auditLogQuery(db, { ...filter, after }, limit + 1).execute();
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        ...success(),
        entries: page.map(auditEntry),
        next_token:
          rows.length > limit && last ? encodeCursor({ at: Number(last.created_at), id: last.id }) : null,
      };
    },
  );

  typed.get(
    "/audit_log/actions",
    {
      schema: {
        tags: ["Audit log"],
        description: "The actions the audit log records, for its `action` filter (a Latchkey extension).",
        response: {
          200: Type.Object({
            code: Type.String(),
            message: Type.String(),
            actions: Type.Array(Type.Object({ code: Type.String(), name: Type.String() })),
          }),
          ...READ_ERRORS,
        },
      },
      config: { scope: "read:audit_log" },
    },
    async () => ({ ...success(), actions: auditActions() }),
  );

  const ExportQuery = Type.Object({
    ...Filters,
    max_rows: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: EXPORT_MAX_ROWS,
        description: `At most this many rows (default and limit ${EXPORT_MAX_ROWS})`,
      }),
    ),
  });
  // Untyped reply: the body is a stream, which the typed reply (JSON schemas) would refuse.
  api.get<{ Querystring: Static<typeof ExportQuery> }>(
    "/audit_log/export",
    {
      schema: {
        tags: ["Audit log"],
        description:
          "Every entry the filters select as CSV (RFC 4180; cells a spreadsheet would run as a formula start with an apostrophe), newest first. " +
          `Past max_rows (at most ${EXPORT_MAX_ROWS}) the file ends with a record saying the export stopped (a Latchkey extension).`,
        querystring: ExportQuery,
        produces: ["text/csv"],
        response: {
          200: {
            description: "CSV, with a header record",
            content: { "text/csv": { schema: Type.String() } },
          },
          ...READ_ERRORS,
        },
      },
      config: { scope: "read:audit_log" },
    },
    async (request, reply) => {
      const query = request.query;
      // The process-wide database: the file streams after the handler returns.
      const db = request.services.db;
      const filter = await readFilters(db, query);
      const stamp = new Date().toISOString().slice(0, 10);
      return reply
        .type("text/csv; charset=utf-8; header=present")
        .header("content-disposition", `attachment; filename="latchkey-audit-log-${stamp}.csv"`)
        .send(Readable.from(exportCsv(db, filter, query.max_rows ?? EXPORT_MAX_ROWS)));
    },
  );
}
