import { type Kysely, sql } from "kysely";

// An organization that chose its own sign-in connections (issue 17, review finding). Before this,
// an organization with no connection enabled for it offered all of the application's, so disabling
// or deleting its last one widened its sign-in instead of narrowing it. A row here records the
// choice (Kinde's "custom authentication" for an organization): from then on its sign-in offers
// only the connections enabled for it, none included. It is written when a connection is first
// enabled for the organization, and disabling or deleting connections never removes it.
// Organizations with connections enabled today are the ones that chose.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("organization_connection_lists")
    .addColumn("org_code", "text", (c) =>
      c.primaryKey().notNull().references("organizations.code").onDelete("cascade"),
    )
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await sql`
    insert into organization_connection_lists (org_code, created_at)
    select org_code, min(created_at) from organization_sign_in_connections group by org_code`.execute(db);
}
