import { randomBytes } from "node:crypto";
import { type Kysely, PostgresAdapter, sql } from "kysely";

// Kinde's properties (issue 19; src/properties/): custom data kept on users, organizations and
// applications, and carried in their tokens when public.
// - property_categories: how properties are grouped, each for one context (usr, org or app).
// - properties: a definition. The key is what code and tokens name it by; it is unique within its
//   context only, because Kinde's built-in marketing properties (utm_source …) exist for users and
//   organizations alike under the same keys. is_kinde_property marks the built-ins seeded here.
// - user_property_values, organization_property_values, application_property_values: the values,
//   one row per (owner, property), going with their owner and with their property.
// The user values are indexed by (property_id, value) for the user search's properties filter.
// Application values and definitions move config_generation (0009): the client-credentials grant
// takes a machine's public properties from the configuration cache.

/** Kinde's built-in properties, their keys, names and categories. */
const USER_DETAILS: [string, string][] = [
  ["kp_usr_city", "City"],
  ["kp_usr_industry", "Industry"],
  ["kp_usr_is_marketing_opt_in", "Marketing opt-in"],
  ["kp_usr_job_title", "Job title"],
  ["kp_usr_middle_name", "Middle name"],
  ["kp_usr_postcode", "Postcode"],
  ["kp_usr_salutation", "Salutation"],
  ["kp_usr_state_region", "State or region"],
  ["kp_usr_street_address", "Street address"],
  ["kp_usr_street_address_2", "Street address line 2"],
];
const ORGANIZATION_DETAILS: [string, string][] = [
  ["kp_org_city", "City"],
  ["kp_org_industry", "Industry"],
  ["kp_org_postcode", "Postcode"],
  ["kp_org_state_region", "State or region"],
  ["kp_org_street_address", "Street address"],
  ["kp_org_street_address_2", "Street address line 2"],
];
/** The marketing parameters @kinde/js-utils sends to /oauth2/auth, in Kinde's three categories. */
const MARKETING: [string, [string, string][]][] = [
  [
    "UTM tags",
    [
      ["utm_source", "UTM source"],
      ["utm_medium", "UTM medium"],
      ["utm_campaign", "UTM campaign"],
      ["utm_content", "UTM content"],
      ["utm_term", "UTM term"],
    ],
  ],
  [
    "Google Ads tracking",
    [
      ["gclid", "Google click identifier"],
      ["click_id", "Click identifier"],
      ["hsa_acc", "HSA account"],
      ["hsa_cam", "HSA campaign"],
      ["hsa_grp", "HSA ad group"],
      ["hsa_ad", "HSA ad"],
      ["hsa_src", "HSA source"],
      ["hsa_tgt", "HSA target"],
      ["hsa_kw", "HSA keyword"],
      ["hsa_mt", "HSA match type"],
      ["hsa_net", "HSA network"],
      ["hsa_ver", "HSA version"],
    ],
  ],
  [
    "Marketing",
    [
      ["match_type", "Match type"],
      ["keyword", "Keyword"],
      ["device", "Device"],
      ["ad_group_id", "Ad group"],
      ["campaign_id", "Campaign"],
      ["creative", "Creative"],
      ["network", "Network"],
      ["ad_position", "Ad position"],
      ["fbclid", "Facebook click identifier"],
      ["li_fat_id", "LinkedIn click identifier"],
      ["msclkid", "Microsoft click identifier"],
      ["twclid", "X (Twitter) click identifier"],
      ["ttclid", "TikTok click identifier"],
    ],
  ],
];

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("property_categories")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("context", "text", (c) => c.notNull())
    .addColumn("is_kinde_category", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("properties")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("context", "text", (c) => c.notNull())
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("description", "text")
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("is_private", "integer", (c) => c.notNull())
    .addColumn("category_id", "text", (c) => c.notNull().references("property_categories.id"))
    .addColumn("is_kinde_property", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addUniqueConstraint("properties_context_key", ["context", "key"])
    .execute();

  const values = [
    ["user_property_values", "user_id", "users.id"],
    ["organization_property_values", "org_code", "organizations.code"],
    ["application_property_values", "application_id", "applications.id"],
  ] as const;
  for (const [table, owner, references] of values) {
    await db.schema
      .createTable(table)
      .addColumn(owner, "text", (c) => c.notNull().references(references).onDelete("cascade"))
      .addColumn("property_id", "text", (c) => c.notNull().references("properties.id").onDelete("cascade"))
      .addColumn("value", "text", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint(`${table}_pk`, [owner, "property_id"])
      .execute();
    // Deleting a property deletes its values: found by property, not scanned for.
    await db.schema.createIndex(`${table}_property`).on(table).columns(["property_id"]).execute();
  }
  // The search's properties[key]=value filter: equality on (property, value).
  await db.schema
    .createIndex("user_property_values_property_value")
    .on("user_property_values")
    .columns(["property_id", "value"])
    .execute();

  await seedBuiltIns(db);

  const bumped = ["properties", "application_property_values"];
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    for (const table of bumped) {
      await sql`
        create trigger ${sql.id(`${table}_config_generation`)}
        after insert or update or delete or truncate on ${sql.table(table)}
        for each statement execute function latchkey_bump_config_generation()`.execute(db);
    }
    return;
  }
  for (const table of bumped) {
    for (const event of ["insert", "update", "delete"] as const) {
      await sql`
        create trigger ${sql.id(`${table}_config_generation_${event}`)}
        after ${sql.raw(event)} on ${sql.table(table)}
        begin
          update config_generation set generation = generation + 1 where id = 1;
        end`.execute(db);
    }
  }
}

/**
 * Kinde's built-ins: the profile details (public, as Kinde's SDKs read kp_usr_* and kp_org_* from
 * tokens) and the marketing parameters for users and organizations (private: attribution data
 * stays out of tokens until an administrator makes a property public).
 */
// biome-ignore lint/suspicious/noExplicitAny: as up()
async function seedBuiltIns(db: Kysely<any>): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  let sequence = Date.now();
  // Time-ordered like the ids the API creates (src/properties/ids.ts), in the order listed here.
  const id = (prefix: string) =>
    `${prefix}_${(sequence++).toString(16).padStart(12, "0").slice(-12)}${randomBytes(10).toString("hex")}`;
  const categories: Record<string, unknown>[] = [];
  const properties: Record<string, unknown>[] = [];
  const category = (name: string, context: string) => {
    const row = { id: id("cat"), name, context, is_kinde_category: 1, created_at: now, updated_at: now };
    categories.push(row);
    return row.id;
  };
  const property = (context: string, categoryId: string, key: string, name: string, isPrivate: boolean) =>
    properties.push({
      id: id("prop"),
      context,
      key,
      name,
      description: null,
      type: "single_line_text",
      is_private: isPrivate ? 1 : 0,
      category_id: categoryId,
      is_kinde_property: 1,
      created_at: now,
      updated_at: now,
    });
  const userDetails = category("User details", "usr");
  for (const [key, name] of USER_DETAILS) property("usr", userDetails, key, name, false);
  const organizationDetails = category("Organization details", "org");
  for (const [key, name] of ORGANIZATION_DETAILS) property("org", organizationDetails, key, name, false);
  for (const context of ["usr", "org"]) {
    for (const [categoryName, keys] of MARKETING) {
      const categoryId = category(categoryName, context);
      for (const [key, name] of keys) property(context, categoryId, key, name, true);
    }
  }
  await db.insertInto("property_categories").values(categories).execute();
  await db.insertInto("properties").values(properties).execute();
}
