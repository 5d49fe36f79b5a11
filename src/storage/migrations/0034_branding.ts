import { type Kysely, PostgresAdapter, sql } from "kysely";

// Branding of the hosted pages (issues 19 and 20; src/branding/).
// - business.branding: the environment's colours and theme as JSON text under Kinde's names
//   (get_environment_response: button_color, link_color, background_color, …_dark, theme_code),
//   the same shape organizations.branding (0010) keeps for an organization's overrides.
// - logos: the uploaded logos of the environment (owner 'environment', org_code null) and of
//   organizations (owner = org_code), one per Kinde type (light, dark). The bytes live in the
//   database so every instance serves them; sha256 names the version in the public URL (caching).
// Every hosted page reads the brand, so it comes from the configuration cache (0009): writes to
// these columns and rows move config_generation, by any instance, the CLI or plain SQL.
/** The columns a hosted page's brand is read from (the footer's policy links among them). */
const WATCHED: [string, string][] = [
  ["business", "branding, privacy_url, terms_url"],
  ["organizations", "branding"],
];

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema
    .alterTable("business")
    .addColumn("branding", "text", (c) => c.notNull().defaultTo("{}"))
    .execute();
  await db.schema
    .createTable("logos")
    .addColumn("owner", "text", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("org_code", "text", (c) => c.references("organizations.code").onDelete("cascade"))
    .addColumn("content_type", "text", (c) => c.notNull())
    .addColumn("file_name", "text", (c) => c.notNull())
    .addColumn("sha256", "text", (c) => c.notNull())
    .addColumn("data", postgres ? sql`bytea` : "blob", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("logos_pk", ["owner", "type"])
    .execute();

  if (postgres) {
    await sql`
      create trigger logos_config_generation
      after insert or update or delete or truncate on logos
      for each statement execute function latchkey_bump_config_generation()`.execute(db);
    for (const [table, columns] of WATCHED) {
      await sql`
        create trigger ${sql.id(`${table}_branding_config_generation`)}
        after insert or delete or update of ${sql.raw(columns)} on ${sql.table(table)}
        for each statement execute function latchkey_bump_config_generation()`.execute(db);
    }
    return;
  }
  const triggers: [string, string, ReturnType<typeof sql.raw>][] = [];
  for (const event of ["insert", "update", "delete"])
    triggers.push([`logos_config_generation_${event}`, "logos", sql.raw(event)]);
  for (const [table, columns] of WATCHED) {
    triggers.push([`${table}_branding_config_generation_insert`, table, sql.raw("insert")]);
    triggers.push([`${table}_branding_config_generation_delete`, table, sql.raw("delete")]);
    triggers.push([`${table}_branding_config_generation_update`, table, sql.raw(`update of ${columns}`)]);
  }
  for (const [name, table, event] of triggers) {
    await sql`
      create trigger ${sql.id(name)}
      after ${event} on ${sql.table(table)}
      begin
        update config_generation set generation = generation + 1 where id = 1;
      end`.execute(db);
  }
}
