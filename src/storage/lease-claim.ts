// Claiming due rows under a lease, for the pollers that work through a table across instances (the
// mail outbox, webhook endpoints): the rows a query finds due get lease_owner/lease_until, and only
// the instance holding the lease writes to them afterwards (each store fences its writes on it).
import { PostgresAdapter, type SelectQueryBuilder } from "kysely";
import type { Db } from "./database.js";
import type { Schema } from "./schema.js";

/** The ids of the rows to lease: the due query itself (SQLite) or the ids it locked (PostgreSQL). */
export type DueIds<T extends keyof Schema> = SelectQueryBuilder<Schema, T, { id: string }> | string[];

/**
 * Leases the rows `due` selects (their ids, in claiming order, limited) through `lease`, which sets
 * lease_owner/lease_until on the rows with those ids and returns them as updated. Both are called
 * with the database or, on PostgreSQL, the claiming transaction. (The table stays in the callers'
 * builders: Kysely cannot type an update of a table named by a type parameter.)
 */
export async function claimLeased<T extends keyof Schema, Row>(
  db: Db,
  due: (db: Db) => SelectQueryBuilder<Schema, T, { id: string }>,
  lease: (db: Db, ids: DueIds<T>) => Promise<Row[]>,
): Promise<Row[]> {
  // A plain read first: most polls find nothing, and then take no lock at all (on SQLite an
  // UPDATE takes the database's write lock even when it matches no row, so an idle worker
  // would queue behind — and hold up — every real write, once a second).
  if ((await due(db).execute()).length === 0) return [];
  // SQLite: one UPDATE … RETURNING, atomic under SQLite's single writer.
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return lease(db, due(db));
  // PostgreSQL: the rows are locked with FOR UPDATE SKIP LOCKED, so instances claiming at the same
  // moment take different rows instead of waiting on each other.
  return db.transaction().execute(async (trx) => {
    const ids = (await due(trx).forUpdate().skipLocked().execute()).map((r) => r.id);
    if (ids.length === 0) return [];
    return lease(trx, ids);
  });
}
