import { type Kysely, PostgresAdapter, sql } from "kysely";

/**
 * The tables whose rows decide who a client is and what it may be given: applications and their
 * URLs, APIs, their scopes, and which application may use which. Every instance caches what it
 * reads from them (src/oauth/config-cache.ts) and trusts the cache only while this counter has not
 * moved, so a change made anywhere is honoured by the next request everywhere.
 */
const CONFIG_TABLES = [
  "applications",
  "application_urls",
  "apis",
  "api_scopes",
  "api_applications",
  "api_application_scopes",
] as const;

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("config_generation")
    .addColumn("id", "integer", (c) => c.primaryKey().notNull())
    .addColumn("generation", "bigint", (c) => c.notNull())
    .execute();
  await db.insertInto("config_generation").values({ id: 1, generation: 0 }).execute();

  // Triggers, not application code, so that every writer counts: the Management API, the CLI,
  // bootstrap, another instance, an operator's SQL.
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`
      create function latchkey_bump_config_generation() returns trigger language plpgsql as $$
      begin
        update config_generation set generation = generation + 1 where id = 1;
        return null;
      end $$`.execute(db);
    for (const table of CONFIG_TABLES) {
      await sql`
        create trigger ${sql.id(`${table}_config_generation`)}
        after insert or update or delete or truncate on ${sql.table(table)}
        for each statement execute function latchkey_bump_config_generation()`.execute(db);
    }
    return;
  }
  for (const table of CONFIG_TABLES) {
    for (const event of ["insert", "update", "delete"] as const) {
      await sql`
        create trigger ${sql.id(`${table}_config_generation_${event}`)}
        after ${sql.raw(event)} on ${sql.table(table)}
        begin
          update config_generation set generation = generation + 1 where id = 1;
        end`.execute(db);
    }
  }
}
