// Which statements PostgreSQL receives as named statements (issue 21): parsed once per connection
// and, once PostgreSQL finds a generic plan no worse than the custom ones (plan_cache_mode=auto,
// after five executions), planned once too. database.ts asks here for every statement it sends.
//
// Two kinds get a name:
// - Those declared with prepared() (prepared.ts), from their first execution.
// - Any other text with parameters once it has run AUTO_NAME_AFTER times in this process, as PgJDBC's
//   prepareThreshold does. The sign-in's one write, the throttle counters and the authorization
//   request's reads were parsed and planned at every execution (pg_stat_statements during
//   bench/targets.ts sign-in: 283 µs of planning per sign-in for the write alone, 197 µs to run it).
//   A text that repeats is a fixed shape with its values as parameters, which is what a prepared
//   statement is; one built around a value never repeats and is never named.
//
// A name is derived from the text (a digest), never from the order a process met it: the same name
// means the same statement in every instance and version, so even a pooler that wrongly shares
// named statements between clients cannot bind one instance's values to another's statement.
import { createHash } from "node:crypto";
import { sql } from "kysely";

const AUTO_NAME_AFTER = 5;
/** Automatic names per process at most (each connection keeps a parsed statement and plan per name). */
const AUTO_NAMES_MAX = 400;
/** Texts counted (or refused) at most; past it the counts start over. */
const COUNTED_TEXTS_MAX = 2_000;
/**
 * Larger statements stay unnamed: the authentication log's batch inserts (one text per batch size,
 * up to 200 rows) would otherwise take names and server memory from the statements that repeat.
 */
const AUTO_MAX_PARAMETERS = 100;
const AUTO_MAX_LENGTH = 8_192;

/**
 * In a statement whose best plan depends on its values (a prefix range, which may match one row or
 * half the table): the statement is never named, so it is planned for each execution's values.
 */
export const PLAN_PER_VALUE_MARK = "/* plan per value */";
export const planPerValue = sql.raw(` ${PLAN_PER_VALUE_MARK} `);

/**
 * A `*` anywhere but in `(*)` (count(*)): `select *`, `t.*`, `select a, *`, `returning *` — in a
 * subquery too, and a comment's or a product's (cautious: those only stay unnamed). A named
 * statement must not return `*`: PostgreSQL refuses to run one whose result type has changed
 * ("cached plan must not change result type"), which a newer instance's migration adding a column
 * would cause on every connection of an older one during a rolling upgrade.
 */
const STAR = /(?<!\()\*|\*(?!\))/;

const namesByText = new Map<string, string>();
const timesSeen = new Map<string, number>();
const refused = new Set<string>();
let autoNames = 0;

function nameOf(text: string, suffix: string): string {
  const digest = createHash("sha256").update(text).digest("hex").slice(0, 20);
  return `latchkey_${digest}_${suffix}`.slice(0, 63);
}

/** prepared(): this text is a declared statement, named from its first execution. */
export function declareStatement(text: string, label: string): void {
  if (!namesByText.has(text) && !refused.has(text)) namesByText.set(text, nameOf(text, label));
}

/** The name to send this text under, if it has one (see the top of this file). */
export function statementName(text: string, parameterCount: number): string | undefined {
  const known = namesByText.get(text);
  if (known !== undefined || parameterCount === 0 || autoNames >= AUTO_NAMES_MAX) return known;
  if (parameterCount > AUTO_MAX_PARAMETERS || text.length > AUTO_MAX_LENGTH) return undefined;
  if (refused.has(text)) return undefined;
  const seen = (timesSeen.get(text) ?? 0) + 1;
  if (seen < AUTO_NAME_AFTER) {
    if (timesSeen.size >= COUNTED_TEXTS_MAX) timesSeen.clear();
    timesSeen.set(text, seen);
    return undefined;
  }
  timesSeen.delete(text);
  if (STAR.test(text) || text.includes(PLAN_PER_VALUE_MARK)) {
    refuse(text);
    return undefined;
  }
  autoNames++;
  const name = nameOf(text, "auto");
  namesByText.set(text, name);
  return name;
}

/**
 * This text is sent unnamed from now on: the server refused its named statement ("cached plan
 * must not change result type": a migration changed a column it returns).
 */
export function unnameStatement(text: string): void {
  namesByText.delete(text);
  refuse(text);
}

function refuse(text: string): void {
  if (refused.size >= COUNTED_TEXTS_MAX) refused.clear();
  refused.add(text);
}
