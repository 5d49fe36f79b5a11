// Loads many users fast, straight into the users table (multi-row INSERTs in one transaction per
// batch), for the 100 000-user list test and bench/lists.ts. Deterministic: user i is the same on
// every run, so a test can work out each list's answer from `bulkUser(i)` alone.
import { createHash } from "node:crypto";
import { sql } from "kysely";
import type { Db } from "../../src/storage/database.js";

const GIVEN = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Zoë", "Ken", "Radia", "Tim"];
const FAMILY = [
  "Lovelace",
  "Hopper",
  "Turing",
  "Dijkstra",
  "Liskov",
  "Knuth",
  "Zhang",
  "Thompson",
  "Perlman",
];

/** The first loaded user's created_at: three users share each second after it (ties for the keyset). */
export const BULK_EPOCH = 1_600_000_000;

export interface BulkUser {
  id: string;
  email: string;
  username: string | null;
  given_name: string | null;
  family_name: string | null;
  created_at: number;
}

/** User number `i`: ids in no relation to creation order, so id order and newest-first differ. */
export function bulkUser(i: number): BulkUser {
  const hex = createHash("sha256").update(`bulk-user-${i}`).digest("hex").slice(0, 32);
  const given = GIVEN[i % GIVEN.length]!;
  const family = FAMILY[Math.floor(i / GIVEN.length) % FAMILY.length]!;
  return {
    id: `kp_${hex}`,
    email: `${given.toLowerCase()}.${family.toLowerCase()}.${i}@example.com`.normalize("NFC"),
    // Every third user has no username; the others a username unrelated to the name.
    username: i % 3 === 0 ? null : `u${hex.slice(0, 6)}${i}`,
    given_name: i % 7 === 0 ? null : given,
    family_name: i % 11 === 0 ? null : family,
    created_at: BULK_EPOCH + Math.floor(i / 3),
  };
}

/**
 * Inserts users `from` … `from + count - 1` in transactions of `batch` rows, each a few multi-row
 * INSERTs (under SQLite's and PostgreSQL's bound-parameter limits). Then ANALYZE, as autovacuum
 * would after such a load, so PostgreSQL's estimates see the rows.
 */
export async function bulkLoadUsers(
  db: Db,
  count: number,
  options: { from?: number; batch?: number; progress?: (done: number) => void } = {},
): Promise<void> {
  const from = options.from ?? 0;
  const batch = options.batch ?? 5000;
  const perInsert = 1000;
  for (let start = from; start < from + count; start += batch) {
    const end = Math.min(start + batch, from + count);
    await db.transaction().execute(async (trx) => {
      for (let i = start; i < end; i += perInsert) {
        const rows = [];
        for (let j = i; j < Math.min(i + perInsert, end); j++) {
          const u = bulkUser(j);
          rows.push({ ...u, email_verified: 1, updated_at: u.created_at });
        }
        await trx.insertInto("users").values(rows).execute();
      }
    });
    options.progress?.(end - from);
  }
  await sql`analyze users`.execute(db);
}
