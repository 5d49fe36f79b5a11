// Kinde's Management API client (@kinde/management-api-js, unchanged) drives Latchkey's webhooks:
// it creates, lists, updates and deletes a webhook, lists the event types, and reads back an event
// it caused (Users.createUser) after the event reached its receiver and Kinde's @kinde/webhooks
// verified it. Every answer is checked against the client's own response schemas (the `$…`
// objects the package ships, generated from Kinde's specification like its types), and every
// error is Kinde's {errors: [{code, message}]} with the status the step calls for. Both databases.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { EVENT_TYPES } from "../../src/events/event-types.js";
import { databaseKinds } from "../helpers/databases.js";
import { assertSdkShape, runKindeScript, sdkShapeErrors } from "../helpers/kinde-script.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { selfSignedCertificate } from "../helpers/tls.js";

type Json = Record<string, unknown>;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

for (const { kind, skip } of await databaseKinds()) {
  describe(`@kinde/management-api-js drives webhooks (${kind})`, { skip }, () => {
    const certificate = selfSignedCertificate();
    let server: TestServer;
    before(async () => {
      // The script's receiver listens on loopback, which only this setting lets an endpoint name.
      server = await startTestServer(kind, {
        tls: certificate,
        env: { WEBHOOKS_ALLOW_PRIVATE_NETWORKS: "true" },
      });
    });
    after(async () => {
      await server?.close();
      certificate.remove();
    });

    it("creates, lists, updates and deletes a webhook, lists event types and reads an event", async () => {
      const tag = randomBytes(4).toString("hex");
      const { ok, refused } = await runKindeScript(
        server,
        certificate,
        "tests/webhooks/kinde-management-webhooks.ts",
        [tag],
      );

      // Event types: Latchkey's catalog, each with its data's JSON Schema.
      const types = ok("getEventTypes");
      assertSdkShape("get_event_types_response", types);
      assert.deepEqual(
        types.event_types,
        EVENT_TYPES.map((t) => ({ ...t })),
      );
      assert.ok(
        (types.event_types as { code: string }[]).some((t) => t.code === "user.created"),
        "user.created is offered",
      );

      refused("createWebHook:unknown-event-type", 400, "INVALID_EVENT_TYPE");
      refused("createWebHook:blank-name", 400, "INVALID_REQUEST");

      // Created: {code, message, webhook: {id, endpoint}}.
      const created = ok("createWebHook");
      assertSdkShape("create_webhook_response", created);
      const webhook = created.webhook as { id: string; endpoint: string };
      assert.match(webhook.id, /^webhook_[0-9a-f]{32}$/);
      assert.match(webhook.endpoint, new RegExp(`^http://127\\.0\\.0\\.1:\\d+/kinde/${tag}$`));
      assert.equal(typeof created.code, "string");
      assert.equal(typeof created.message, "string");

      // Listed as created, then as updated.
      const listedAs = (name: string) => {
        const listed = ok(name);
        assertSdkShape("get_webhooks_response", listed);
        return (listed.webhooks as Json[]).find((w) => w.id === webhook.id);
      };
      const first = listedAs("getWebHooks");
      assert.ok(first, "the new webhook is listed");
      assert.equal(first.name, `Receiver ${tag}`);
      assert.equal(first.endpoint, webhook.endpoint);
      assert.equal(first.description, "Made by management-api-js");
      assert.deepEqual(first.event_types, ["user.created"]);
      assert.match(first.created_on as string, ISO);

      const updated = ok("updateWebHook");
      assertSdkShape("update_webhook_response", updated);
      assert.deepEqual(updated.webhook, { id: webhook.id });
      const second = listedAs("getWebHooks:updated");
      assert.ok(second, "the updated webhook is listed");
      assert.equal(second.name, `Renamed ${tag}`, "the name is stored trimmed");
      assert.equal(second.description, "Changed by management-api-js");
      assert.deepEqual(second.event_types, ["user.created", "user.updated"]);
      assert.equal(second.endpoint, webhook.endpoint, "the endpoint stays");
      assert.equal(second.created_on, first.created_on);
      refused("updateWebHook:blank-name", 400, "INVALID_REQUEST");

      // The event the script caused, as delivered and verified, then as GetEvent answers it.
      const userId = ok("createUser").id as string;
      const { iat, exp, ...delivered } = ok("decodeWebhook");
      assert.equal(typeof iat, "number");
      assert.equal(exp, Number(iat) + 3600, "a signed event expires an hour after it was signed");
      assert.equal(delivered.type, "user.created");
      assert.equal((delivered.data as { user: { id: string } }).user.id, userId);
      const read = ok("getEvent");
      assert.deepEqual(read.event, delivered, "GetEvent answers the event the webhook carried");
      const stored = await server.services.webhooks.store.findEvent(delivered.event_id as string);
      assert.equal(stored?.user_id, userId, "the event is the user's row in the events table");
      // Kinde's schema types `timestamp` an integer while describing it as ISO 8601; Latchkey
      // answers the ISO 8601 string of the webhook body (see EventResponse in webhooks.schemas.ts).
      // That is the one way the answer departs from the SDK's schema.
      assert.deepEqual(sdkShapeErrors("get_event_response", read), ["/event/timestamp: must be integer"]);
      assert.match((read.event as Json).timestamp as string, ISO);
      assert.equal(
        Date.parse((read.event as Json).timestamp as string),
        Number(stored?.occurred_at_ms),
        "the time the event happened, to the millisecond",
      );

      refused("getEvent:unknown", 404, "EVENT_NOT_FOUND");
      refused("updateWebHook:unknown", 404, "WEBHOOK_NOT_FOUND");

      // Deleted: gone from the list and from the database; deleting again is a 404.
      assertSdkShape("delete_webhook_response", ok("deleteWebHook"));
      refused("deleteWebHook:again", 404, "WEBHOOK_NOT_FOUND");
      assert.equal(listedAs("getWebHooks:deleted"), undefined, "the deleted webhook is not listed");
      assert.equal(await server.services.webhooks.store.find(webhook.id), undefined);
    });
  });
}
