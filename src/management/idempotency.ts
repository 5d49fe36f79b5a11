// Idempotency-Key on Management API POSTs. The whole request runs in one transaction that also
// records its response under (caller, key): a retry — sequential or concurrent — finds the
// committed response and replays it, so a retried create never makes two rows. A request that
// fails is rolled back with its key, so a retry runs again.
import { createHash } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ControlledTransaction } from "kysely";
import type { Services } from "../services.js";
import type { Schema } from "../storage/schema.js";
import { ApiError } from "./errors.js";

const KEY = /^[\x21-\x7e]{1,255}$/;

declare module "fastify" {
  interface FastifyRequest {
    idempotency?: {
      trx: ControlledTransaction<Schema>;
      key: string;
      clientId: string;
      hash: string;
      done: boolean;
    };
  }
}

/** `servicesFor` builds the request's services over its transaction. */
export function registerIdempotency(
  api: FastifyInstance,
  services: Services,
  servicesFor: (trx: ControlledTransaction<Schema>) => Services,
): void {
  api.addHook("preHandler", async (request: FastifyRequest, reply: FastifyReply) => {
    const key = request.headers["idempotency-key"];
    if (request.method !== "POST" || key === undefined) return;
    if (typeof key !== "string" || !KEY.test(key)) {
      throw new ApiError("INVALID_REQUEST", "Idempotency-Key must be 1-255 printable ASCII characters");
    }
    const clientId = request.caller?.userId ?? request.caller?.clientId ?? "";
    const hash = createHash("sha256")
      .update(`${request.method} ${request.url}\n${JSON.stringify(request.body ?? null)}`)
      .digest("base64url");
    const trx = await services.db.startTransaction().execute();
    try {
      // Waits for a concurrent request with the same key to commit or roll back.
      const inserted = await trx
        .insertInto("idempotency_keys")
        .values({
          client_id: clientId,
          key,
          method: request.method,
          path: request.url.slice(0, 2000),
          request_hash: hash,
          status_code: 0,
          response_body: "",
          created_at: services.clock.now(),
        })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) {
        const previous = await trx
          .selectFrom("idempotency_keys")
          .selectAll()
          .where("client_id", "=", clientId)
          .where("key", "=", key)
          .executeTakeFirstOrThrow();
        await trx.rollback().execute();
        if (previous.request_hash !== hash) {
          throw new ApiError(
            "IDEMPOTENCY_KEY_REUSED",
            "This Idempotency-Key was used with a different request",
          );
        }
        reply.header("idempotent-replayed", "true");
        return reply
          .code(previous.status_code)
          .type("application/json; charset=utf-8")
          .send(previous.response_body);
      }
    } catch (error) {
      if (!trx.isCommitted && !trx.isRolledBack) await trx.rollback().execute();
      throw error;
    }
    request.idempotency = { trx, key, clientId, hash, done: false };
    request.services = servicesFor(trx);
  });

  // Record the response and commit with it; anything but a 2xx rolls back, key included.
  api.addHook("onSend", async (request, reply, payload) => {
    const state = request.idempotency;
    if (!state || state.done) return payload;
    state.done = true;
    if (reply.statusCode >= 200 && reply.statusCode < 300) {
      await state.trx
        .updateTable("idempotency_keys")
        .set({ status_code: reply.statusCode, response_body: typeof payload === "string" ? payload : "" })
        .where("client_id", "=", state.clientId)
        .where("key", "=", state.key)
        .execute();
      await state.trx.commit().execute();
    } else {
      await state.trx.rollback().execute();
    }
    return payload;
  });

  // A request that dies before onSend (aborted connection) must not hold its transaction open.
  api.addHook("onResponse", async (request) => {
    const state = request.idempotency;
    if (state && !state.trx.isCommitted && !state.trx.isRolledBack) await state.trx.rollback().execute();
  });
}
