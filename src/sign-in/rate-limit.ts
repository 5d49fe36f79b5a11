// Fixed-window counters in the database, so every instance sees the same count (failed sign-ins
// per account and per IP address). One upsert both increments and reads back atomically.
import { sql } from "kysely";
import type { Clock } from "../clock.js";
import type { Db } from "../storage/database.js";

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

  async reset(key: string): Promise<void> {
    await this.db.deleteFrom("rate_limits").where("key", "=", key).execute();
  }
}
