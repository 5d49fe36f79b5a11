import type { Kysely } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  // Kinde's business details (GET/PATCH /api/v1/business). Industry and timezone are kept by key
  // (what PATCH takes); GET shows their labels. One column per statement: SQLite adds one at a time.
  for (const column of ["phone", "email", "industry_key", "timezone_key", "privacy_url", "terms_url"]) {
    await db.schema.alterTable("business").addColumn(column, "text").execute();
  }
  await db.schema
    .alterTable("business")
    .addColumn("has_clickwrap", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  // Latchkey's pages carry no Kinde branding, so a new installation reports none.
  await db.schema
    .alterTable("business")
    .addColumn("has_kinde_branding", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
}
