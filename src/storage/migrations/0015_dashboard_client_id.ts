import type { Kysely } from "kysely";

// The admin dashboard's application, stored. Until now it was "the oldest front-end application
// whose callback URL is <ISSUER_URL>/admin/callback", a URL any application could register: one
// registered for a future ISSUER_URL became the dashboard (and received every Management API scope)
// when the operator changed it. From here the stored id is the only truth (src/dashboard/
// dashboard-app.ts). Deleting that application clears it, and the next start registers a new one.
//
// Existing installations keep the application their last start recognised, found by the old rule
// under the issuer of that start — which the Management API's audience records (`<issuer>/api`,
// rewritten by every start) — not under the ISSUER_URL of the start that runs this migration, so
// an upgrade made together with an ISSUER_URL change adopts the real dashboard, not an impostor.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("business")
    .addColumn("dashboard_client_id", "text", (c) => c.references("applications.id").onDelete("set null"))
    .execute();

  const api = await db
    .selectFrom("apis")
    .select("audience")
    .where("is_management_api", "=", 1)
    .executeTakeFirst();
  const audience: unknown = api?.audience;
  if (typeof audience !== "string" || !audience.endsWith("/api")) return;
  const callback = `${audience.slice(0, -"/api".length)}/admin/callback`;
  const dashboard = await db
    .selectFrom("applications")
    .innerJoin("application_urls", "application_urls.application_id", "applications.id")
    .select("applications.id")
    .where("applications.type", "=", "spa")
    .where("application_urls.kind", "=", "callback")
    .where("application_urls.url", "=", callback)
    .orderBy("applications.created_at")
    .orderBy("applications.id")
    .executeTakeFirst();
  if (dashboard) await db.updateTable("business").set({ dashboard_client_id: dashboard.id }).execute();
}
