// Kinde's page_size + next_token paging over a list sorted in memory. Orders are decided here, not
// by the database (PostgreSQL sorts text by locale, SQLite byte-wise; both must answer alike), and
// the cursor is the last row's sort key and id, so rows added or removed between pages neither
// repeat nor skip the others.
import { ApiError } from "../management/errors.js";
import { DEFAULT_PAGE_SIZE, decodeCursor, encodeCursor, MAX_PAGE_SIZE } from "../management/schemas.js";

const human = new Intl.Collator("en", { sensitivity: "base", numeric: true });
const binary = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

type Cursor = [string, string];
const isCursor = (value: unknown): value is Cursor =>
  Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === "string");

/** Compares by text as people read it, then byte-wise, then by id. */
function compareKeys(a: Cursor, b: Cursor): number {
  return human.compare(a[0], b[0]) || binary(a[0], b[0]) || binary(a[1], b[1]);
}

export function pageOf<T>(
  rows: readonly T[],
  options: {
    key: (row: T) => Cursor;
    descending?: boolean;
    pageSize?: number | null;
    nextToken?: string | null;
  },
): { page: T[]; nextToken: string | null } {
  const limit = options.pageSize ?? DEFAULT_PAGE_SIZE;
  if (limit > MAX_PAGE_SIZE) throw new ApiError("PAGE_SIZE_LIMIT_EXCEEDED");
  const after = decodeCursor(options.nextToken, isCursor);
  if (options.nextToken && !after) throw new ApiError("INVALID_NEXT_TOKEN");
  const sign = options.descending ? -1 : 1;
  const sorted = rows
    .map((row) => ({ row, key: options.key(row) }))
    .sort((a, b) => sign * compareKeys(a.key, b.key));
  const rest = after ? sorted.filter((r) => sign * compareKeys(r.key, after) > 0) : sorted;
  const page = rest.slice(0, limit);
  const last = page.at(-1);
  return {
    page: page.map((r) => r.row),
    nextToken: rest.length > limit && last ? encodeCursor(last.key) : null,
  };
}
