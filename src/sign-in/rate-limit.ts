// Fixed-window counters in the database, so every instance sees the same count (failed sign-ins
// per account and per client network). One upsert both increments and reads back atomically.
import { isIPv4, isIPv6 } from "node:net";
import { type RawBuilder, type SqlBool, sql } from "kysely";
import type { Clock } from "../clock.js";
import { isPostgres } from "../management/listing.js";
import type { Db } from "../storage/database.js";

/**
 * What a per-address limit counts, for `ip` as Fastify reports it (`request.ip`): an IPv4 address
 * as it is, an IPv6 address by its /64. A /64 is the smallest block a network hands one subscriber
 * or LAN (RFC 7421: 64 bits are the interface identifier; RFC 6177 assigns sites /48 to /56), and a
 * host in it may use any of its 2^64 addresses (SLAAC privacy addresses, RFC 8981), so counting
 * addresses would give one attacker 2^64 budgets. An IPv4-mapped address (::ffff:a.b.c.d, RFC 4291
 * §2.5.5.2: a dual-stack socket's view of an IPv4 client) is that IPv4 client, one address.
 * Anything else (a forwarded entry that is no address) is its own key, bounded in length.
 */
export function clientNetwork(ip: string): string {
  // A zone index (fe80::1%eth0, RFC 4007 §11) names the local interface, not the client.
  const address = ip.split("%", 1)[0]!;
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return ip.slice(0, 100);
  const groups = ipv6Groups(address);
  // IPv4-mapped (::ffff:0:0/96) and the NAT64 well-known prefix (64:ff9b::/96, RFC 6052): behind a
  // NAT64 translator every IPv4 client arrives in one /64, so it is keyed by its own IPv4 address.
  const prefix = groups.slice(0, 6).join(":");
  if (prefix === "0:0:0:0:0:65535" || prefix === "100:65435:0:0:0:0") {
    const [high, low] = [groups[6]!, groups[7]!];
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".");
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(":")}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address in any of RFC 4291 §2.2's text forms. */
function ipv6Groups(address: string): number[] {
  let text = address;
  // Form 3: the last 32 bits written as a dotted IPv4 address.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string) =>
    part === "" ? [] : part.split(":").map((group) => Number.parseInt(group, 16));
  const [head = "", tail] = text.split("::");
  if (tail === undefined) return parse(head);
  const [before, after] = [parse(head), parse(tail)];
  return [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after];
}

export interface Limit {
  max: number;
  windowSeconds: number;
}

export class RateLimiter {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /** Seconds until `key` may try again, or 0 when it is under its limit. */
  async retryAfter(key: string, limit: Limit): Promise<number> {
    const row = await this.db.selectFrom("rate_limits").selectAll().where("key", "=", key).executeTakeFirst();
    const now = this.clock.now();
    if (!row || row.window_start <= now - limit.windowSeconds || row.count < limit.max) return 0;
    return row.window_start + limit.windowSeconds - now;
  }

  /** Counts one more event for `key` in the current window. */
  async hit(key: string, limit: Limit): Promise<void> {
    const now = this.clock.now();
    const windowOpen = now - limit.windowSeconds;
    await this.db
      .insertInto("rate_limits")
      .values({ key, window_start: now, count: 1 })
      .onConflict((oc) =>
        oc.column("key").doUpdateSet({
          count: sql<number>`case when rate_limits.window_start <= ${windowOpen} then 1 else rate_limits.count + 1 end`,
          window_start: sql<number>`case when rate_limits.window_start <= ${windowOpen} then ${now} else rate_limits.window_start end`,
        }),
      )
      .execute();
  }

  /**
   * Counts one request for `key` and says whether it is within the limit — one upsert, so
   * concurrent requests on any instance are counted exactly once each.
   */
  async consume(
    key: string,
    limit: Limit,
  ): Promise<{ allowed: boolean; remaining: number; resetIn: number }> {
    const now = this.clock.now();
    const windowOpen = now - limit.windowSeconds;
    const row = await this.db
      .insertInto("rate_limits")
      .values({ key, window_start: now, count: 1 })
      .onConflict((oc) =>
        oc.column("key").doUpdateSet({
          count: sql<number>`case when rate_limits.window_start <= ${windowOpen} then 1 else rate_limits.count + 1 end`,
          window_start: sql<number>`case when rate_limits.window_start <= ${windowOpen} then ${now} else rate_limits.window_start end`,
        }),
      )
      .returning(["count", "window_start"])
      .executeTakeFirstOrThrow();
    const count = Number(row.count);
    return {
      allowed: count <= limit.max,
      remaining: Math.max(0, limit.max - count),
      resetIn: Math.max(1, Number(row.window_start) + limit.windowSeconds - now),
    };
  }

  /**
   * consume() for several counters in one statement (one round trip, one commit: a sign-in counts
   * three or four). Keys are locked in sorted order, so two such statements never deadlock.
   */
  async consumeAll(
    counters: readonly { key: string; limit: Limit }[],
  ): Promise<{ allowed: boolean; remaining: number; resetIn: number }[]> {
    const now = this.clock.now();
    const byKey = new Map(counters.map(({ key, limit }) => [key, limit]));
    // One key twice would be counted once (one row per key in the statement): a caller's mistake.
    if (byKey.size !== counters.length) throw new Error("consumeAll: the same counter twice");
    const keys = [...byKey.keys()].sort();
    if (keys.length === 0) return [];
    // Each counter's own window: which key decides how long its window is open.
    const windowOpen = sql<number>`case rate_limits.key ${sql.join(
      // A typed parameter: PostgreSQL cannot infer a CASE branch's type from the comparison.
      keys.map((key) => sql`when ${key} then cast(${now - byKey.get(key)!.windowSeconds} as bigint)`),
      sql` `,
    )} end`;
    const rows = await this.db
      .insertInto("rate_limits")
      .values(keys.map((key) => ({ key, window_start: now, count: 1 })))
      .onConflict((oc) =>
        oc.column("key").doUpdateSet({
          count: sql<number>`case when rate_limits.window_start <= ${windowOpen} then 1 else rate_limits.count + 1 end`,
          window_start: sql<number>`case when rate_limits.window_start <= ${windowOpen} then ${now} else rate_limits.window_start end`,
        }),
      )
      .returning(["key", "count", "window_start"])
      .execute();
    const found = new Map(rows.map((row) => [row.key, row]));
    return counters.map(({ key, limit }) => {
      const row = found.get(key);
      if (!row) throw new Error("rate limit counter not returned");
      const count = Number(row.count);
      return {
        allowed: count <= limit.max,
        remaining: Math.max(0, limit.max - count),
        resetIn: Math.max(1, Number(row.window_start) + limit.windowSeconds - now),
      };
    });
  }

  /**
   * Gives back one event counted by consume() that turned out not to count (a sign-in that
   * succeeded, for a counter of failures). Never below zero; in the rare case that the window
   * turned over in between, the new window is one lower, which errs on the user's side.
   */
  async refund(key: string): Promise<void> {
    await this.db
      .updateTable("rate_limits")
      .set({ count: sql<number>`count - 1` })
      .where("key", "=", key)
      .where("count", ">", 0)
      .execute();
  }

  /**
   * reset(`reset`) and refund(`refund`) in one statement (a successful sign-in does both). The
   * reset counter is zeroed rather than deleted: the same verdicts, without a second statement.
   */
  async resetAndRefund(reset: string, refund: string | undefined): Promise<void> {
    const settlement = { reset, refund };
    if (isPostgres(this.db)) {
      await sql`with locked as (${lockedForSettling(settlement)}) ${settleLocked(settlement, "locked")}`.execute(
        this.db,
      );
      return;
    }
    // SQLite locks the whole database for a write: no order to keep.
    await this.db
      .updateTable("rate_limits")
      .set({ count: sql<number>`case when key = ${reset} then 0 else count - 1 end` })
      .where("key", "in", settlementKeys(settlement))
      .where("count", ">", 0)
      .execute();
  }

  async reset(key: string): Promise<void> {
    await this.db.deleteFrom("rate_limits").where("key", "=", key).execute();
  }
}

/** A correct password's counters (resetAndRefund's): one reset, one unit given back. */
export interface CounterSettlement {
  reset: string;
  refund?: string | undefined;
}

function settlementKeys({ reset, refund }: CounterSettlement): string[] {
  return refund === undefined ? [reset] : [reset, refund].sort();
}

/**
 * The rows a settlement changes, locked in key order (PostgreSQL), as consumeAll's upsert locks
 * them: an UPDATE alone locks in scan order, and two sign-ins from one network (one settling, one
 * counting) could deadlock. `onlyIf`: a condition of the statement it is part of.
 */
function lockedForSettling(settlement: CounterSettlement, onlyIf?: RawBuilder<SqlBool>) {
  const keys = settlementKeys(settlement);
  const also = onlyIf ? sql` and ${onlyIf}` : sql``;
  return sql`select key from rate_limits where key in (${sql.join(keys)}) and count > 0${also} order by key for update`;
}

function settleLocked({ reset }: CounterSettlement, locked: string) {
  const from = sql.raw(locked);
  return sql`update rate_limits
    set count = case when rate_limits.key = ${reset} then 0 else rate_limits.count - 1 end
    from ${from} where rate_limits.key = ${from}.key`;
}

/**
 * The CTE of settlementCtes holding the counters' rows once locked: the statement's other writes
 * can be made to wait for it, so that they take their own locks after the counters'.
 */
export const SETTLEMENT_LOCKS = "counters_locked";

/**
 * resetAndRefund as CTEs of a caller's data-modifying statement on PostgreSQL (sign-in-writes.ts),
 * written only when `onlyIf` holds; its rows locked in key order like resetAndRefund's.
 */
export function settlementCtes(settlement: CounterSettlement, onlyIf: RawBuilder<SqlBool>) {
  return sql`${sql.raw(SETTLEMENT_LOCKS)} as (${lockedForSettling(settlement, onlyIf)}),
    counters_settled as (${settleLocked(settlement, SETTLEMENT_LOCKS)})`;
}
