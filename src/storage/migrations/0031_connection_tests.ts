import type { Kysely } from "kysely";

// "Test connection" (issue 17): an administrator signs in once through a connection and sees the
// claims it sends, with nothing linked, created or signed in. The round trip is an ordinary upstream
// sign-in state, marked by its purpose:
// - purpose: 'sign_in' (every state so far), 'test_ticket' (the single-use link the Management API
//   hands the administrator; opening it in a browser binds a 'test' state to that browser) or 'test'
//   (the state sent to the provider; its callback shows the claims instead of signing anyone in).
// - user_id: the administrator who asked for the test (tickets and tests), for the log.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("upstream_sign_in_states")
    .addColumn("purpose", "text", (c) => c.notNull().defaultTo("sign_in"))
    .execute();
  await db.schema.alterTable("upstream_sign_in_states").addColumn("user_id", "text").execute();
}
