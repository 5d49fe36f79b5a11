import { type Kysely, PostgresAdapter, sql } from "kysely";

// A refresh on PostgreSQL computed every claim part again (docs/performance.md: 0.24 of its
// 0.65 ms of storage CPU). claims_cache keeps the parts per user and organization, and a refresh
// uses a row only when it is as new as what it was computed from (token-redeem.store.ts):
// - user_claims_versions moves a user's version with every change to their own claim sources
//   (statement triggers reading the changed rows, one upsert per statement, in user_id order so two
//   statements never lock the same users' rows in opposite orders). It is a table of its own, not a
//   column of users: a sign-in locks the user's row and then the membership's, and a member's
//   removal locks the membership first — a version on users would lock them the other way round.
// - claims_generation moves with every change to a shared source (an organization's code, name or
//   suspension, flag overrides or property values; roles, permissions and flag definitions), and
//   with the rare ones that have no transition table (a membership's keys or joining time
//   changed, a TRUNCATE).
// organization_users.last_accessed_at, written at every sign-in, moves nothing: no claim uses it.
// Triggers, not application code, so that every writer counts (the Management API, SCIM, the
// CLI, another instance, an operator's SQL), as with config_generation (0009). SQLite's claims
// cost a refresh 0.025 ms in-process: it has the tables and no triggers, and never reads them.
const USER_TABLES = [
  "organization_users",
  "organization_user_roles",
  "organization_user_permissions",
  "user_feature_flags",
  "user_property_values",
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
  // No foreign key: a user's deletion cascades into the tables whose triggers write here.
  await db.schema
    .createTable("user_claims_versions")
    .addColumn("user_id", "text", (c) => c.primaryKey().notNull())
    .addColumn("version", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("claims_generation")
    .addColumn("id", "integer", (c) => c.primaryKey().notNull())
    .addColumn("generation", "bigint", (c) => c.notNull())
    .execute();
  await db.insertInto("claims_generation").values({ id: 1, generation: 0 }).execute();
  await db.schema
    .createTable("claims_cache")
    // No foreign key either: the refresh that writes a row would lock its user for the check,
    // against a user's deletion that locks the user and then waits for the refresh's grant. The
    // rows of a deleted user are never read (nothing refreshes for them) and go with no harm.
    .addColumn("user_id", "text", (c) => c.notNull())
    // '' for a grant that entered no organization.
    .addColumn("org_code", "text", (c) => c.notNull())
    // The digest of the statement that computed the parts: a release that changes it never reads
    // rows an earlier one wrote, and the other way round.
    .addColumn("format", "text", (c) => c.notNull())
    .addColumn("user_version", "bigint", (c) => c.notNull())
    .addColumn("claims_generation", "bigint", (c) => c.notNull())
    .addColumn("parts", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("claims_cache_pk", ["user_id", "org_code"])
    .execute();

  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  const changedBy: [string, string][] = [
    ["new", "select user_id from new_rows"],
    ["old", "select user_id from old_rows"],
    ["both", "select user_id from new_rows union select user_id from old_rows"],
  ];
  for (const [name, changed] of changedBy)
    await sql`
      create function ${sql.raw(`latchkey_user_claims_${name}`)}() returns trigger language plpgsql as $$
      begin
        insert into user_claims_versions (user_id, version)
        select user_id, 1 from (${sql.raw(changed)}) changed
        where user_id is not null group by user_id order by user_id
        on conflict (user_id) do update set version = user_claims_versions.version + 1;
        return null;
      end $$`.execute(db);
  await sql`
    create function latchkey_bump_claims_generation() returns trigger language plpgsql as $$
    begin
      update claims_generation set generation = generation + 1 where id = 1;
      return null;
    end $$`.execute(db);
  for (const table of USER_TABLES) {
    const trigger = (suffix: string) => sql.id(`${table}_user_claims_${suffix}`);
    await sql`
      create trigger ${trigger("insert")} after insert on ${sql.table(table)}
      referencing new table as new_rows
      for each statement execute function latchkey_user_claims_new()`.execute(db);
    await sql`
      create trigger ${trigger("delete")} after delete on ${sql.table(table)}
      referencing old table as old_rows
      for each statement execute function latchkey_user_claims_old()`.execute(db);
    if (table === "organization_users")
      await sql`
        create trigger ${trigger("update")} after update of org_code, user_id, joined_at
        on ${sql.table(table)}
        for each statement execute function latchkey_bump_claims_generation()`.execute(db);
    else
      await sql`
        create trigger ${trigger("update")} after update on ${sql.table(table)}
        referencing old table as old_rows new table as new_rows
        for each statement execute function latchkey_user_claims_both()`.execute(db);
    await sql`
      create trigger ${trigger("truncate")} after truncate on ${sql.table(table)}
      for each statement execute function latchkey_bump_claims_generation()`.execute(db);
  }
  for (const [table, events] of SHARED_TABLES)
    await sql`
      create trigger ${sql.id(`${table}_claims_generation`)}
      after ${sql.raw(events)} or truncate on ${sql.table(table)}
      for each statement execute function latchkey_bump_claims_generation()`.execute(db);
}
