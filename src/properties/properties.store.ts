// SQL of properties (migration 0030): categories, definitions, and their values on users,
// organizations and applications, plus the two reads tokens need (public values only).
import type { Selectable } from "kysely";
import type { Db } from "../storage/database.js";
import type {
  PropertiesTable,
  PropertyCategoriesTable,
  PropertyContext,
  PropertyType,
} from "../storage/schema.js";
import { newCategoryId, newPropertyId } from "./ids.js";

export type PropertyRow = Selectable<PropertiesTable>;
export type CategoryRow = Selectable<PropertyCategoriesTable>;

/** Whose values: a user's (id), an organization's (code) or an application's (id). */
export interface Owner {
  context: PropertyContext;
  id: string;
}

/** Kinde's token claim of one property: `{v}` when it has a value, `{}` when it has none. */
export type PropertyClaim = { v?: string };
export type PropertiesClaim = Record<string, PropertyClaim>;

export interface PageQuery {
  limit: number;
  startingAfter?: string;
  endingBefore?: string;
  context?: PropertyContext;
}

export interface PropertyInput {
  context: PropertyContext;
  key: string;
  name: string;
  description: string | null;
  type: PropertyType;
  isPrivate: boolean;
  categoryId: string;
}

/** Another property of the same context has this key. */
export class PropertyKeyTakenError extends Error {
  constructor(readonly key: string) {
    super(`A property with the key ${key} already exists`);
    this.name = "PropertyKeyTakenError";
  }
}

/** One value to write: text, or null to clear it. */
export interface ValueChange {
  propertyId: string;
  value: string | null;
}

/** One page in id order (time-ordered ids), and whether more lie beyond it in that direction. */
function paged<T extends { id: string }>(rows: T[], limit: number, backwards: boolean) {
  const hasMore = rows.length > limit;
  const page = rows.slice(0, limit);
  return { rows: backwards ? page.reverse() : page, hasMore };
}

export class PropertiesStore {
  constructor(private readonly db: Db) {}

  // ---- definitions --------------------------------------------------------------------------------

  async properties(query: PageQuery): Promise<{ rows: PropertyRow[]; hasMore: boolean }> {
    let select = this.db.selectFrom("properties").selectAll();
    if (query.context !== undefined) select = select.where("context", "=", query.context);
    const backwards = query.endingBefore !== undefined && query.startingAfter === undefined;
    if (query.startingAfter !== undefined) select = select.where("id", ">", query.startingAfter);
    if (query.endingBefore !== undefined) select = select.where("id", "<", query.endingBefore);
    const rows = await select
      .orderBy("id", backwards ? "desc" : "asc")
      .limit(query.limit + 1)
      .execute();
    return paged(rows, query.limit, backwards);
  }

  findProperty(id: string): Promise<PropertyRow | undefined> {
    return this.db.selectFrom("properties").selectAll().where("id", "=", id).executeTakeFirst();
  }

  findByKey(context: PropertyContext, key: string): Promise<PropertyRow | undefined> {
    return this.db
      .selectFrom("properties")
      .selectAll()
      .where("context", "=", context)
      .where("key", "=", key)
      .executeTakeFirst();
  }

  async byKeys(context: PropertyContext, keys: readonly string[]): Promise<Map<string, PropertyRow>> {
    if (keys.length === 0) return new Map();
    const rows = await this.db
      .selectFrom("properties")
      .selectAll()
      .where("context", "=", context)
      .where("key", "in", [...keys])
      .execute();
    return new Map(rows.map((row) => [row.key, row]));
  }

  async createProperty(input: PropertyInput, now: number): Promise<string> {
    const id = newPropertyId();
    const result = await this.db
      .insertInto("properties")
      .values({
        id,
        context: input.context,
        key: input.key,
        name: input.name,
        description: input.description,
        type: input.type,
        is_private: input.isPrivate ? 1 : 0,
        category_id: input.categoryId,
        is_kinde_property: 0,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.columns(["context", "key"]).doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0) throw new PropertyKeyTakenError(input.key);
    return id;
  }

  async updateProperty(
    id: string,
    changes: { name: string; description?: string | null; isPrivate: boolean; categoryId: string },
    now: number,
  ): Promise<void> {
    await this.db
      .updateTable("properties")
      .set({
        name: changes.name,
        ...(changes.description !== undefined ? { description: changes.description } : {}),
        is_private: changes.isPrivate ? 1 : 0,
        category_id: changes.categoryId,
        updated_at: now,
      })
      .where("id", "=", id)
      .execute();
  }

  /** Its values go with it (foreign keys cascade). */
  async deleteProperty(id: string): Promise<void> {
    await this.db.deleteFrom("properties").where("id", "=", id).execute();
  }

  // ---- categories ---------------------------------------------------------------------------------

  async categories(query: PageQuery): Promise<{ rows: CategoryRow[]; hasMore: boolean }> {
    let select = this.db.selectFrom("property_categories").selectAll();
    if (query.context !== undefined) select = select.where("context", "=", query.context);
    const backwards = query.endingBefore !== undefined && query.startingAfter === undefined;
    if (query.startingAfter !== undefined) select = select.where("id", ">", query.startingAfter);
    if (query.endingBefore !== undefined) select = select.where("id", "<", query.endingBefore);
    const rows = await select
      .orderBy("id", backwards ? "desc" : "asc")
      .limit(query.limit + 1)
      .execute();
    return paged(rows, query.limit, backwards);
  }

  findCategory(id: string): Promise<CategoryRow | undefined> {
    return this.db.selectFrom("property_categories").selectAll().where("id", "=", id).executeTakeFirst();
  }

  async createCategory(name: string, context: PropertyContext, now: number): Promise<string> {
    const id = newCategoryId();
    await this.db
      .insertInto("property_categories")
      .values({ id, name, context, is_kinde_category: 0, created_at: now, updated_at: now })
      .execute();
    return id;
  }

  async renameCategory(id: string, name: string, now: number): Promise<void> {
    await this.db
      .updateTable("property_categories")
      .set({ name, updated_at: now })
      .where("id", "=", id)
      .execute();
  }

  // ---- values -------------------------------------------------------------------------------------

  /** Every property of the owner's context, by key, with the owner's value (null when unset). */
  async values(owner: Owner): Promise<{ property: PropertyRow; value: string | null }[]> {
    const base = this.db.selectFrom("properties").where("properties.context", "=", owner.context);
    let rows: (PropertyRow & { owner_value: string | null })[];
    switch (owner.context) {
      case "usr":
        rows = await base
          .leftJoin("user_property_values as v", (join) =>
            join.onRef("v.property_id", "=", "properties.id").on("v.user_id", "=", owner.id),
          )
          .selectAll("properties")
          .select("v.value as owner_value")
          .orderBy("properties.key")
          .execute();
        break;
      case "org":
        rows = await base
          .leftJoin("organization_property_values as v", (join) =>
            join.onRef("v.property_id", "=", "properties.id").on("v.org_code", "=", owner.id),
          )
          .selectAll("properties")
          .select("v.value as owner_value")
          .orderBy("properties.key")
          .execute();
        break;
      case "app":
        rows = await base
          .leftJoin("application_property_values as v", (join) =>
            join.onRef("v.property_id", "=", "properties.id").on("v.application_id", "=", owner.id),
          )
          .selectAll("properties")
          .select("v.value as owner_value")
          .orderBy("properties.key")
          .execute();
        break;
    }
    // Byte order, decided here: PostgreSQL would sort by its locale, SQLite by bytes.
    return rows
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map(({ owner_value, ...property }) => ({ property, value: owner_value }));
  }

  /** Writes (or, for null, clears) the owner's values; the caller makes it one transaction. */
  async setValues(owner: Owner, changes: readonly ValueChange[], now: number): Promise<void> {
    for (const { propertyId, value } of changes) {
      if (value === null) await this.clear(owner, propertyId);
      else await this.upsert(owner, propertyId, value, now);
    }
  }

  private async upsert(owner: Owner, propertyId: string, value: string, now: number): Promise<void> {
    const set = { value, updated_at: now };
    const row = { property_id: propertyId, ...set };
    switch (owner.context) {
      case "usr":
        await this.db
          .insertInto("user_property_values")
          .values({ user_id: owner.id, ...row })
          .onConflict((oc) => oc.columns(["user_id", "property_id"]).doUpdateSet(set))
          .execute();
        return;
      case "org":
        await this.db
          .insertInto("organization_property_values")
          .values({ org_code: owner.id, ...row })
          .onConflict((oc) => oc.columns(["org_code", "property_id"]).doUpdateSet(set))
          .execute();
        return;
      case "app":
        await this.db
          .insertInto("application_property_values")
          .values({ application_id: owner.id, ...row })
          .onConflict((oc) => oc.columns(["application_id", "property_id"]).doUpdateSet(set))
          .execute();
        return;
    }
  }

  private async clear(owner: Owner, propertyId: string): Promise<void> {
    switch (owner.context) {
      case "usr":
        await this.db
          .deleteFrom("user_property_values")
          .where("user_id", "=", owner.id)
          .where("property_id", "=", propertyId)
          .execute();
        return;
      case "org":
        await this.db
          .deleteFrom("organization_property_values")
          .where("org_code", "=", owner.id)
          .where("property_id", "=", propertyId)
          .execute();
        return;
      case "app":
        await this.db
          .deleteFrom("application_property_values")
          .where("application_id", "=", owner.id)
          .where("property_id", "=", propertyId)
          .execute();
        return;
    }
  }

  /**
   * A new user's values by key (the marketing parameters of their sign-up), in one statement: only
   * keys that name a user property are kept.
   */
  async setNewUserValues(
    userId: string,
    values: Readonly<Record<string, string>>,
    now: number,
  ): Promise<void> {
    const keys = Object.keys(values);
    if (keys.length === 0) return;
    const properties = await this.byKeys("usr", keys);
    const rows = [...properties.values()].map((p) => ({
      user_id: userId,
      property_id: p.id,
      value: values[p.key]!,
      updated_at: now,
    }));
    if (rows.length === 0) return;
    await this.db
      .insertInto("user_property_values")
      .values(rows)
      .onConflict((oc) => oc.columns(["user_id", "property_id"]).doNothing())
      .execute();
  }

  /** Every value of these users, by user then key (the search's expand=properties). */
  async valuesOfUsers(userIds: readonly string[]): Promise<Map<string, Record<string, string>>> {
    const byUser = new Map<string, Record<string, string>>(userIds.map((id) => [id, {}]));
    if (userIds.length === 0) return byUser;
    const rows = await this.db
      .selectFrom("user_property_values as v")
      .innerJoin("properties as p", "p.id", "v.property_id")
      .select(["v.user_id", "p.key", "v.value"])
      .where("v.user_id", "in", [...userIds])
      .orderBy("p.key")
      .execute();
    for (const row of rows) {
      const values = byUser.get(row.user_id);
      if (values) values[row.key] = row.value;
    }
    return byUser;
  }

  // ---- tokens -------------------------------------------------------------------------------------

  /** Kinde's application_properties claim of a machine's tokens, or undefined with none public. */
  async applicationClaim(applicationId: string): Promise<PropertiesClaim | undefined> {
    const rows = await this.db
      .selectFrom("properties as p")
      .leftJoin("application_property_values as a", (join) =>
        join.onRef("a.property_id", "=", "p.id").on("a.application_id", "=", applicationId),
      )
      .select(["p.key", "a.value"])
      .where("p.is_private", "=", 0)
      .where("p.context", "=", "app")
      .orderBy("p.key")
      .execute();
    if (rows.length === 0) return undefined;
    const claim: PropertiesClaim = {};
    for (const row of rows) claim[row.key] = row.value === null ? {} : { v: row.value };
    return claim;
  }
}

/** The user_properties and organization_properties claims from the public properties' rows. */
export function propertiesClaims(
  rows: readonly { context: string; key: string; user_value: string | null; org_value: string | null }[],
): { user_properties?: PropertiesClaim; organization_properties?: PropertiesClaim } {
  const claims: { user_properties?: PropertiesClaim; organization_properties?: PropertiesClaim } = {};
  for (const row of rows) {
    const value = row.context === "usr" ? row.user_value : row.org_value;
    const claim = row.context === "usr" ? "user_properties" : "organization_properties";
    const values = claims[claim] ?? {};
    values[row.key] = value === null ? {} : { v: value };
    claims[claim] = values;
  }
  return claims;
}
