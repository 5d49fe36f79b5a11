import type { Kysely } from "kysely";

// Issue 20, the audit log screen: each Management API write says what it did in words ("Ada created
// application Acme Web"). The request's method and path alone cannot name what a create made (its
// id is in the response) nor be joined to the table holding a name, so the writer records the
// action and the target it resolved; a page then names actors and targets in one query with joins.
// Rows written before this migration keep nulls and are described from their method and path.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("audit_log").addColumn("action", "text").execute();
  await db.schema.alterTable("audit_log").addColumn("target_type", "text").execute();
  await db.schema.alterTable("audit_log").addColumn("target_id", "text").execute();
  // The screen's filters, each an equality on the leading column followed by the keyset's
  // (created_at, id): a page of one actor's or one action's entries is one index range read in
  // order, however long the log (as authentication_log_user/_type do, migration 0021).
  await db.schema
    .createIndex("audit_log_actor")
    .on("audit_log")
    .columns(["actor_id", "created_at", "id"])
    .execute();
  await db.schema
    .createIndex("audit_log_action")
    .on("audit_log")
    .columns(["action", "created_at", "id"])
    .execute();
}
