import type { Kysely } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  // The fencing token of a connection's refresh lease: a random id per acquisition. Every write a
  // refresh makes, and the lease's release, is conditional on it, so a holder whose lease expired
  // (a slow provider, a paused process, a skewed clock) can no longer overwrite its successor.
  await db.schema.alterTable("connections").addColumn("refresh_lock_owner", "text").execute();
}
