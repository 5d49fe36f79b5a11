// Idempotency-Key on Management API POSTs (IETF draft-ietf-httpapi-idempotency-key-header): a retry
// with the same key and the same request replays the first response instead of running again; the
// key with a different request answers 422. Records are kept 24 hours (storage/purge.ts). Recorded
// bodies are sealed with the master key: a create or rotate_secret answer carries a client secret.
//
// A request runs one of two ways, chosen per route:
//
// - Local handlers (the default) run inside one transaction that also records the response, so a
//   2xx means the data and its record committed together, even across a crash. A concurrent retry
//   waits on the key's row and then replays. Anything but a 2xx rolls back, key included, so a
//   retry runs again. While it is open the transaction holds SQLite's only writer (and a PostgreSQL
//   pool connection), so it never outlives its purpose: it is rolled back when the connection closes
//   before the response is recorded, after TRANSACTION_LIMIT_MS, and at once if the handler starts
//   an outbound HTTP request (a route that calls out must be flagged; a forgotten flag fails loudly).
//
// - Routes flagged `config.outboundCalls` (they call a provider: discovery, revocation) never run in
//   a transaction. The key is first claimed by a committed in-progress row (status_code 0) owned by a
//   random lock token; the handler runs with nothing open; its response then completes the claim,
//   and a failure releases it so a retry runs again. A concurrent retry meanwhile answers 409 with
//   Retry-After. A claim older than CLAIM_TIMEOUT_SECONDS is treated as abandoned (its request died)
//   and a retry takes the key over; the late owner's completion is fenced out by the lock token.
//   The price: a crash after the handler's write but before the record leaves the write unrecorded,
//   so a retry after the timeout runs again (harmless for the flagged routes: a connected-app create
//   then answers "already exists", a revoke revokes nothing more).

import { AsyncLocalStorage } from "node:async_hooks";
import { createHash, randomBytes } from "node:crypto";
import diagnostics from "node:diagnostics_channel";
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from "fastify";
import type { ControlledTransaction, KyselyPlugin, Selectable } from "kysely";
import { idempotencyAad } from "../crypto/reseal.js";
import type { SecretBox } from "../crypto/secret-box.js";
import type { Services } from "../services.js";
import type { IdempotencyKeysTable, Schema } from "../storage/schema.js";
import { ApiError } from "./errors.js";
import { ErrorResponse } from "./schemas.js";

const KEY = /^[\x21-\x7e]{1,255}$/;

/** How long a local handler's transaction may stay open: far beyond any local write. */
export const TRANSACTION_LIMIT_MS = 30_000;
/**
 * After this long an in-progress claim counts as abandoned. Well above the longest a flagged
 * handler can take (each provider call has its own deadline of seconds), so a live request is not
 * taken over; short enough that a crashed one does not block its key for long.
 */
export const CLAIM_TIMEOUT_SECONDS = 120;
/** What a concurrent retry of an in-progress request is told to wait, at most. */
const RETRY_AFTER_SECONDS = 2;

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * The handler makes outbound HTTP calls (a provider's discovery document, its revocation
     * endpoint): with an Idempotency-Key it runs outside any database transaction.
     */
    outboundCalls?: boolean;
  }
  interface FastifyRequest {
    idempotency?: TransactionState | ClaimState;
  }
}

type IdempotencyRecord = Selectable<IdempotencyKeysTable>;

interface TransactionState {
  mode: "transaction";
  clientId: string;
  key: string;
  trx: ControlledTransaction<Schema>;
  /** Set (synchronously) once the transaction is being finished, and why. */
  ended?: "recording" | "aborted" | "timeout" | "outbound";
  timer: NodeJS.Timeout;
}

interface ClaimState {
  mode: "claim";
  clientId: string;
  key: string;
  lockToken: string;
  ended: boolean;
}

export interface IdempotencyOptions {
  services: Services;
  secretBox: SecretBox;
  /** Builds the request's services over its transaction. */
  servicesFor: (trx: ControlledTransaction<Schema>) => Services;
  transactionLimitMs?: number;
  claimTimeoutSeconds?: number;
}

/** The 409 a flagged route answers while its key is in progress (documented on those routes). */
const IN_USE_RESPONSE = {
  ...ErrorResponse,
  description: "A request with this Idempotency-Key is still in progress; retry after Retry-After seconds.",
};

// Which request, if any, the code running now belongs to: a handler's outbound HTTP request is
// matched to its open transaction through this.
const handlerContext = new AsyncLocalStorage<FastifyRequest>();
function onOutboundRequest(): void {
  const request = handlerContext.getStore();
  const state = request?.idempotency;
  if (request && state?.mode === "transaction" && !state.ended)
    void endTransaction(request, state, "outbound");
}
// fetch (undici) and node:http clients announce each request before connecting.
diagnostics.subscribe("undici:request:create", onOutboundRequest);
diagnostics.subscribe("http.client.request.start", onOutboundRequest);

async function endTransaction(
  request: FastifyRequest,
  state: TransactionState,
  reason: "aborted" | "timeout" | "outbound",
): Promise<void> {
  if (state.ended) return;
  state.ended = reason;
  clearTimeout(state.timer);
  if (reason === "outbound") {
    request.log.error(
      { route: request.routeOptions.url },
      "outbound HTTP request inside an Idempotency-Key transaction; rolled it back (flag the route with config.outboundCalls)",
    );
  } else {
    request.log.warn({ reason }, "rolled back an Idempotency-Key transaction its request left open");
  }
  try {
    await state.trx.rollback().execute();
  } catch (error) {
    request.log.warn({ err: error }, "could not roll back an Idempotency-Key transaction");
  }
}

export function registerIdempotency(api: FastifyInstance, options: IdempotencyOptions): void {
  const { services, secretBox, servicesFor } = options;
  const transactionLimitMs = options.transactionLimitMs ?? TRANSACTION_LIMIT_MS;
  const claimTimeout = options.claimTimeoutSeconds ?? CLAIM_TIMEOUT_SECONDS;

  api.addHook("onRoute", (route: RouteOptions) => {
    const methods = [route.method].flat();
    if (route.config?.outboundCalls) {
      if (methods.some((m) => m !== "POST")) {
        throw new Error(`${route.url}: config.outboundCalls only applies to POST routes`);
      }
      // The flag is all a route needs: its possible 409 is documented here.
      const response = (route.schema?.response ?? {}) as Record<string, { description?: string }>;
      const existing = response[409];
      route.schema = {
        ...route.schema,
        response: {
          ...response,
          409: existing
            ? {
                ...existing,
                description: `${existing.description ?? ""} Or: ${IN_USE_RESPONSE.description}`.trim(),
              }
            : IN_USE_RESPONSE,
        },
      };
    } else if (methods.includes("POST")) {
      // Run the handler inside handlerContext so an outbound request it makes is caught.
      const handler = route.handler;
      route.handler = function (this: FastifyInstance, request, reply) {
        return handlerContext.run(request, () => handler.call(this, request, reply));
      };
    }
  });

  api.addHook("preHandler", async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers["idempotency-key"];
    // A public operation has no caller to keep a key for (and only reads: nothing to repeat).
    if (request.method !== "POST" || header === undefined || request.routeOptions.config?.public) return;
    if (typeof header !== "string" || !KEY.test(header)) {
      throw new ApiError("INVALID_REQUEST", "Idempotency-Key must be 1-255 printable ASCII characters");
    }
    const key = header;
    const clientId = request.caller?.userId ?? request.caller?.clientId ?? "";
    const hash = createHash("sha256")
      .update(`${request.method} ${request.url}\n${JSON.stringify(request.body ?? null)}`)
      .digest("base64url");
    const outbound = request.routeOptions.config?.outboundCalls === true;
    const fields = { clientId, key, hash };

    // Each round takes the key, finds its record, or clears an abandoned claim and tries again.
    for (let round = 0; round < 3; round++) {
      const found = outbound ? await claim(request, fields) : await begin(request, reply, fields);
      if (found === "acquired") return;
      if (found === "vanished") continue;
      if (found.request_hash !== hash) {
        throw new ApiError(
          "IDEMPOTENCY_KEY_REUSED",
          "This Idempotency-Key was used with a different request",
        );
      }
      if (found.status_code !== 0) {
        const body = secretBox.open(found.response_body_sealed ?? "", idempotencyAad(clientId, key));
        reply.header("idempotent-replayed", "true");
        return reply.code(found.status_code).type("application/json; charset=utf-8").send(body);
      }
      const now = services.clock.now();
      const age = now - found.created_at;
      if (age < claimTimeout) throw inUse(Math.min(RETRY_AFTER_SECONDS, claimTimeout - age));
      // Abandoned. Only a claim that is still that old goes, never a fresh one taken meanwhile.
      await services.db
        .deleteFrom("idempotency_keys")
        .where("client_id", "=", clientId)
        .where("key", "=", key)
        .where("status_code", "=", 0)
        .where("created_at", "<=", now - claimTimeout)
        .execute();
    }
    throw inUse(RETRY_AFTER_SECONDS);
  });

  type Fields = { clientId: string; key: string; hash: string };
  type Found = "acquired" | "vanished" | IdempotencyRecord;

  function newRecord({ clientId, key, hash }: Fields, request: FastifyRequest, lockToken: string | null) {
    return {
      client_id: clientId,
      key,
      method: request.method,
      path: request.url.slice(0, 2000),
      request_hash: hash,
      status_code: 0,
      response_body_sealed: null,
      lock_token: lockToken,
      created_at: services.clock.now(),
    };
  }

  /** A local handler: open its transaction with the key's row in it, or find the committed record. */
  async function begin(request: FastifyRequest, reply: FastifyReply, fields: Fields): Promise<Found> {
    const trx = await services.db.startTransaction().execute();
    let found: IdempotencyRecord | undefined;
    try {
      // Waits for a concurrent request with the same key to commit or roll back.
      const inserted = await trx
        .insertInto("idempotency_keys")
        .values(newRecord(fields, request, null))
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) {
        const state: TransactionState = {
          mode: "transaction",
          clientId: fields.clientId,
          key: fields.key,
          trx,
          timer: setTimeout(() => void endTransaction(request, state, "timeout"), transactionLimitMs),
        };
        state.timer.unref();
        request.idempotency = state;
        // The handler's queries are refused once the transaction is being ended, so none can slip
        // onto the connection after its rollback (it would run there in autocommit).
        request.services = servicesFor(trx.withPlugin(refuseWhenEnded(state)));
        // 'close' comes after the response is written, or when the client goes away first.
        reply.raw.once("close", () => void endTransaction(request, state, "aborted"));
        return "acquired";
      }
      found = await trx
        .selectFrom("idempotency_keys")
        .selectAll()
        .where("client_id", "=", fields.clientId)
        .where("key", "=", fields.key)
        .executeTakeFirst();
    } catch (error) {
      if (!trx.isCommitted && !trx.isRolledBack) await trx.rollback().execute();
      throw error;
    }
    await trx.rollback().execute();
    return found ?? "vanished";
  }

  /** A flagged handler: commit a claim on the key, or find the record already there. */
  async function claim(request: FastifyRequest, fields: Fields): Promise<Found> {
    const lockToken = randomBytes(16).toString("base64url");
    const inserted = await services.db
      .insertInto("idempotency_keys")
      .values(newRecord(fields, request, lockToken))
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) {
      request.idempotency = {
        mode: "claim",
        clientId: fields.clientId,
        key: fields.key,
        lockToken,
        ended: false,
      };
      return "acquired";
    }
    const found = await services.db
      .selectFrom("idempotency_keys")
      .selectAll()
      .where("client_id", "=", fields.clientId)
      .where("key", "=", fields.key)
      .executeTakeFirst();
    return found ?? "vanished";
  }

  // Record a 2xx response (sealed); anything else releases the key so a retry runs again.
  api.addHook("onSend", async (request, reply, payload) => {
    const state = request.idempotency;
    if (!state) return payload;
    const ok = reply.statusCode >= 200 && reply.statusCode < 300;
    const body =
      typeof payload === "string" ? payload : Buffer.isBuffer(payload) ? payload.toString("utf8") : "";
    if (state.mode === "claim") {
      // Once: an error raised here comes back through onSend as the error response.
      if (state.ended) return payload;
      state.ended = true;
      // Both writes are fenced on the lock token: a request whose claim was taken over as abandoned
      // can neither overwrite nor release its successor's record.
      if (ok) {
        await services.db
          .updateTable("idempotency_keys")
          .set({
            status_code: reply.statusCode,
            response_body_sealed: secretBox.seal(body, idempotencyAad(state.clientId, state.key)),
            lock_token: null,
          })
          .where("client_id", "=", state.clientId)
          .where("key", "=", state.key)
          .where("lock_token", "=", state.lockToken)
          .execute();
      } else {
        // The answer is already an error, often a 503 because the database went away. If the
        // release fails too it must not throw: the error handler has run for this reply, so Fastify
        // would replace the answer with its default 500. The claim then lapses after claimTimeout.
        await services.db
          .deleteFrom("idempotency_keys")
          .where("client_id", "=", state.clientId)
          .where("key", "=", state.key)
          .where("lock_token", "=", state.lockToken)
          .execute()
          .catch((error: unknown) => {
            request.log.warn({ err: error }, "could not release an Idempotency-Key claim");
          });
      }
      return payload;
    }

    if (state.ended) {
      if (state.ended === "recording" || !ok) return payload;
      const reason = state.ended;
      state.ended = "recording";
      // Rolled back under the handler: nothing it did was kept, so it must not answer a success.
      throw endedError(reason);
    }
    state.ended = "recording";
    clearTimeout(state.timer);
    if (!ok) {
      // Not a success: undo everything, key included, so a retry runs again. The answer is already
      // an error, often a 503 because the database went away. A rollback that fails then means the
      // connection is gone (PostgreSQL discards an uncommitted transaction with its connection, and
      // Kysely releases the connection either way); throwing here would replace the 503 with
      // Fastify's default 500, since the error handler has already run for this reply.
      await state.trx
        .rollback()
        .execute()
        .catch((error: unknown) => {
          request.log.warn(
            { err: error },
            "could not roll back the Idempotency-Key transaction of an error answer",
          );
        });
      return payload;
    }
    try {
      await state.trx
        .updateTable("idempotency_keys")
        .set({
          status_code: reply.statusCode,
          response_body_sealed: secretBox.seal(body, idempotencyAad(state.clientId, state.key)),
        })
        .where("client_id", "=", state.clientId)
        .where("key", "=", state.key)
        .execute();
      await state.trx.commit().execute();
    } catch (error) {
      if (!state.trx.isCommitted && !state.trx.isRolledBack) {
        await state.trx
          .rollback()
          .execute()
          .catch(() => {});
      }
      throw error;
    }
    return payload;
  });
}

function inUse(retryAfter: number): ApiError {
  return new ApiError(
    "IDEMPOTENCY_KEY_IN_USE",
    "A request with this Idempotency-Key is still in progress; retry it shortly",
    { "retry-after": String(Math.max(1, Math.ceil(retryAfter))) },
  );
}

/** What a request whose transaction was rolled back under it answers. */
function endedError(reason: NonNullable<TransactionState["ended"]>): ApiError {
  // A handler that calls out without its route's flag is a bug, not something a retry fixes.
  if (reason === "outbound" || reason === "recording") return new ApiError("INTERNAL_SERVER_ERROR");
  return new ApiError(
    "SERVICE_UNAVAILABLE",
    "The request took too long and was rolled back; nothing was changed, retry it",
    { "retry-after": "1" },
  );
}

/** Refuses every query once the transaction is being ended (checked as each query is built). */
function refuseWhenEnded(state: TransactionState): KyselyPlugin {
  return {
    transformQuery(args) {
      if (state.ended) throw endedError(state.ended);
      return args.node;
    },
    async transformResult(args) {
      return args.result;
    },
  };
}
