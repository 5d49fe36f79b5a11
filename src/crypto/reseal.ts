// Master-key rotation: re-encrypts every sealed value still under an older key with the current
// one (`latchkey keys rotate-master`). Run it after setting the new LATCHKEY_MASTER_KEY and moving
// the old one to LATCHKEY_PREVIOUS_MASTER_KEYS; once it reports nothing left, the old key can go.
import { environmentVariableAad } from "../environment-variables/environment-variables.store.js";
import { mailBodyAad } from "../mail/mail.store.js";
import { smsBodyAad } from "../mfa/sms.js";
import { upstreamVerifierAad } from "../sign-in/upstream-state.js";
import type { Db } from "../storage/database.js";
import type { SecretBox } from "./secret-box.js";

export interface SealedColumn {
  table:
    | "applications"
    | "signing_keys"
    | "connected_apps"
    | "connections"
    | "mail_messages"
    | "sign_in_connections"
    | "mfa_factors"
    | "sms_outbox"
    | "upstream_sign_in_states"
    | "environment_variables";
  key: string;
  column: string;
  /** The additional authenticated data each value was sealed with, from its row's key. */
  aad: (rowKey: string) => string;
}

// Every column holding a SecretBox value, with the AAD its writer uses (crypto/verify-master-key.ts
// samples each at start-up).
export const SEALED_COLUMNS: readonly SealedColumn[] = [
  { table: "applications", key: "id", column: "client_secret_sealed", aad: (id) => `client_secret:${id}` },
  { table: "signing_keys", key: "kid", column: "private_key_sealed", aad: (kid) => `signing_key:${kid}` },
  {
    table: "connected_apps",
    key: "key_code_ref",
    column: "client_secret_sealed",
    aad: (k) => `connected_app_secret:${k}`,
  },
  { table: "connections", key: "id", column: "access_token_sealed", aad: (id) => `connection:${id}` },
  { table: "connections", key: "id", column: "refresh_token_sealed", aad: (id) => `connection:${id}` },
  { table: "connections", key: "id", column: "code_verifier_sealed", aad: (id) => `connection:${id}` },
  // Messages waiting to be sent or kept in the outbox (delivered ones hold no body).
  { table: "mail_messages", key: "id", column: "body_sealed", aad: mailBodyAad },
  // Sign-in connections' client secrets (src/connections/connections.service.ts secretAad).
  {
    table: "sign_in_connections",
    key: "id",
    column: "client_secret_sealed",
    aad: (id) => `sign_in_connection_secret:${id}`,
  },
  // Authenticator-app secrets, bound to their owner (src/mfa/mfa.service.ts); without them the
  // owner could not sign in once the old key is gone.
  { table: "mfa_factors", key: "user_id", column: "secret_sealed", aad: (userId) => `mfa-totp:${userId}` },
  // Text messages waiting for the gateway or kept in the development outbox (src/mfa/sms.ts).
  { table: "sms_outbox", key: "id", column: "body_sealed", aad: smsBodyAad },
  // Sign-ins waiting at a provider (minutes), so one under way during a rotation still finishes.
  {
    table: "upstream_sign_in_states",
    key: "state_hash",
    column: "code_verifier_sealed",
    aad: upstreamVerifierAad,
  },
  { table: "environment_variables", key: "id", column: "value_sealed", aad: environmentVariableAad },
];

/** Re-seals stale values; returns how many were re-encrypted per table.column. */
export async function resealAll(
  db: Db,
  box: SecretBox,
  onProgress?: (message: string) => void,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const { table, key, column, aad } of SEALED_COLUMNS) {
    // Dynamic table/column names: the list above is the only source, never input.
    const rows = (await db
      .selectFrom(table as "applications")
      .select([`${key} as row_key`, `${column} as sealed`] as never)
      .execute()) as unknown as { row_key: string; sealed: string | null }[];
    let count = 0;
    for (const row of rows) {
      if (!row.sealed || !box.isStale(row.sealed)) continue;
      const resealed = box.seal(box.open(row.sealed, aad(row.row_key)), aad(row.row_key));
      await db
        .updateTable(table as "applications")
        .set({ [column]: resealed } as never)
        .where(key as "id", "=", row.row_key)
        .where(column as "client_secret_sealed", "=", row.sealed)
        .execute();
      count++;
    }
    counts[`${table}.${column}`] = count;
    onProgress?.(`${table}.${column}: re-encrypted ${count} of ${rows.length}`);
  }
  counts["idempotency_keys.response_body_sealed"] = await resealIdempotencyRecords(db, box, onProgress);
  return counts;
}

/**
 * Additional authenticated data of a recorded Idempotency-Key response: it opens only in its own
 * (caller, key) row. Here, not in management/idempotency.ts, so that the command line and start-up
 * need not load the Management API's modules to re-seal or check these rows.
 */
export function idempotencyAad(clientId: string, key: string): string {
  return `idempotency:${JSON.stringify([clientId, key])}`;
}

/**
 * Recorded Idempotency-Key responses (they can carry client secrets) are re-sealed too, so a retry
 * still replays after the old key is gone. Their key is (client_id, key), hence a loop of its own.
 * In-progress claims hold nothing sealed.
 */
async function resealIdempotencyRecords(
  db: Db,
  box: SecretBox,
  onProgress?: (message: string) => void,
): Promise<number> {
  const rows = await db
    .selectFrom("idempotency_keys")
    .select(["client_id", "key", "response_body_sealed"])
    .where("response_body_sealed", "is not", null)
    .execute();
  let count = 0;
  for (const row of rows) {
    const sealed = row.response_body_sealed!;
    if (!box.isStale(sealed)) continue;
    const aad = idempotencyAad(row.client_id, row.key);
    await db
      .updateTable("idempotency_keys")
      .set({ response_body_sealed: box.seal(box.open(sealed, aad), aad) })
      .where("client_id", "=", row.client_id)
      .where("key", "=", row.key)
      .where("response_body_sealed", "=", sealed)
      .execute();
    count++;
  }
  onProgress?.(`idempotency_keys.response_body_sealed: re-encrypted ${count} of ${rows.length}`);
  return count;
}
