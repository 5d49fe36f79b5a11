import type { Kysely } from "kysely";

// The generated Management API application (bootstrap.ts), stored. Until now every start found it
// as "an authorised machine application named Latchkey Management (bootstrap)" and granted it every
// Management API scope — a name any machine holding `update:applications` could give its own
// application (or `create:applications` a new one), to be handed every scope at the next start.
// From here the stored id is the only truth; deleting that application clears it.
//
// Existing installations keep the application bootstrap created: the oldest machine application of
// that name (an impostor renamed later is younger). An installation configured with
// BOOTSTRAP_M2M_CLIENT_ID names its application itself and needs none.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("business")
    .addColumn("bootstrap_client_id", "text", (c) => c.references("applications.id").onDelete("set null"))
    .execute();
  const generated = await db
    .selectFrom("applications")
    .select("id")
    .where("type", "=", "m2m")
    .where("name", "=", "Latchkey Management (bootstrap)")
    .orderBy("created_at")
    .orderBy("id")
    .executeTakeFirst();
  if (generated) await db.updateTable("business").set({ bootstrap_client_id: generated.id }).execute();
}
