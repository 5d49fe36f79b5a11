// Claiming due rows under a lease, for the pollers that work through a table across instances (the
// mail outbox, webhook endpoints): the rows a query finds due get lease_owner/lease_until, and only
// the instance holding the lease writes to them afterwards (each store fences its writes on it).
import { PostgresAdapter, type SelectQueryBuilder } from "kysely";
import type { Db } from "./database.js";
import type { Schema } from "./schema.js";

/** The ids of the rows to lease: the due query itself, as a subquery of the lease's UPDATE. */
export type DueIds<T extends keyof Schema> = SelectQueryBuilder<Schema, T, { id: string }>;

/**
 * Leases the rows `due` selects (in claiming order, limited) through `lease`, which sets
 * lease_owner/lease_until on the rows whose ids the subquery it is given selects and returns them as
 * updated: one UPDATE … RETURNING, atomic as any one statement. (The table stays in the callers'
 * builders: Kysely cannot type an update of a table named by a type parameter.)
 */
export async function claimLeased<T extends keyof Schema, Row>(
  db: Db,
  due: (db: Db) => SelectQueryBuilder<Schema, T, { id: string }>,
  lease: (db: Db, ids: DueIds<T>) => Promise<Row[]>,
): Promise<Row[]> {
  // PostgreSQL: the subquery locks the rows FOR UPDATE SKIP LOCKED, so instances claiming at the
  // same moment take different rows instead of waiting on each other (a row another claim
  // committed meanwhile is re-checked against the due conditions, and no longer matches). An
  // UPDATE that matches nothing locks nothing there, so an idle poll is this one statement too.
  if (db.getExecutor().adapter instanceof PostgresAdapter) return lease(db, due(db).forUpdate().skipLocked());
  // SQLite: a plain read first, since most polls find nothing and an UPDATE takes the database's
  // write lock even when it matches no row (an idle worker would queue behind — and hold up —
  // every real write, once a second); then the UPDATE, atomic under SQLite's single writer.
  if ((await due(db).execute()).length === 0) return [];
  return lease(db, due(db));
}
