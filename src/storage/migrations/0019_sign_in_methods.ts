import { type Kysely, PostgresAdapter, sql } from "kysely";

// Which ways of signing in the hosted pages offer (issue 16): a password, a code sent by e-mail
// (Kinde's "email + code"), or both — the default, so an upgraded installation keeps its pages.
// The sign-in pages read it on every view, so it is served from the configuration cache
// (src/oauth/config-cache.ts), which trusts what it read only while config_generation (migration
// 0009) has not moved: these triggers move it whenever the setting is written, by any instance,
// the CLI or an operator's SQL. Only these columns count, so renaming the business does not empty
// the cache of clients every token request reads.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  for (const column of ["sign_in_password", "sign_in_email_code"]) {
    await db.schema
      .alterTable("business")
      .addColumn(column, "integer", (c) => c.notNull().defaultTo(1))
      .execute();
  }
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`
      create trigger business_sign_in_methods_config_generation
      after insert or delete or update of sign_in_password, sign_in_email_code on business
      for each statement execute function latchkey_bump_config_generation()`.execute(db);
    return;
  }
  for (const [name, event] of [
    ["insert", sql`insert`],
    ["delete", sql`delete`],
    ["update", sql`update of sign_in_password, sign_in_email_code`],
  ] as const) {
    await sql`
      create trigger ${sql.id(`business_sign_in_methods_config_generation_${name}`)}
      after ${event} on business
      begin
        update config_generation set generation = generation + 1 where id = 1;
      end`.execute(db);
  }
}
