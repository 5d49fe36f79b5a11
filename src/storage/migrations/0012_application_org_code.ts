import type { Kysely } from "kysely";

// Kinde's org-scoped machine-to-machine applications: `org_code` on an m2m application puts that
// organization in every client-credentials token it gets. The application belongs to the
// organization, so deleting the organization deletes it (and, by their own cascades, its grants).
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("applications")
    .addColumn("org_code", "text", (c) => c.references("organizations.code").onDelete("cascade"))
    .execute();
}
