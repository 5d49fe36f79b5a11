// Start-up check that the configured master key opens this database's sealed secrets. Without it,
// a database started with the wrong key (another DATA_DIR, a mistyped LATCHKEY_MASTER_KEY, a
// restored database without its key) reports ready and answers every token request 500 — and,
// worse, seals new secrets under a key the rest of the database does not use.
import type { Db } from "../storage/database.js";
import type { LoadedMasterKey } from "./master-key.js";
import { idempotencyAad, SEALED_COLUMNS } from "./reseal.js";
import { sealedKeyId } from "./secret-box.js";

/** A few rows of each kind: enough to tell a wrong key, cheap on any database size. */
const SAMPLE_ROWS = 3;

export class MasterKeyMismatchError extends Error {
  override name = "MasterKeyMismatchError";
}

interface Sample {
  /** table.column, for the message; never the value. */
  where: string;
  sealed: string;
  aad: string;
}

/**
 * Opens the signing keys that sign now or are about to (every token needs one) and a few values
 * of every other sealed column. A value sealed under a key id the box holds opens — previous keys
 * included, so a start in the middle of a master-key rotation passes. The message names where the
 * key came from and key ids (public fingerprints), never key material.
 */
export async function verifyMasterKey(db: Db, masterKey: LoadedMasterKey, now: number): Promise<void> {
  const box = masterKey.secretBox;
  const samples: Sample[] = [];
  const signing = await db
    .selectFrom("signing_keys")
    .select(["kid", "private_key_sealed"])
    .where((eb) => eb.or([eb("retired_at", "is", null), eb("retired_at", ">", now)]))
    .execute();
  for (const row of signing)
    samples.push({
      where: "signing_keys.private_key_sealed",
      sealed: row.private_key_sealed,
      aad: `signing_key:${row.kid}`,
    });
  for (const { table, key, column, aad } of SEALED_COLUMNS) {
    if (table === "signing_keys") continue;
    // Dynamic table/column names: SEALED_COLUMNS is the only source, never input.
    const rows = (await db
      .selectFrom(table as "applications")
      .select([`${key} as row_key`, `${column} as sealed`] as never)
      .where(column as "client_secret_sealed", "is not", null)
      .limit(SAMPLE_ROWS)
      .execute()) as unknown as { row_key: string; sealed: string }[];
    for (const row of rows)
      samples.push({ where: `${table}.${column}`, sealed: row.sealed, aad: aad(row.row_key) });
  }
  const recorded = await db
    .selectFrom("idempotency_keys")
    .select(["client_id", "key", "response_body_sealed"])
    .where("response_body_sealed", "is not", null)
    .limit(SAMPLE_ROWS)
    .execute();
  for (const row of recorded)
    samples.push({
      where: "idempotency_keys.response_body_sealed",
      sealed: row.response_body_sealed!,
      aad: idempotencyAad(row.client_id, row.key),
    });

  const failed = samples.filter(({ sealed, aad }) => {
    try {
      box.open(sealed, aad);
      return false;
    } catch {
      return true;
    }
  });
  if (failed.length === 0) return;

  const configured = box.keyIds;
  const keyText =
    (masterKey.generated ? "generated just now, " : "") +
    `key id ${box.currentKeyId}` +
    (configured.length > 1 ? `; previous key ids ${configured.slice(1).join(", ")}` : "");
  const foreign = [...new Set(failed.map((f) => sealedKeyId(f.sealed) ?? "(unreadable)"))].filter(
    (id) => !configured.includes(id),
  );
  const places = [...new Set(failed.map((f) => f.where))].join(", ");
  if (foreign.length > 0) {
    throw new MasterKeyMismatchError(
      `the master key in ${masterKey.source} (${keyText}) cannot decrypt this database's secrets ` +
        `(sealed under key id ${foreign.join(", ")}, in ${places}): start with the key this database ` +
        "was created with, or restore it from backup. While rotating the master key, keep the old one " +
        "in LATCHKEY_PREVIOUS_MASTER_KEYS until `latchkey keys rotate-master` has re-encrypted everything.",
    );
  }
  // Sealed under a key we hold, yet it does not open: the ciphertext, not the key, is wrong.
  throw new MasterKeyMismatchError(
    `secrets in ${places} are sealed under the configured master key (${keyText}) but do not decrypt: ` +
      "the database was altered or damaged; restore it from backup",
  );
}
