import type { Kysely } from "kysely";

// Text messages (issue 22: codes for the mfa:sms factor). With no SMS gateway configured they are
// kept here instead of sent — the development outbox, like the mail outbox — with the body sealed
// by the master key (it carries a sign-in code) and the number in clear for finding them.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("sms_outbox")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("to_number", "text", (c) => c.notNull())
    .addColumn("body_sealed", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("sms_outbox_to")
    .on("sms_outbox")
    .columns(["to_number", "created_at"])
    .execute();
}
