// What the dashboard's long lists share (issue 20): newest first by a keyset on (created_at, id),
// a prefix search that is an index range, and a total count that stays cheap at 100 000 rows.
// Kinde's list operations have none of these; they are additive Latchkey extensions
// (`sort=created_on_desc`, `starts_with`, `include_count`), described in the OpenAPI document.
import { type Expression, type ExpressionBuilder, PostgresAdapter, type SqlBool, sql } from "kysely";
import type { Db } from "../storage/database.js";
import { planPerValue } from "../storage/statement-names.js";
import { ApiError } from "./errors.js";

/** Longest prefix accepted: longer than any e-mail address or name a list would show. */
export const MAX_PREFIX = 200;

/** Rows a filtered count reads at most; past it the count says "more than". */
export const FILTERED_COUNT_CAP = 1000;

/**
 * Past this many rows (by PostgreSQL's own estimate) an exact COUNT(*) is a scan of the table that
 * grows with it; the estimate is what the dashboard shows ("about 100 000").
 */
export const ESTIMATE_ABOVE = 10_000;

export type CountAccuracy = "exact" | "estimate" | "at_least";
export interface Count {
  count: number;
  accuracy: CountAccuracy;
}

// biome-ignore lint/suspicious/noExplicitAny: any table of any schema (the helpers read only the adapter)
type AnyDb = Db | import("kysely").Kysely<any>;

export function isPostgres(db: AnyDb): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** A search prefix as typed: trimmed and NFC (as addresses are stored). Empty means no filter. */
export function normalizePrefix(value: string | null | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  const prefix = value.normalize("NFC").trim();
  if (prefix.length > MAX_PREFIX)
    throw new ApiError("INVALID_REQUEST", `starts_with may be at most ${MAX_PREFIX} characters`);
  return prefix === "" ? undefined : prefix;
}

/**
 * The least string greater than every string starting with `prefix`, in code-point order (which
 * UTF-8 byte order — SQLite's BINARY and PostgreSQL's "C" — preserves): its last code point plus
 * one. Undefined when there is none (a last code point of U+10FFFF): the range is then open above.
 */
export function successor(prefix: string): string | undefined {
  const points = [...prefix];
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!;
    let next = last + 1;
    // Skip the surrogate block: no string holds a lone surrogate as a code point.
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000;
    if (next <= 0x10ffff) return points.join("") + String.fromCodePoint(next);
  }
  return undefined;
}

/**
 * `expression` starts with `prefix`, as a range an index on the same expression answers. On
 * PostgreSQL both sides are compared `COLLATE "C"` (byte order), matching migration 0035's
 * indexes: under a linguistic collation a range is not a prefix.
 */
export function startsWith(
  postgres: boolean,
  expression: Expression<unknown>,
  prefix: string,
): Expression<SqlBool> {
  const column = postgres ? sql`(${expression} collate "C")` : sql`${expression}`;
  // One prefix matches a row, another half the table: planned for each (statement-names.ts).
  const low = sql<SqlBool>`${column} >= ${prefix}${planPerValue}`;
  const high = successor(prefix);
  return high === undefined ? low : sql<SqlBool>`${low} and ${column} < ${high}`;
}

/**
 * `lower(column)` starts with `prefix` in any letter case — on the lower() expression 0035 indexes.
 * PostgreSQL's lower() folds every letter; SQLite's only A–Z, so there "Ång" is stored lowered as
 * "Ång": the prefix is also tried lowered that way (a second range on the same index).
 */
export function lowerStartsWith<DB, TB extends keyof DB>(
  postgres: boolean,
  eb: ExpressionBuilder<DB, TB>,
  column: Parameters<ExpressionBuilder<DB, TB>["ref"]>[0],
  prefix: string,
): Expression<SqlBool> {
  const lowered = sql`lower(${eb.ref(column)})`;
  const variants = new Set([prefix.toLowerCase()]);
  if (!postgres) variants.add(prefix.replace(/[A-Z]+/g, (letters) => letters.toLowerCase()));
  const ranges = [...variants].map((variant) => startsWith(postgres, lowered, variant));
  return ranges.length === 1 ? ranges[0]! : eb.or(ranges);
}

/**
 * How many rows a table holds. SQLite counts them (COUNT(*) over the narrowest index: milliseconds
 * at 100 000). PostgreSQL's COUNT(*) reads every visible row, so past ESTIMATE_ABOVE it answers the
 * planner's estimate instead — reltuples scaled to the table's current size in pages, as the planner
 * itself does (https://www.postgresql.org/docs/current/row-estimation-examples.html), so rows added
 * since the last ANALYZE count too.
 */
export async function tableCount(db: AnyDb, table: string): Promise<Count> {
  if (isPostgres(db)) {
    const { rows } = await sql<{ reltuples: number; relpages: number; pages: string }>`
      select reltuples::float8 as reltuples, relpages,
             pg_relation_size(oid) / current_setting('block_size')::int as pages
      from pg_class where oid = to_regclass(${table})`.execute(db);
    const row = rows[0];
    if (row && row.reltuples >= 0 && row.relpages > 0) {
      const estimate = Math.round((row.reltuples / row.relpages) * Number(row.pages));
      if (estimate > ESTIMATE_ABOVE) return { count: estimate, accuracy: "estimate" };
    }
  }
  const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(
    db,
  );
  return { count: Number(rows[0]?.n ?? 0), accuracy: "exact" };
}

/**
 * How many rows a filtered list holds, reading at most FILTERED_COUNT_CAP + 1 of them (a prefix of
 * one letter can match a tenth of the table): exact below the cap, "at least" the cap above it.
 */
export async function cappedCount(ids: { execute(): Promise<unknown[]> }): Promise<Count> {
  const n = (await ids.execute()).length;
  return n > FILTERED_COUNT_CAP
    ? { count: FILTERED_COUNT_CAP, accuracy: "at_least" }
    : { count: n, accuracy: "exact" };
}
