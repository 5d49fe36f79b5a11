import { type Kysely, PostgresAdapter, sql } from "kysely";

// A refresh on PostgreSQL computed every claim part again (docs/performance.md: 0.24 of its
// 0.65 ms of storage CPU). claims_cache keeps the parts per user and organization, and a refresh
// uses a row only when it is as new as what it was computed from (token-redeem.store.ts):
// - users.claims_version moves with every change to the user's own claim sources, by row triggers
//   on the tables below (organization_users not for last_accessed_at, written at every sign-in and
//   not in a token);
// - claims_generation moves with every change to a shared one (an organization's name,
//   suspension, flag overrides or property values; roles, permissions and flag definitions).
// Triggers, not application code, so that every writer counts (the Management API, SCIM, the
// CLI, another instance, an operator's SQL), as with config_generation (0009). SQLite's claims
// cost a refresh 0.025 ms in-process: it has the tables and no triggers, and never reads them.
const USER_TABLES: [string, string][] = [
  ["organization_users", "insert or delete or update of org_code, user_id, joined_at"],
  ["organization_user_roles", "insert or update or delete"],
  ["organization_user_permissions", "insert or update or delete"],
  ["user_feature_flags", "insert or update or delete"],
  ["user_property_values", "insert or update or delete"],
];
const SHARED_TABLES: [string, string][] = [
  ["organizations", "insert or delete or update of code, name, is_suspended"],
  ["organization_feature_flags", "insert or update or delete"],
  ["organization_property_values", "insert or update or delete"],
  ["roles", "insert or update or delete"],
  ["permissions", "insert or update or delete"],
  ["role_permissions", "insert or update or delete"],
  ["feature_flags", "insert or update or delete"],
];

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("users")
    .addColumn("claims_version", "bigint", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createTable("claims_generation")
    .addColumn("id", "integer", (c) => c.primaryKey().notNull())
    .addColumn("generation", "bigint", (c) => c.notNull())
    .execute();
  await db.insertInto("claims_generation").values({ id: 1, generation: 0 }).execute();
  await db.schema
    .createTable("claims_cache")
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    // '' for a grant that entered no organization.
    .addColumn("org_code", "text", (c) => c.notNull())
    .addColumn("user_version", "bigint", (c) => c.notNull())
    .addColumn("claims_generation", "bigint", (c) => c.notNull())
    .addColumn("parts", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("claims_cache_pk", ["user_id", "org_code"])
    .execute();

  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  await sql`
    create function latchkey_bump_user_claims() returns trigger language plpgsql as $$
    begin
      if TG_OP <> 'INSERT' then
        update users set claims_version = claims_version + 1 where id = OLD.user_id;
      end if;
      if TG_OP = 'INSERT' or (TG_OP = 'UPDATE' and NEW.user_id is distinct from OLD.user_id) then
        update users set claims_version = claims_version + 1 where id = NEW.user_id;
      end if;
      return null;
    end $$`.execute(db);
  await sql`
    create function latchkey_bump_claims_generation() returns trigger language plpgsql as $$
    begin
      update claims_generation set generation = generation + 1 where id = 1;
      return null;
    end $$`.execute(db);
  for (const [table, events] of USER_TABLES)
    await sql`
      create trigger ${sql.id(`${table}_user_claims`)}
      after ${sql.raw(events)} on ${sql.table(table)}
      for each row execute function latchkey_bump_user_claims()`.execute(db);
  // A TRUNCATE fires no row trigger: it moves the generation, as a shared change does.
  for (const [table] of USER_TABLES)
    await sql`
      create trigger ${sql.id(`${table}_claims_truncate`)}
      after truncate on ${sql.table(table)}
      for each statement execute function latchkey_bump_claims_generation()`.execute(db);
  for (const [table, events] of SHARED_TABLES)
    await sql`
      create trigger ${sql.id(`${table}_claims_generation`)}
      after ${sql.raw(events)} or truncate on ${sql.table(table)}
      for each statement execute function latchkey_bump_claims_generation()`.execute(db);
}
