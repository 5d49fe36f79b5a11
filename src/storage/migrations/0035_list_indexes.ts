import { type Kysely, PostgresAdapter, type RawBuilder, sql } from "kysely";

// Lists that hold up at 100 000 users (issue 20): the dashboard reads users, organizations and
// applications newest first by a keyset on (created_at, id) and finds them by the start of an
// e-mail address, name or username. Each read is an index range, never a scan or a sort of the table
// (the plans are in docs/performance.md).
//
// Prefix search is a range `[p, successor(p))` on the stored text. E-mail addresses and usernames are
// stored lower-cased, so their unique indexes (0002) answer it on SQLite, whose text order is
// byte-wise. PostgreSQL orders text by the database's collation, where a range is not a prefix (in
// en_US punctuation is skipped at first), so there the range runs over `COLLATE "C"` (byte order)
// expression indexes. Names are matched through lower(), indexed the same way.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema.createIndex("users_created").on("users").columns(["created_at", "id"]).execute();
  await db.schema
    .createIndex("organizations_created")
    .on("organizations")
    .columns(["created_at", "code"])
    .execute();
  await db.schema
    .createIndex("applications_created")
    .on("applications")
    .columns(["created_at", "id"])
    .execute();
  const c = postgres ? sql` collate "C"` : sql``;
  const expressionIndex = (name: string, table: string, expression: RawBuilder<unknown>) =>
    sql`create index ${sql.id(name)} on ${sql.id(table)} ((${expression}${c}))`.execute(db);
  if (postgres) {
    await expressionIndex("users_email_prefix", "users", sql`email`);
    await expressionIndex("users_username_prefix", "users", sql`username`);
  }
  await expressionIndex("users_given_name_prefix", "users", sql`lower(given_name)`);
  await expressionIndex("users_family_name_prefix", "users", sql`lower(family_name)`);
  await expressionIndex("organizations_name_prefix", "organizations", sql`lower(name)`);
  await expressionIndex("applications_name_prefix", "applications", sql`lower(name)`);
}
