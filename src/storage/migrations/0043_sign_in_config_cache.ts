import { type Kysely, PostgresAdapter, sql } from "kysely";

// A password sign-in read these on every request although they change a few times a year (issue 21:
// round trips to PostgreSQL): the dashboard's client id, the default organization, an organization's
// session rules and the connected apps offered at sign-in. They now come from the configuration
// cache (src/oauth/config-cache.ts), which trusts a reading only while config_generation (0009) has
// not moved, so writes to these columns and rows move it — by any instance, the CLI or plain SQL.
// Inserts and deletes of organizations and of the business row move it already (0019, 0034).
const WATCHED_UPDATES: [string, string][] = [
  ["business", "dashboard_client_id"],
  [
    "organizations",
    "is_default, sso_session_policy_enabled, sso_session_persistence, session_lifetime_enabled, authenticated_session_lifetime",
  ],
];

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    for (const [table, columns] of WATCHED_UPDATES) {
      await sql`
        create trigger ${sql.id(`${table}_sign_in_config_generation`)}
        after update of ${sql.raw(columns)} on ${sql.table(table)}
        for each statement execute function latchkey_bump_config_generation()`.execute(db);
    }
    await sql`
      create trigger connected_apps_config_generation
      after insert or update or delete or truncate on connected_apps
      for each statement execute function latchkey_bump_config_generation()`.execute(db);
    return;
  }
  const triggers: [string, string, ReturnType<typeof sql.raw>][] = WATCHED_UPDATES.map(([table, columns]) => [
    `${table}_sign_in_config_generation`,
    table,
    sql.raw(`update of ${columns}`),
  ]);
  for (const event of ["insert", "update", "delete"])
    triggers.push([`connected_apps_config_generation_${event}`, "connected_apps", sql.raw(event)]);
  for (const [name, table, event] of triggers) {
    await sql`
      create trigger ${sql.id(name)}
      after ${event} on ${sql.table(table)}
      begin
        update config_generation set generation = generation + 1 where id = 1;
      end`.execute(db);
  }
}
