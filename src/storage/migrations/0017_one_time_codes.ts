import type { Kysely } from "kysely";

// One-time codes sent by e-mail (verify an address, sign in without a password, reset a password).
// A code is stored only as a keyed hash (SecretBox.mac: a 6-digit code's plain hash is reversed by
// trying all million), counts its wrong attempts, expires, and is consumed by one conditional write.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("one_time_codes")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("purpose", "text", (c) => c.notNull())
    // The canonical address the code was sent to; the account, when there is one.
    .addColumn("email", "text", (c) => c.notNull())
    .addColumn("user_id", "text", (c) => c.references("users.id").onDelete("cascade"))
    // The sign-in (authorization request) the code belongs to, when it belongs to one.
    .addColumn("request_id", "text")
    .addColumn("code_mac", "text", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .addColumn("consumed_at", "bigint")
    .execute();
  // Issuing a code ends the earlier ones for the same address and purpose.
  await db.schema
    .createIndex("one_time_codes_email_purpose")
    .on("one_time_codes")
    .columns(["email", "purpose"])
    .execute();
  await db.schema.createIndex("one_time_codes_expires").on("one_time_codes").column("expires_at").execute();
}
