import type { Kysely } from "kysely";

// Kinde's subscribers and environment variables (issue 19).
// - subscribers: people who asked to hear from the business (Kinde's /api/v1/subscribers) — a list,
//   not accounts: a subscriber cannot sign in. `email` is canonical (src/users/email.ts) and unique,
//   so subscribing twice is one row. `name_key` is the lower-cased full name the list sorts by.
// - environment_variables: Kinde's /api/v1/environment_variables, values an operator keeps beside
//   the environment. Every value is sealed with the master key (secret_box), bound to the row's id;
//   a secret one (is_secret) is never returned again after it is written.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("subscribers")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("email", "text", (c) => c.notNull().unique())
    .addColumn("first_name", "text", (c) => c.notNull())
    .addColumn("last_name", "text")
    .addColumn("name_key", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("subscribers_name").on("subscribers").columns(["name_key", "id"]).execute();

  await db.schema
    .createTable("environment_variables")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("key", "text", (c) => c.notNull().unique())
    .addColumn("value_sealed", "text", (c) => c.notNull())
    .addColumn("is_secret", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
}
