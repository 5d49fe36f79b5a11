// Kinde's subscribers: people who asked to hear from the business — a list, not accounts (a
// subscriber cannot sign in). One row per mailbox: the address is canonical and unique, so
// subscribing again updates the name instead of adding a second row.
import type { Clock } from "../clock.js";
import { randomHex } from "../crypto/random.js";
import type { Db } from "../storage/database.js";

export interface Subscriber {
  id: string;
  email: string;
  firstName: string;
  lastName: string | null;
  createdAt: number;
}

export type SubscriberSort = "name_asc" | "name_desc" | "email_asc" | "email_desc";
/** The keyset cursor: the last row's sort value and id. */
export type SubscriberCursor = [string, string];

const nameKey = (first: string, last: string | null) => `${first} ${last ?? ""}`.trim().toLowerCase();

type Row = { id: string; email: string; first_name: string; last_name: string | null; created_at: number };
const view = (row: Row): Subscriber => ({
  id: row.id,
  email: row.email,
  firstName: row.first_name,
  lastName: row.last_name,
  createdAt: Number(row.created_at),
});

export class SubscribersStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /** The subscriber's id: a new row, or the existing one for this address with the name updated. */
  async subscribe(input: { email: string; firstName: string; lastName: string | null }): Promise<string> {
    const key = nameKey(input.firstName, input.lastName);
    const row = await this.db
      .insertInto("subscribers")
      .values({
        id: `sub_${randomHex(16)}`,
        email: input.email,
        first_name: input.firstName,
        last_name: input.lastName,
        name_key: key,
        created_at: this.clock.now(),
      })
      .onConflict((oc) =>
        oc
          .column("email")
          .doUpdateSet({ first_name: input.firstName, last_name: input.lastName, name_key: key }),
      )
      .returning("id")
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async find(id: string): Promise<Subscriber | undefined> {
    const row = await this.db
      .selectFrom("subscribers")
      .select(["id", "email", "first_name", "last_name", "created_at"])
      .where("id", "=", id)
      .executeTakeFirst();
    return row && view(row);
  }

  /**
   * One page in the asked order, read by keyset (sort value, id): rows added or removed between
   * pages neither repeat nor skip others. `limit + 1` rows tell whether there is a next page.
   */
  async page(
    sort: SubscriberSort,
    limit: number,
    after: SubscriberCursor | undefined,
  ): Promise<{ rows: Subscriber[]; next: SubscriberCursor | undefined }> {
    const column = sort.startsWith("email") ? "email" : "name_key";
    const descending = sort.endsWith("_desc");
    let query = this.db
      .selectFrom("subscribers")
      .select(["id", "email", "first_name", "last_name", "created_at", "name_key"])
      .orderBy(column, descending ? "desc" : "asc")
      .orderBy("id", descending ? "desc" : "asc")
      .limit(limit + 1);
    if (after) {
      const [value, id] = after;
      query = query.where((eb) =>
        eb.or([
          eb(column, descending ? "<" : ">", value),
          eb.and([eb(column, "=", value), eb("id", descending ? "<" : ">", id)]),
        ]),
      );
    }
    const rows = await query.execute();
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      rows: page.map(view),
      next:
        rows.length > limit && last ? [column === "email" ? last.email : last.name_key, last.id] : undefined,
    };
  }
}
