import type { Kysely } from "kysely";

// Migrations take Kysely<any> on purpose: they must keep compiling as the current schema type
// moves on, so they cannot depend on it.
// biome-ignore lint/suspicious/noExplicitAny: see above
export async function up(db: Kysely<any>): Promise<void> {
  // The one business this installation serves; its name is shown on sign-in pages.
  await db.schema
    .createTable("business")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
}
