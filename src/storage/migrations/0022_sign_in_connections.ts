import type { Kysely } from "kysely";

// Kinde's connections (issue 17): the upstream providers people sign in through (Google, GitHub,
// Entra ID, any OpenID provider …), enabled per application and per organization. The table name
// `connections` already holds connected apps' per-user connections, hence `sign_in_connections`.
// The client secret is the only secret and is sealed with the master key (AAD: the connection id);
// `options` holds everything else as JSON. Home-realm domains live in a table of their own whose
// primary key is the domain, so "which connection owns this domain" is one index lookup and no
// domain can point at two connections.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("sign_in_connections")
    // `conn_` + 32 hex, the first 12 the creation time in milliseconds: ids sort by creation
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("display_name", "text", (c) => c.notNull())
    // oauth2:google … oauth2:azure_ad (Kinde's), oidc:custom and oauth2:custom (Latchkey's)
    .addColumn("strategy", "text", (c) => c.notNull())
    // JSON: the strategy's options without the client secret and without home-realm domains
    .addColumn("options", "text", (c) => c.notNull())
    .addColumn("client_secret_sealed", "text")
    // Enterprise connections an organization manages; they go with it
    .addColumn("organization_code", "text", (c) => c.references("organizations.code").onDelete("cascade"))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("sign_in_connections_organization")
    .on("sign_in_connections")
    .column("organization_code")
    .execute();

  await db.schema
    .createTable("sign_in_connection_domains")
    // Canonical (IDNA A-label, lower case, no trailing dot): what an e-mail address's domain becomes
    .addColumn("domain", "text", (c) => c.primaryKey().notNull())
    .addColumn("connection_id", "text", (c) =>
      c.notNull().references("sign_in_connections.id").onDelete("cascade"),
    )
    .execute();
  await db.schema
    .createIndex("sign_in_connection_domains_connection")
    .on("sign_in_connection_domains")
    .columns(["connection_id", "domain"])
    .execute();

  await db.schema
    .createTable("application_sign_in_connections")
    .addColumn("application_id", "text", (c) => c.notNull().references("applications.id").onDelete("cascade"))
    .addColumn("connection_id", "text", (c) =>
      c.notNull().references("sign_in_connections.id").onDelete("cascade"),
    )
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("application_sign_in_connections_pk", ["application_id", "connection_id"])
    .execute();
  await db.schema
    .createIndex("application_sign_in_connections_connection")
    .on("application_sign_in_connections")
    .columns(["connection_id", "application_id"])
    .execute();

  await db.schema
    .createTable("organization_sign_in_connections")
    .addColumn("org_code", "text", (c) => c.notNull().references("organizations.code").onDelete("cascade"))
    .addColumn("connection_id", "text", (c) =>
      c.notNull().references("sign_in_connections.id").onDelete("cascade"),
    )
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("organization_sign_in_connections_pk", ["org_code", "connection_id"])
    .execute();
  await db.schema
    .createIndex("organization_sign_in_connections_connection")
    .on("organization_sign_in_connections")
    .columns(["connection_id", "org_code"])
    .execute();
}
