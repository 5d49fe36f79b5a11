import type { Kysely } from "kysely";

// The authentication log (issue 18): sign-ins, failed sign-ins, sign-outs and token grants, written
// in batches by src/audit/authentication-log.ts. Identifiers and outcomes only: never a password,
// code, token or message body.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("authentication_log")
    // Time-sortable like audit_log's ids: milliseconds, a per-process sequence, random bytes.
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    // sign_in | sign_in_failed | sign_out | token_issued (MFA adds mfa_*)
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("user_id", "text")
    .addColumn("client_id", "text")
    // token_issued: authorization_code | refresh_token | client_credentials
    .addColumn("grant_type", "text")
    // sign_in and sign_in_failed: password | email_code (several proofs joined with "+")
    .addColumn("method", "text")
    .addColumn("ip_address", "text")
    .addColumn("request_id", "text")
    .execute();
  // Newest first (and the retention purge); then the same order per user and per type. `id` ends
  // each index so a keyset page (created_at, id) < cursor is one index range, already in order.
  await db.schema
    .createIndex("authentication_log_created")
    .on("authentication_log")
    .columns(["created_at", "id"])
    .execute();
  await db.schema
    .createIndex("authentication_log_user")
    .on("authentication_log")
    .columns(["user_id", "created_at", "id"])
    .execute();
  await db.schema
    .createIndex("authentication_log_type")
    .on("authentication_log")
    .columns(["type", "created_at", "id"])
    .execute();
}
