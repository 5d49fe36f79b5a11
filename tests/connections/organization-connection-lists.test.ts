// Migration 0024 on SQLite and PostgreSQL: an installation upgraded with organizations that had
// enabled connections of their own keeps them narrowed (they chose their list), and those that had
// none keep the application's connections; from then on disabling an organization's last connection
// leaves it none (ConnectionsService.enabledFor, also covered through the API in
// connections-api.test.ts).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { systemClock } from "../../src/clock.js";
import { ConnectionsService } from "../../src/connections/connections.service.js";
import { SecretBox } from "../../src/crypto/secret-box.js";
import { openStorage } from "../../src/storage/database.js";
import { migrateToLatest } from "../../src/storage/migrate.js";
import { databaseKinds, freshDatabase } from "../helpers/databases.js";
import { migrateUpTo } from "../helpers/migrations.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`migration 0024: organizations that chose their connections (${kind})`, { skip }, () => {
    it("marks the organizations with enabled connections, and their sign-in never widens afterwards", async () => {
      const database = (await freshDatabase(kind))!;
      const storage = await openStorage(database.target, { poolSize: 2 });
      try {
        await migrateUpTo(storage.db, "0023_external_identities");
        // Before: an application with two connections; orgA enabled one of them, orgB none.
        for (const code of ["org_a", "org_b"])
          await storage.db
            .insertInto("organizations")
            .values({ code, name: code, created_at: 1, updated_at: 1 })
            .execute();
        await storage.db
          .insertInto("applications")
          .values({
            id: "app_1",
            name: "Shop",
            type: "reg",
            client_secret_sealed: null,
            access_token_lifetime: 3600,
            refresh_token_lifetime: 86400,
            id_token_lifetime: 3600,
            created_at: 1,
            updated_at: 1,
            org_code: null,
          })
          .execute();
        const ids = [`conn_${"1".repeat(32)}`, `conn_${"2".repeat(32)}`];
        for (const id of ids) {
          await storage.db
            .insertInto("sign_in_connections")
            .values({
              id,
              name: id,
              display_name: "Google",
              strategy: "oauth2:google",
              options: JSON.stringify({ client_id: "x" }),
              created_at: 1,
              updated_at: 1,
            })
            .execute();
          await storage.db
            .insertInto("application_sign_in_connections")
            .values({ application_id: "app_1", connection_id: id, created_at: 1 })
            .execute();
        }
        await storage.db
          .insertInto("organization_sign_in_connections")
          .values({ org_code: "org_a", connection_id: ids[0]!, created_at: 5 })
          .execute();

        await migrateToLatest(storage.db);
        const marked = await storage.db.selectFrom("organization_connection_lists").selectAll().execute();
        assert.deepEqual(
          marked.map((r) => ({ ...r, created_at: Number(r.created_at) })),
          [{ org_code: "org_a", created_at: 5 }],
        );

        const connections = new ConnectionsService(storage.db, new SecretBox(randomBytes(32)), systemClock, {
          allowPrivateNetworks: false,
        });
        const offered = async (org: string) => (await connections.enabledFor("app_1", org)).map((c) => c.id);
        assert.deepEqual(await offered("org_a"), [ids[0]]);
        assert.deepEqual(await offered("org_b"), ids, "org_b never chose: the application's");
        assert.equal(await connections.disableForOrganization("org_a", ids[0]!), true);
        assert.deepEqual(await offered("org_a"), [], "its last one disabled: none, not the application's");
      } finally {
        await storage.close();
        await database.drop();
      }
    });
  });
}
