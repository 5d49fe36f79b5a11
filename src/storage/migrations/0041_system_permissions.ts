import { createHash } from "node:crypto";
import type { Kysely } from "kysely";

// Kinde's system permissions (issue 19): the catalogue and which roles carry them.
// - system_permissions: a fixed list (src/system-permissions/catalogue.ts), seeded here. Ids are
//   derived from the key (perm_ + 32 hex of SHA-256), so every installation agrees on them.
//   The list is written out here, not imported: a migration must not change with later code.
// - role_system_permissions: a role's system permissions; they go with the role.
const SEED: readonly [key: string, name: string, description: string][] = [
  [
    "org:read:billing",
    "Read billing details",
    "Kinde's billing permission; Latchkey has no billing, so it grants nothing here",
  ],
  [
    "org:write:billing",
    "Update billing details",
    "Kinde's billing permission; Latchkey has no billing, so it grants nothing here",
  ],
  ["org:read:members", "Read members", "See the organization's members in the self-service portal"],
  [
    "org:write:members",
    "Manage members",
    "Invite people to the organization and remove its members in the self-service portal",
  ],
  [
    "org:write:details",
    "Update organization details",
    "Change the organization's name in the self-service portal",
  ],
];

const idOf = (key: string) =>
  `perm_${createHash("sha256").update(`latchkey-system-permission:${key}`).digest("hex").slice(0, 32)}`;

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("system_permissions")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("key", "text", (c) => c.notNull().unique())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("description", "text", (c) => c.notNull())
    .execute();
  await db
    .insertInto("system_permissions")
    .values(SEED.map(([key, name, description]) => ({ id: idOf(key), key, name, description })))
    .execute();

  await db.schema
    .createTable("role_system_permissions")
    .addColumn("role_id", "text", (c) => c.notNull().references("roles.id").onDelete("cascade"))
    .addColumn("system_permission_id", "text", (c) =>
      c.notNull().references("system_permissions.id").onDelete("cascade"),
    )
    .addPrimaryKeyConstraint("role_system_permissions_pk", ["role_id", "system_permission_id"])
    .execute();
  await db.schema
    .createIndex("role_system_permissions_permission")
    .on("role_system_permissions")
    .column("system_permission_id")
    .execute();
}
