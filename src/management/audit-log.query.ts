// One page of the audit log with the names of who acted and what they acted on, in one query: each
// name is a LEFT JOIN guarded by the row's type, so a page of 500 costs one round trip, not one
// lookup per row. Filters are equalities on the leading column of an index whose remaining columns
// are the keyset's (created_at, id) — audit_log_actor, audit_log_action (migration 0037) or
// audit_log_created — so a page is one index range read in order, however long the log.
import { sql } from "kysely";
import type { Db } from "../storage/database.js";
import { canonicalEmail } from "../users/email.js";
import { describeAction } from "./audit-actions.js";
import { ApiError } from "./errors.js";
import { isoSeconds, type TimeCursor } from "./schemas.js";

export interface AuditLogFilter {
  actorId?: string;
  action?: string;
  /** Epoch seconds, inclusive. */
  from?: number;
  /** Epoch seconds, exclusive. */
  until?: number;
  after?: TimeCursor;
}

/** A person's name as the dashboard shows it: given and family name, else e-mail, else username. */
function personName(alias: string) {
  const ref = (column: string) => sql.ref(`${alias}.${column}`);
  return sql<
    string | null
  >`coalesce(${ref("given_name")} || ' ' || ${ref("family_name")}, ${ref("given_name")}, ${ref("family_name")}, ${ref("email")}, ${ref("username")})`;
}

export function auditLogQuery(db: Db, filter: AuditLogFilter, limit: number) {
  let query = db
    .selectFrom("audit_log")
    .leftJoin("users as au", (j) =>
      j.onRef("au.id", "=", "audit_log.actor_id").on("audit_log.actor_type", "=", "user"),
    )
    .leftJoin("applications as aa", (j) =>
      j.onRef("aa.id", "=", "audit_log.actor_id").on("audit_log.actor_type", "=", "application"),
    )
    .leftJoin("applications as t_app", (j) =>
      j.onRef("t_app.id", "=", "audit_log.target_id").on("audit_log.target_type", "=", "application"),
    )
    .leftJoin("users as t_user", (j) =>
      j.onRef("t_user.id", "=", "audit_log.target_id").on("audit_log.target_type", "=", "user"),
    )
    .leftJoin("organizations as t_org", (j) =>
      j.onRef("t_org.code", "=", "audit_log.target_id").on("audit_log.target_type", "=", "organization"),
    )
    .leftJoin("roles as t_role", (j) =>
      j.onRef("t_role.id", "=", "audit_log.target_id").on("audit_log.target_type", "=", "role"),
    )
    .leftJoin("permissions as t_perm", (j) =>
      j.onRef("t_perm.id", "=", "audit_log.target_id").on("audit_log.target_type", "=", "permission"),
    )
    .leftJoin("apis as t_api", (j) =>
      j.onRef("t_api.id", "=", "audit_log.target_id").on("audit_log.target_type", "=", "api"),
    )
    .leftJoin("sign_in_connections as t_conn", (j) =>
      j.onRef("t_conn.id", "=", "audit_log.target_id").on("audit_log.target_type", "=", "connection"),
    )
    .leftJoin("webhooks as t_hook", (j) =>
      j.onRef("t_hook.id", "=", "audit_log.target_id").on("audit_log.target_type", "=", "webhook"),
    )
    .leftJoin("api_keys as t_key", (j) =>
      j.onRef("t_key.id", "=", "audit_log.target_id").on("audit_log.target_type", "=", "api_key"),
    )
    .leftJoin("scim_directories as t_dir", (j) =>
      j.onRef("t_dir.id", "=", "audit_log.target_id").on("audit_log.target_type", "=", "directory"),
    )
    .selectAll("audit_log")
    .select([
      sql<string | null>`coalesce(${personName("au")}, aa.name)`.as("actor_name"),
      sql<
        string | null
      >`coalesce(t_app.name, ${personName("t_user")}, t_org.name, t_role.name, t_perm.name, t_api.name, t_conn.display_name, t_hook.name, t_key.name, t_dir.name)`.as(
        "target_name",
      ),
    ]);
  if (filter.actorId !== undefined) query = query.where("audit_log.actor_id", "=", filter.actorId);
  if (filter.action !== undefined) query = query.where("audit_log.action", "=", filter.action);
  if (filter.from !== undefined) query = query.where("audit_log.created_at", ">=", filter.from);
  if (filter.until !== undefined) query = query.where("audit_log.created_at", "<", filter.until);
  const after = filter.after;
  // A row-value comparison: both databases take it as a bound of the index range, so a deep page
  // starts at the cursor instead of filtering its way there.
  if (after)
    query = query.where((eb) =>
      eb(eb.refTuple("audit_log.created_at", "audit_log.id"), "<", eb.tuple(after.at, after.id)),
    );
  return query.orderBy("audit_log.created_at", "desc").orderBy("audit_log.id", "desc").limit(limit);
}

export type AuditLogRow = Awaited<ReturnType<ReturnType<typeof auditLogQuery>["execute"]>>[number];

/** A row as the API answers it: the stored fields, the names, and the sentence. */
export function auditEntry(r: AuditLogRow) {
  const actorName = r.actor_name ?? r.actor_id;
  const targetName = r.target_name ?? null;
  const action = describeAction({ ...r, target_name: targetName });
  return {
    id: r.id,
    created_on: isoSeconds(Number(r.created_at)),
    actor_type: r.actor_type,
    actor_id: r.actor_id,
    actor_name: r.actor_name ?? null,
    client_id: r.client_id,
    action: r.action,
    target_type: r.target_type,
    target_id: r.target_id,
    target_name: targetName,
    description: `${actorName} ${action}`,
    method: r.method,
    path: r.path,
    status_code: r.status_code,
    ip_address: r.ip_address,
    request_id: r.request_id,
  };
}

/**
 * `YYYY-MM-DD` (the start of that day in UTC, or of the next day for an end) or an ISO 8601
 * date-time, as epoch seconds; a 400 in Kinde's vocabulary for anything else.
 */
export function parseBound(value: string | undefined, name: string, end: boolean): number | undefined {
  if (value === undefined) return undefined;
  const day = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const ms = day ? Date.parse(`${value}T00:00:00Z`) : Date.parse(value);
  const valid = day || /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value);
  if (!valid || Number.isNaN(ms))
    throw new ApiError("INVALID_REQUEST", `${name} must be a date (YYYY-MM-DD) or an ISO 8601 date-time`);
  const seconds = Math.floor(ms / 1000);
  // A day given as the end of a range includes that whole day.
  return day && end ? seconds + 86_400 : seconds;
}

/**
 * The actor filter: a user id or client id as stored, or an e-mail address naming a person (who
 * then has the id of their account; an address nobody has matches nothing).
 */
export async function resolveActor(db: Db, actor: string | undefined): Promise<string | undefined> {
  if (actor === undefined || !actor.includes("@")) return actor;
  const row = await db
    .selectFrom("users")
    .select("id")
    .where("email", "=", canonicalEmail(actor))
    .executeTakeFirst();
  // No stored actor id contains "@": an address nobody has matches no entry.
  return row?.id ?? actor;
}
