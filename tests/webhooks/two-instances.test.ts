// Issue 18, "two instances on one PostgreSQL → no event delivered twice in normal operation": two
// servers on one database, each running its webhook worker, take a burst of user writes through
// both of them; four endpoints on one receiver subscribe to different event types. Once the queues
// drain, each endpoint has received every event of its types exactly once (counted by webhook-id),
// and nothing more arrives afterwards.
//
// Order: an endpoint has one sender at a time (a lease), which sends its queue in event-id order. So
// what is guaranteed is causal order — a change made after another change committed has the larger
// id (ids are time-ordered, and monotonic within a process; both servers here share this process),
// so it arrives after it: each user's events arrive in the order of its writes, even with the writes
// alternating between the instances. Events of concurrent transactions commit in any order, and one
// that commits after a later-numbered event was already sent arrives after it ("in order where
// possible"): such inversions in plain event-id order are counted and reported, not failed. (Across
// separate processes or machines, ids come from different clocks: two causally ordered events
// within one millisecond, or across clock skew, may sort the wrong way.)
//
// Also: claims made at the same moment through both instances' connection pools take disjoint
// endpoints (FOR UPDATE SKIP LOCKED), and between them take every due one.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { WebhooksStore } from "../../src/webhooks/webhooks.store.js";
import { databaseKinds } from "../helpers/databases.js";
import { callApi, managementToken } from "../helpers/management.js";
import { startSecondInstance, startTestServer, type TestServer } from "../helpers/server.js";
import { countById, WebhookJudge, WebhookReceiver } from "../helpers/webhook-receiver.js";

/** Users written in the burst (each: created, updated twice, every third one deleted). */
const USERS = 24;
const env = { WEBHOOKS_ALLOW_PRIVATE_NETWORKS: "true" };

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

for (const { kind, skip } of await databaseKinds()) {
  // Several instances share one database only on PostgreSQL (SQLite is one process's file).
  if (kind !== "postgres") continue;
  describe("webhooks from two instances on one PostgreSQL", { skip }, () => {
    let a: TestServer;
    let b: TestServer;
    let token: string;
    const receiver = new WebhookReceiver();
    before(async () => {
      await receiver.start();
      a = await startTestServer(kind, { env });
      b = await startSecondInstance(a, { env });
      // B's issuer is A's URL: one token serves both.
      token = await managementToken(a);
    });
    after(async () => {
      await b?.close();
      await a?.close();
      await receiver.close();
    });

    async function subscribe(server: TestServer, path: string, eventTypes: string[]): Promise<string> {
      const created = await callApi<{ webhook: { id: string } }>(server, "POST", "/api/v1/webhooks", {
        token,
        body: { endpoint: `${receiver.url}${path}`, event_types: eventTypes, name: `Receiver ${path}` },
      });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      return created.body.webhook.id;
    }

    it("delivers each event once to each subscribed endpoint, each user's events in the order of its writes", async (t) => {
      const tag = randomBytes(3).toString("hex");
      const endpoints = [
        { path: `/${tag}/everything`, types: ["user.created", "user.updated", "user.deleted"] },
        { path: `/${tag}/created`, types: ["user.created"] },
        { path: `/${tag}/updated`, types: ["user.updated"] },
        { path: `/${tag}/lifecycle`, types: ["user.created", "user.deleted"] },
      ];
      const hookIds: string[] = [];
      for (const [i, endpoint] of endpoints.entries())
        hookIds.push(await subscribe(i % 2 === 0 ? a : b, endpoint.path, endpoint.types));

      // Which sender holds each endpoint, sampled while the burst is delivered (a diagnostic: both
      // workers poll, and whichever claims first sends).
      const owners = new Set<string>();
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          for (const row of await a.storage.db
            .selectFrom("webhooks")
            .select("lease_owner")
            .where("id", "in", hookIds)
            .where("lease_owner", "is not", null)
            .execute())
            owners.add(row.lease_owner!);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })();

      // The burst: every user's writes alternate between the instances, all users at once.
      const written: { userId: string; sequence: string[] }[] = [];
      await Promise.all(
        Array.from({ length: USERS }, async (_, i) => {
          const [first, second] = i % 2 === 0 ? [a, b] : [b, a];
          const created = await callApi<{ id: string }>(first, "POST", "/api/v1/user", {
            token,
            body: {
              profile: { given_name: "Start" },
              identities: [
                { type: "email", is_verified: true, details: { email: `two-${tag}-${i}@example.com` } },
              ],
            },
          });
          assert.equal(created.status, 200, JSON.stringify(created.body));
          const userId = created.body.id;
          const sequence = ["user.created:Start"];
          for (const [n, server] of [second, first].entries()) {
            const name = `Name${n}x${i}`;
            const patched = await callApi(server, "PATCH", `/api/v1/user?id=${userId}`, {
              token,
              body: { given_name: name },
            });
            assert.equal(patched.status, 200, JSON.stringify(patched.body));
            sequence.push(`user.updated:${name}`);
          }
          if (i % 3 === 0) {
            const deleted = await callApi(second, "DELETE", `/api/v1/user?id=${userId}`, { token });
            assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
            sequence.push("user.deleted:");
          }
          written.push({ userId, sequence });
        }),
      );

      // The outbox: every write's event, queued once per subscribed endpoint.
      const userIds = written.map((w) => w.userId);
      const events = await a.storage.db
        .selectFrom("events")
        .select(["id", "type", "user_id"])
        .where("user_id", "in", userIds)
        .orderBy("id")
        .execute();
      assert.equal(
        events.length,
        written.reduce((sum, w) => sum + w.sequence.length, 0),
      );
      const expected = endpoints.map(({ types }) => events.filter((e) => types.includes(e.type)));
      await until("every delivery made", async () => {
        const pending = await a.storage.db
          .selectFrom("webhook_deliveries")
          .select("id")
          .where("webhook_id", "in", hookIds)
          .where("status", "!=", "delivered")
          .execute();
        return (
          pending.length === 0 && endpoints.every((e, i) => receiver.at(e.path).length >= expected[i]!.length)
        );
      });
      // Two poll intervals of both workers (1 s each): a second sender would have sent by now.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      sampling = false;
      await sampler;

      const judge = new WebhookJudge(a.url);
      const inversions: number[] = [];
      for (const [i, endpoint] of endpoints.entries()) {
        const got = receiver.at(endpoint.path);
        // Exactly once each, by webhook-id.
        const twice = [...countById(got)].filter(([, n]) => n > 1);
        assert.deepEqual(twice, [], `${endpoint.path}: webhook-ids delivered more than once`);
        assert.deepEqual(
          got.map((r) => r.webhookId).sort(),
          expected[i]!.map((e) => e.id),
          `${endpoint.path} received exactly the events of its types`,
        );
        // Each user's events in the order of its writes (causal order), whatever instance wrote them.
        const decoded = await Promise.all(got.map((r) => judge.decode(r)));
        for (const { userId, sequence } of written) {
          const arrived = decoded
            .filter((e) => e.data.user!.id === userId)
            .map(
              (e) =>
                `${e.type}:${e.type === "user.updated" ? e.data.user!.first_name : e.type === "user.created" ? "Start" : ""}`,
            );
          assert.deepEqual(
            arrived,
            sequence.filter((s) => endpoint.types.includes(s.split(":")[0]!)),
            `${endpoint.path}: ${userId}'s events in the order of its writes`,
          );
        }
        let inverted = 0;
        for (let k = 1; k < got.length; k++) if (got[k]!.webhookId < got[k - 1]!.webhookId) inverted += 1;
        inversions.push(inverted);
      }
      for (const id of hookIds)
        assert.equal((await callApi(a, "DELETE", `/api/v1/webhooks/${id}`, { token })).status, 200);
      t.diagnostic(
        `${events.length} events, ${receiver.received.length} deliveries to ${endpoints.length} endpoints; ` +
          `senders seen holding them: ${owners.size}; arrivals before a smaller event id per endpoint: ${inversions.join(", ")}`,
      );
    });

    it("claims made at the same moment through both instances take disjoint endpoints, and every due one", async () => {
      const tag = randomBytes(3).toString("hex");
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) ids.push(await subscribe(a, `/${tag}/claimed-${i}`, ["user.created"]));
      // Out of the running workers' reach: due only at a time an hour from now, which the claims
      // below pass as their `now`.
      const now = Math.floor(Date.now() / 1000);
      await a.storage.db
        .updateTable("webhooks")
        .set({ next_attempt_at: now + 3_600 })
        .where("id", "in", ids)
        .execute();
      const created = await callApi(a, "POST", "/api/v1/user", {
        token,
        body: { identities: [{ type: "email", details: { email: `claimed-${tag}@example.com` } }] },
      });
      assert.equal(created.status, 200, JSON.stringify(created.body));

      const later = now + 3_700;
      const stores = [a, b, a, b].map((server) => new WebhooksStore(server.storage.db));
      const claims = await Promise.all(
        stores.map((store, i) =>
          store.claim({ owner: `claimer-${i}`, now: later, leaseUntil: later + 120, limit: 3 }),
        ),
      );
      const claimed = claims.map((rows) => rows.map((r) => r.id).filter((id) => ids.includes(id)));
      const all = claimed.flat();
      assert.equal(new Set(all).size, all.length, `an endpoint claimed twice: ${JSON.stringify(claimed)}`);
      assert.deepEqual(all.sort(), [...ids].sort(), "between them, the claims took every due endpoint");
      // Each row's lease names the claim that returned it.
      const rows = await a.storage.db
        .selectFrom("webhooks")
        .select(["id", "lease_owner"])
        .where("id", "in", ids)
        .execute();
      for (const row of rows) {
        const claimer = claimed.findIndex((list) => list.includes(row.id));
        assert.equal(row.lease_owner, `claimer-${claimer}`);
      }
      for (const id of ids)
        assert.equal((await callApi(a, "DELETE", `/api/v1/webhooks/${id}`, { token })).status, 200);
    });
  });
}
