import type { Insertable, Selectable } from "kysely";
import {
  type Count,
  cappedCount,
  FILTERED_COUNT_CAP,
  isPostgres,
  lowerStartsWith,
  tableCount,
} from "../management/listing.js";
import type { Db } from "../storage/database.js";
import type { ApplicationsTable, ApplicationUrlKind } from "../storage/schema.js";

export type ApplicationRow = Selectable<ApplicationsTable>;

export class ApplicationsStore {
  constructor(private readonly db: Db) {}

  findById(id: string): Promise<ApplicationRow | undefined> {
    return this.db.selectFrom("applications").selectAll().where("id", "=", id).executeTakeFirst();
  }

  list(): Promise<ApplicationRow[]> {
    return this.db.selectFrom("applications").selectAll().orderBy("created_at").orderBy("id").execute();
  }

  async insert(row: Insertable<ApplicationsTable>): Promise<void> {
    await this.db.insertInto("applications").values(row).execute();
  }

  async update(id: string, changes: Partial<Omit<Insertable<ApplicationsTable>, "id">>): Promise<void> {
    await this.db.updateTable("applications").set(changes).where("id", "=", id).execute();
  }

  async urls(id: string, kind: ApplicationUrlKind): Promise<string[]> {
    const rows = await this.db
      .selectFrom("application_urls")
      .select("url")
      .where("application_id", "=", id)
      .where("kind", "=", kind)
      .orderBy("created_at")
      .orderBy("url")
      .execute();
    return rows.map((r) => r.url);
  }

  async replaceUrls(
    id: string,
    kind: ApplicationUrlKind,
    urls: readonly string[],
    now: number,
  ): Promise<void> {
    await this.db
      .deleteFrom("application_urls")
      .where("application_id", "=", id)
      .where("kind", "=", kind)
      .execute();
    await this.addUrls(id, kind, urls, now);
  }

  async removeUrls(id: string, kind: ApplicationUrlKind, urls: readonly string[]): Promise<number> {
    if (urls.length === 0) return 0;
    const result = await this.db
      .deleteFrom("application_urls")
      .where("application_id", "=", id)
      .where("kind", "=", kind)
      .where("url", "in", urls)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom("applications").where("id", "=", id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /**
   * One page in name or creation order (oldest first, or newest first: Latchkey's created_on_desc),
   * after the keyset cursor `after`, of the applications whose name starts with a normalized `prefix`.
   */
  async page(options: {
    sort: "name_asc" | "name_desc" | "created" | "created_on_desc";
    limit: number;
    after?: { key: string | number; id: string };
    prefix?: string;
  }): Promise<ApplicationRow[]> {
    const column = options.sort === "created" || options.sort === "created_on_desc" ? "created_at" : "name";
    const descending = options.sort === "name_desc" || options.sort === "created_on_desc";
    let query = this.db.selectFrom("applications").selectAll();
    const prefix = options.prefix;
    if (prefix !== undefined) {
      const postgres = isPostgres(this.db);
      query = query.where((eb) => lowerStartsWith(postgres, eb, "applications.name", prefix));
    }
    if (options.after) {
      const { key, id } = options.after;
      query = query.where((eb) =>
        eb.or([
          eb(column, descending ? "<" : ">", key as never),
          eb.and([eb(column, "=", key as never), eb("id", descending ? "<" : ">", id)]),
        ]),
      );
    }
    return query
      .orderBy(column, descending ? "desc" : "asc")
      .orderBy("id", descending ? "desc" : "asc")
      .limit(options.limit)
      .execute();
  }

  /** How many applications there are, or how many names start with `prefix` (listing.ts). */
  count(prefix: string | undefined): Promise<Count> {
    if (prefix === undefined) return tableCount(this.db, "applications");
    const postgres = isPostgres(this.db);
    return cappedCount(
      this.db
        .selectFrom("applications")
        .select("id")
        .where((eb) => lowerStartsWith(postgres, eb, "applications.name", prefix))
        .limit(FILTERED_COUNT_CAP + 1),
    );
  }

  async addUrls(id: string, kind: ApplicationUrlKind, urls: readonly string[], now: number): Promise<void> {
    if (urls.length === 0) return;
    await this.db
      .insertInto("application_urls")
      .values(urls.map((url) => ({ application_id: id, kind, url, created_at: now })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  /** True when any application registered `url` as a logout URL (Kinde's /logout has no client_id). */
  async isAnyLogoutUrl(url: string): Promise<boolean> {
    const row = await this.db
      .selectFrom("application_urls")
      .select("application_id")
      .where("kind", "=", "logout")
      .where("url", "=", url)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** The longest access or ID token lifetime of any application: how long a retired key stays published. */
  async longestTokenLifetime(): Promise<number> {
    const row = await this.db
      .selectFrom("applications")
      .select((eb) => [
        eb.fn.max("access_token_lifetime").as("access"),
        eb.fn.max("id_token_lifetime").as("id"),
      ])
      .executeTakeFirst();
    return Math.max(Number(row?.access ?? 0), Number(row?.id ?? 0), 86_400);
  }

  /** Callback URLs of front-end applications: their origins may call the token endpoint (CORS). */
  async spaCallbackUrls(): Promise<string[]> {
    const rows = await this.db
      .selectFrom("application_urls")
      .innerJoin("applications", "applications.id", "application_urls.application_id")
      .select("application_urls.url")
      .where("applications.type", "=", "spa")
      .where("application_urls.kind", "=", "callback")
      .execute();
    return rows.map((r) => r.url);
  }
}
