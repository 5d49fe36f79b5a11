// Webhooks end to end: events written with the changes that cause them, delivered to a real HTTP
// receiver as JWTs that Kinde's own `@kinde/webhooks` package (decodeWebhook, unchanged) verifies
// against Latchkey's JWKS; each endpoint's queue in event order through an outage, with backoff;
// an endpoint failing for 72 hours disabled; a rolled-back change leaves no event.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { decodeWebhook } from "@kinde/webhooks";
import type { Clock } from "../../src/clock.js";
import { EVENT_TYPES } from "../../src/events/event-types.js";
import { EVENT_RETENTION_SECONDS, purgeExpired } from "../../src/storage/purge.js";
import { WebhooksService } from "../../src/webhooks/webhooks.service.js";
import { WEBHOOK_GIVE_UP_SECONDS } from "../../src/webhooks/worker.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A webhook receiver: records every POST; answers 503 while `failing`. */
class Receiver {
  readonly received: Received[] = [];
  failing = false;
  private server: Server | undefined;
  url = "";

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      let body = "";
      request.setEncoding("utf8");
      request.on("data", (chunk: string) => {
        body += chunk;
      });
      request.on("end", () => {
        if (this.failing) {
          response.writeHead(503).end("down for maintenance");
          return;
        }
        this.received.push({
          path: new URL(request.url ?? "/", "http://x").pathname,
          headers: request.headers,
          body,
        });
        response.writeHead(200, { "content-type": "text/plain" }).end("ok");
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** What reached one endpoint path. */
  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

interface DecodedEvent {
  type: string;
  event_id: string;
  source: string;
  timestamp: string;
  data: Record<string, Record<string, unknown>>;
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`webhooks (${kind})`, { skip }, () => {
    let server: TestServer;
    const receiver = new Receiver();
    let offset = 0;
    const clock: Clock = { now: () => Math.floor(Date.now() / 1000) + offset };

    before(async () => {
      await receiver.start();
      server = await startTestServer(kind, { clock, env: { WEBHOOKS_ALLOW_PRIVATE_NETWORKS: "true" } });
    });
    after(async () => {
      await server?.close();
      await receiver.close();
    });

    /** A webhook to its own path on the receiver (its query carries the receiver's own secret). */
    async function subscribe(eventTypes: string[]): Promise<{ id: string; path: string }> {
      const path = `/hooks/${randomBytes(4).toString("hex")}`;
      const created = await callApi<{ webhook: { id: string; endpoint: string } }>(
        server,
        "POST",
        "/api/v1/webhooks",
        {
          body: {
            endpoint: `${receiver.url}${path}?token=receiver-secret`,
            event_types: eventTypes,
            name: `Receiver ${path}`,
          },
        },
      );
      assert.equal(created.status, 200, JSON.stringify(created.body));
      return { id: created.body.webhook.id, path };
    }

    /** Signs in with a wrong password on the hosted page (a 401 page, no redirect). */
    async function failSignIn(clientId: string, email: string): Promise<void> {
      const agent = new UserAgent(server.url);
      const next = await agent.redirectFrom(authorizationUrl(server, clientId, CALLBACK));
      const form = await agent.openForm(new URL(`/auth/sign-in${next.search}`, server.url));
      const response = await agent.request("/auth/sign-in", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ ...form, email, password: "not-the-password" }),
      });
      assert.equal(response.status, 401);
    }

    async function unsubscribe(id: string): Promise<void> {
      assert.equal((await callApi(server, "DELETE", `/api/v1/webhooks/${id}`)).status, 200);
    }

    async function createUserByApi(email: string): Promise<string> {
      const created = await callApi<{ id: string }>(server, "POST", "/api/v1/user", {
        body: {
          profile: { given_name: "Ada", family_name: "Lovelace" },
          identities: [{ type: "email", is_verified: true, details: { email } }],
        },
      });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      return created.body.id;
    }

    async function decoded(path: string, from = 0): Promise<DecodedEvent[]> {
      const events: DecodedEvent[] = [];
      for (const { body } of receiver.at(path).slice(from)) {
        const event = await decodeWebhook<DecodedEvent>(body, server.url);
        assert.ok(event, `decodeWebhook refused a delivered body: ${body.slice(0, 80)}…`);
        events.push(event);
      }
      return events;
    }

    async function deliveries(webhookId: string) {
      const page = await callApi<{
        deliveries: {
          id: string;
          event_id: string;
          status: string;
          attempts: number;
          last_status_code: number | null;
          last_error: string | null;
        }[];
      }>(server, "GET", `/api/v1/webhooks/${webhookId}/deliveries?page_size=50`);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      return page.body.deliveries;
    }

    it("delivers user events as JWTs that Kinde's decodeWebhook verifies, in order, with webhook-id", async () => {
      const { id: webhookId, path } = await subscribe(
        EVENT_TYPES.filter((t) => t.code.startsWith("user.")).map((t) => t.code),
      );
      const email = `hooked-${randomBytes(3).toString("hex")}@example.com`;
      const userId = await createUserByApi(email);
      const patched = await callApi(server, "PATCH", `/api/v1/user?id=${userId}`, {
        body: { given_name: "Augusta" },
      });
      assert.equal(patched.status, 200);
      const password = `Pw-${randomBytes(8).toString("hex")}`;
      assert.equal(
        (await callApi(server, "PUT", `/api/v1/users/${userId}/password`, { body: { password } })).status,
        200,
      );

      // A wrong password, then the right one, on the hosted sign-in page.
      const app = await createApplication(server, "spa");
      await failSignIn(app.clientId, email);
      const right = new UserAgent(server.url);
      const signedIn = await right.authorize(authorizationUrl(server, app.clientId, CALLBACK), {
        email,
        password,
      });
      assert.ok(signedIn.searchParams.get("code"), `no code: ${signedIn}`);

      assert.equal((await callApi(server, "DELETE", `/api/v1/user?id=${userId}`)).status, 200);

      const expected = [
        "user.created",
        "user.updated",
        "user.authentication_failed",
        "user.authenticated",
        "user.deleted",
      ];
      await until("five deliveries", () => receiver.at(path).length >= expected.length || undefined);
      const events = await decoded(path);
      assert.deepEqual(
        events.map((e) => e.type),
        expected,
      );
      const [created, updated, failed, authenticated, deleted] = events as [
        DecodedEvent,
        DecodedEvent,
        DecodedEvent,
        DecodedEvent,
        DecodedEvent,
      ];
      assert.equal(created.source, "api");
      assert.equal(created.data.user!.id, userId);
      assert.equal(created.data.user!.email, email);
      assert.equal(created.data.user!.first_name, "Ada");
      assert.equal(created.data.user!.is_suspended, false);
      const orgs = created.data.user!.organizations as { code: string; roles: string[] }[];
      assert.equal(orgs.length, 1, "a new user is in the default organization");
      assert.equal(updated.data.user!.first_name, "Augusta");
      assert.equal(failed.source, "user");
      assert.deepEqual(failed.data, { user: { id: userId } });
      assert.deepEqual(authenticated.data, { user: { id: userId } });
      assert.deepEqual(deleted.data, { user: { id: userId } });
      assert.ok(!Number.isNaN(Date.parse(created.timestamp)));

      // Headers: the body is a JWT, and webhook-id is the event id (the receiver's de-duplication key).
      for (const [index, { headers }] of receiver.at(path).entries()) {
        assert.equal(headers["content-type"], "application/jwt");
        assert.equal(headers["webhook-id"], events[index]!.event_id);
      }

      // The event is readable through Kinde's GET /events/{event_id}.
      const fetched = await callApi<{ event: DecodedEvent }>(
        server,
        "GET",
        `/api/v1/events/${created.event_id}`,
      );
      assert.equal(fetched.status, 200);
      assert.deepEqual(fetched.body.event.data, created.data);
      assert.equal(
        (await callApi(server, "GET", "/api/v1/events/event_00000000000000000000000000000000")).status,
        404,
      );

      // Each attempt is signed afresh and expires an hour later (RFC 8725 §3.10: no token valid forever).
      const claims = JSON.parse(
        Buffer.from(receiver.at(path)[0]!.body.split(".")[1]!, "base64url").toString("utf8"),
      ) as { iat: number; exp: number };
      assert.equal(claims.exp - claims.iat, 3600);
      // A tampered body is refused by the receiver's library.
      const body = receiver.at(path)[0]!.body;
      const [header, payload, signature] = body.split(".") as [string, string, string];
      const forged = Buffer.from(
        Buffer.from(payload, "base64url").toString("utf8").replace(email, "mallory@example.com"),
      ).toString("base64url");
      assert.equal(await decodeWebhook(`${header}.${forged}.${signature}`, server.url), null);

      const log = await deliveries(webhookId);
      assert.equal(log.length, 5);
      assert.ok(log.every((d) => d.status === "delivered" && d.attempts === 1 && d.last_status_code === 200));
      // The receiver's URL carries its own secret: it appears in no log line.
      assert.ok(!server.logs.text.includes("receiver-secret"));
      await unsubscribe(webhookId);
    });

    it("keeps an endpoint's order through an outage, backing off between attempts", async () => {
      const { id: webhookId, path } = await subscribe(["user.created"]);
      receiver.failing = true;
      const ids: string[] = [];
      for (let i = 0; i < 3; i++)
        ids.push(await createUserByApi(`outage-${i}-${randomBytes(3).toString("hex")}@example.com`));
      // The head of the queue is tried and fails; the two behind it wait their turn.
      const first = await until("a failed attempt", async () => {
        const log = await deliveries(webhookId);
        return log.find((d) => d.attempts === 1) ? log : undefined;
      });
      assert.equal(first.filter((d) => d.attempts > 0).length, 1);
      const head = first.find((d) => d.attempts === 1)!;
      assert.equal(head.last_status_code, 503);
      assert.equal(head.status, "pending");
      const listed = await callApi<{
        webhooks: { id: string; next_attempt_on: string | null; is_enabled: boolean }[];
      }>(server, "GET", "/api/v1/webhooks");
      const hook = listed.body.webhooks.find((w) => w.id === webhookId)!;
      assert.ok(hook.is_enabled);
      const wait = Date.parse(hook.next_attempt_on!) / 1000 - clock.now();
      assert.ok(wait >= 14 && wait <= 31, `first retry in ${wait} s (30 s base, equal jitter)`);

      // Still down at the retry: the next wait is longer.
      offset += 31;
      const second = await until("a second attempt", async () => {
        const log = await deliveries(webhookId);
        return log.find((d) => d.attempts === 2) ? log : undefined;
      });
      assert.equal(second.filter((d) => d.attempts > 0).length, 1);
      const relisted = await callApi<{ webhooks: { id: string; next_attempt_on: string | null }[] }>(
        server,
        "GET",
        "/api/v1/webhooks",
      );
      const wait2 =
        Date.parse(relisted.body.webhooks.find((w) => w.id === webhookId)!.next_attempt_on!) / 1000 -
        clock.now();
      assert.ok(wait2 >= 29 && wait2 <= 61, `second retry in ${wait2} s`);

      // Back up: everything arrives, in the order the users were created.
      receiver.failing = false;
      offset += 61;
      await until("three deliveries", () => receiver.at(path).length >= 3 || undefined);
      const events = await decoded(path);
      assert.deepEqual(
        events.map((e) => e.data.user!.id),
        ids,
      );
      await unsubscribe(webhookId);
    });

    it("disables an endpoint whose deliveries failed for 72 hours, and resumes when re-enabled", async () => {
      const { id: webhookId, path } = await subscribe(["user.created"]);
      receiver.failing = true;
      const userId = await createUserByApi(`abandoned-${randomBytes(3).toString("hex")}@example.com`);
      await until(
        "a failed attempt",
        async () => ((await deliveries(webhookId))[0]?.attempts ?? 0) >= 1 || undefined,
      );
      offset += WEBHOOK_GIVE_UP_SECONDS + 60;
      const disabled = await until("the endpoint disabled", async () => {
        const listed = await callApi<{
          webhooks: { id: string; is_enabled: boolean; disabled_reason: string | null }[];
        }>(server, "GET", "/api/v1/webhooks");
        const hook = listed.body.webhooks.find((w) => w.id === webhookId)!;
        return hook.is_enabled ? undefined : hook;
      });
      assert.match(disabled.disabled_reason ?? "", /72 hours/);
      assert.match(server.logs.text, /webhook_disabled/);
      // Disabled: new events are not queued for it, and nothing is attempted.
      await createUserByApi(`ignored-${randomBytes(3).toString("hex")}@example.com`);
      assert.equal((await deliveries(webhookId)).length, 1);

      receiver.failing = false;
      const enabled = await callApi(server, "PATCH", `/api/v1/webhooks/${webhookId}`, {
        body: { is_enabled: true },
      });
      assert.equal(enabled.status, 200);
      await until("the held delivery", () => receiver.at(path).length > 0 || undefined);
      const [event] = await decoded(path);
      assert.equal(event!.data.user!.id, userId);
      await unsubscribe(webhookId);
    });

    it("resends a delivery and sends a test event to one endpoint", async () => {
      const { id: webhookId, path } = await subscribe(["user.created"]);
      const { id: other } = await subscribe(["user.created"]);
      const test = await callApi<{ event_id: string }>(server, "POST", `/api/v1/webhooks/${webhookId}/test`);
      assert.equal(test.status, 200);
      await until("the test event", () => receiver.at(path).length > 0 || undefined);
      const [event] = await decoded(path);
      assert.equal(event!.type, "webhook.test");
      assert.equal(event!.event_id, test.body.event_id);
      assert.equal((await deliveries(other)).length, 0, "a test event goes to its endpoint only");

      const [delivery] = await deliveries(webhookId);
      const resent = await callApi(
        server,
        "POST",
        `/api/v1/webhooks/${webhookId}/deliveries/${delivery!.id}/resend`,
      );
      assert.equal(resent.status, 200);
      await until("the resent event", () => receiver.at(path).length > 1 || undefined);
      const again = await decoded(path, 1);
      assert.equal(again[0]!.event_id, test.body.event_id, "a resend carries the same event id");
      assert.equal(
        (await callApi(server, "POST", `/api/v1/webhooks/${other}/deliveries/${delivery!.id}/resend`)).status,
        404,
      );
      assert.equal((await callApi(server, "POST", "/api/v1/webhooks/webhook_nope/test")).status, 404);
      await unsubscribe(webhookId);
      await unsubscribe(other);
    });

    it("purges events a month old once no delivery of them is pending", async () => {
      const { db } = server.storage;
      const { id: webhookId } = await subscribe(["user.deleted"]);
      await db
        .updateTable("webhooks")
        .set({ disabled_at: clock.now() })
        .where("id", "=", webhookId)
        .execute();
      const old = clock.now() - EVENT_RETENTION_SECONDS - 10;
      const event = (id: string) => ({
        id,
        type: "user.deleted",
        source: "api" as const,
        data: "{}",
        occurred_at_ms: old * 1000,
        user_id: null,
        created_at: old,
      });
      const ids = ["delivered", "waiting", "unsent"].map((k) => `event_0000000000000000${k}`);
      await db.insertInto("events").values(ids.map(event)).execute();
      const delivery = (eventId: string, status: "delivered" | "pending") => ({
        id: `delivery_${eventId}`,
        webhook_id: webhookId,
        event_id: eventId,
        occurred_at_ms: old * 1000,
        status,
        attempts: 1,
        last_attempt_at: null,
        last_status_code: null,
        last_duration_ms: null,
        last_error: null,
        delivered_at: null,
        created_at: old,
      });
      await db
        .insertInto("webhook_deliveries")
        .values([delivery(ids[0]!, "delivered"), delivery(ids[1]!, "pending")])
        .execute();
      await purgeExpired(db, clock.now());
      const left = await db.selectFrom("events").select("id").where("id", "in", ids).execute();
      // The delivered one and the one nobody subscribed to go; the one a disabled endpoint still
      // waits for stays, with its delivery.
      assert.deepEqual(
        left.map((r) => r.id),
        [ids[1]],
      );
      await unsubscribe(webhookId);
    });

    it("tells the delivery log the kind of failure, never the host or address", async () => {
      const created = await callApi<{ webhook: { id: string } }>(server, "POST", "/api/v1/webhooks", {
        body: {
          endpoint: "https://internal-name.invalid/hook",
          event_types: ["user.created"],
          name: "Nowhere",
        },
      });
      assert.equal(created.status, 200);
      const webhookId = created.body.webhook.id;
      await callApi(server, "POST", `/api/v1/webhooks/${webhookId}/test`);
      const [attempt] = await until("a failed attempt", async () => {
        const log = await deliveries(webhookId);
        return log[0]?.attempts ? log : undefined;
      });
      assert.equal(attempt!.last_error, "the endpoint's host name does not resolve");
      // The operator's log has the detail.
      assert.match(server.logs.text, /webhook_retry[^\n]*internal-name\.invalid/);
      await unsubscribe(webhookId);
    });

    it("records no event for a change that rolls back", async () => {
      const email = `rolled-back-${randomBytes(3).toString("hex")}@example.com`;
      await assert.rejects(
        server.storage.db.transaction().execute(async (trx) => {
          await server.services
            .withDb(trx)
            .users.create({ email, password: `Pw-${randomBytes(8).toString("hex")}` });
          throw new Error("rollback");
        }),
        /rollback/,
      );
      assert.equal(await server.services.users.store.findByEmail(email), undefined);
      const events = await server.storage.db
        .selectFrom("events")
        .select("data")
        .where("type", "=", "user.created")
        .execute();
      assert.ok(!events.some((e) => e.data.includes(email)));
    });

    it("validates endpoints and event types, and keeps private networks out unless allowed", async () => {
      const unknown = await callApi<{ errors: { code: string }[] }>(server, "POST", "/api/v1/webhooks", {
        body: { endpoint: receiver.url, event_types: ["user.exploded"], name: "Bad" },
      });
      assert.equal(unknown.status, 400);
      assert.equal(unknown.body.errors[0]!.code, "INVALID_EVENT_TYPE");
      const none = await callApi(server, "POST", "/api/v1/webhooks", {
        body: { endpoint: receiver.url, event_types: [], name: "None" },
      });
      assert.equal(none.status, 400);
      const ftp = await callApi<{ errors: { code: string }[] }>(server, "POST", "/api/v1/webhooks", {
        body: { endpoint: "ftp://example.com/hook", event_types: ["user.created"], name: "Ftp" },
      });
      assert.equal(ftp.status, 400);
      assert.equal(ftp.body.errors[0]!.code, "INVALID_URL");
      const withCredentials = await callApi(server, "POST", "/api/v1/webhooks", {
        body: {
          endpoint: "https://user:pass@example.com/hook",
          event_types: ["user.created"],
          name: "Creds",
        },
      });
      assert.equal(withCredentials.status, 400);
      // The default: https only, and no loopback, private or local host.
      const guarded = new WebhooksService(server.storage.db, clock, { allowPrivateNetworks: false });
      for (const endpoint of [
        "http://example.com/hook",
        "https://127.0.0.1/hook",
        "https://10.0.0.8/hook",
        "https://localhost/hook",
        "https://[::1]/hook",
      ]) {
        const outcome = await guarded.create({
          name: "x",
          description: null,
          endpoint,
          eventTypes: ["user.created"],
        });
        assert.ok("kind" in outcome && outcome.kind === "invalid_endpoint", `${endpoint} was accepted`);
      }
      const scoped = await callApi(server, "GET", "/api/v1/webhooks", {
        token: await managementToken(server, "read:users"),
      });
      assert.equal(scoped.status, 403);
      // Subscribing to (or reading) events hands over their data: the caller must be able to read it.
      const hooksOnly = await managementToken(server, "create:webhooks update:webhooks read:events");
      const body = { endpoint: receiver.url, event_types: ["user.created"], name: "Narrow" };
      const narrow = await callApi<{ errors: { code: string }[] }>(server, "POST", "/api/v1/webhooks", {
        body,
        token: hooksOnly,
      });
      assert.equal(narrow.status, 403);
      assert.equal(narrow.body.errors[0]!.code, "FORBIDDEN");
      const allowed = await callApi<{ webhook: { id: string } }>(server, "POST", "/api/v1/webhooks", {
        body: { ...body, event_types: ["organization.created"] },
        token: await managementToken(server, "create:webhooks update:webhooks read:organizations"),
      });
      assert.equal(allowed.status, 200);
      const widened = await callApi(server, "PATCH", `/api/v1/webhooks/${allowed.body.webhook.id}`, {
        body: { event_types: ["organization.created", "user.created"] },
        token: await managementToken(server, "update:webhooks read:organizations"),
      });
      assert.equal(widened.status, 403);
      await createUserByApi(`read-scope-${randomBytes(3).toString("hex")}@example.com`);
      const [userEvent] = await server.storage.db
        .selectFrom("events")
        .select("id")
        .where("type", "=", "user.created")
        .limit(1)
        .execute();
      const read = await callApi(server, "GET", `/api/v1/events/${userEvent!.id}`, { token: hooksOnly });
      assert.equal(read.status, 403);
      await unsubscribe(allowed.body.webhook.id);
      const types = await callApi<{ event_types: { code: string; schema: unknown }[] }>(
        server,
        "GET",
        "/api/v1/event_types",
      );
      assert.equal(types.status, 200);
      assert.ok(types.body.event_types.some((t) => t.code === "user.authenticated"));
    });
  });
}
