// Delivers webhook events: runs in every server process, started and stopped with the server. It
// claims endpoints (webhooks.store.ts: a lease per endpoint, FOR UPDATE SKIP LOCKED on PostgreSQL,
// so with several instances each endpoint has one sender and each delivery is made once in normal
// operation) and sends each endpoint's queue in event order. A failed attempt stops that endpoint's
// queue — the event keeps its place, so order holds — and the endpoint backs off exponentially
// with jitter; after WEBHOOK_GIVE_UP_SECONDS of failures it is disabled and the dashboard says so.
// Delivery is at least once: a crash between the receiver's 2xx and the `delivered` mark sends the
// event again with the same webhook-id, which receivers use to de-duplicate.
//
// Each event is sent as Kinde does: an RS256 JWT signed with the current signing key (`kid` in the
// header, verifiable against /.well-known/jwks.json), body `application/jwt`, whose claims are the
// event — type, event_id, source, timestamp, data.
import { hostname } from "node:os";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { type Clock, systemClock } from "../clock.js";
import { randomHex } from "../crypto/random.js";
import type { SigningKeys } from "../oauth/keys.js";
import { encodedHeader, signedJwt } from "../oauth/tokens.js";
import { type HostResolver, KeptConnections, OutboundError, outboundRequest } from "../outbound/http.js";
import type { Db } from "../storage/database.js";
import { backoffSeconds, PollingLoop } from "../storage/polling-loop.js";
import { type QueuedDelivery, type WebhookRow, WebhooksStore } from "./webhooks.store.js";

/** One attempt: answered 2xx, failed (to be retried), or given up on (the endpoint disabled). */
export type DeliveryResult = "success" | "failure" | "abandoned";

export interface WebhookWorkerOptions {
  db: Db;
  keys: SigningKeys;
  logger: Logger;
  /** Receivers on private or loopback addresses (tests, on-premise); refused by default (SSRF). */
  allowPrivateNetworks: boolean;
  clock?: Clock;
  resolveHost?: HostResolver;
  pollIntervalMs?: number;
  /** For jitter; tests pin it. */
  random?: () => number;
  /** Each attempt's outcome (the metrics). */
  onOutcome?: (result: DeliveryResult) => void;
}

/** How long a claim holds an endpoint against other senders. */
export const WEBHOOK_LEASE_SECONDS = 120;
/** One attempt's deadline: connect, send, and the receiver's status. */
export const WEBHOOK_ATTEMPT_MS = 10_000;
/** An endpoint failing this long (72 hours, as the issue asks and Svix does) is disabled. */
export const WEBHOOK_GIVE_UP_SECONDS = 72 * 3_600;
/** 30 s, 1 min, 2 min … capped at 4 hours: about 25 attempts over 72 hours. */
export const WEBHOOK_BACKOFF = { baseSeconds: 30, capSeconds: 4 * 3_600 } as const;
/** The receiver's answer is read up to this many bytes (its status is what counts). */
const MAX_ANSWER_BYTES = 16_384;
const ENDPOINTS_PER_ROUND = 8;
const DELIVERIES_PER_READ = 20;

/** What the delivery log says of a failed attempt: the kind of failure, never a host or address. */
const DELIVERY_ERRORS: Record<OutboundError["reason"], string> = {
  invalid_url: "the endpoint URL is not valid",
  refused_address: "the endpoint's host is on a private or reserved network",
  unresolvable: "the endpoint's host name does not resolve",
  timeout: `no complete answer within ${WEBHOOK_ATTEMPT_MS / 1000} s`,
  too_large: "the answer was too large",
  network: "the connection failed",
};

/**
 * How long a signed event stays valid: a receiver verifies it on arrival, and each attempt is
 * signed afresh. Without `exp` the JWT would pass signature-only validators forever (RFC 8725 §3.10).
 */
const EVENT_TOKEN_SECONDS = 3_600;

/** The JWT a receiver gets for an event (Kinde's webhook body), signed as tokens are (off the event loop). */
export async function signEvent(
  keys: SigningKeys,
  event: QueuedDelivery["event"],
  now: number,
): Promise<string> {
  const { kid, privateKey } = await keys.current();
  const claims = {
    type: event.type,
    event_id: event.id,
    source: event.source,
    timestamp: new Date(event.occurred_at_ms).toISOString(),
    data: JSON.parse(event.data) as Record<string, unknown>,
    iat: now,
    exp: now + EVENT_TOKEN_SECONDS,
  };
  return signedJwt(encodedHeader(kid), claims, privateKey);
}

export class WebhookWorker {
  /** This sender's lease id: host, process and a random part (a restarted process is another sender). */
  readonly owner = `${hostname()}:${process.pid}:${randomHex(4)}`;
  private readonly store: WebhooksStore;
  private readonly clock: Clock;
  private readonly loop: PollingLoop;
  /**
   * Connections kept open to receivers between deliveries (a new TCP and TLS handshake per event
   * was most of a delivery's cost): an event may be sent twice anyway (at least once, webhook-id).
   */
  private readonly connections = new KeptConnections();

  constructor(private readonly options: WebhookWorkerOptions) {
    this.store = new WebhooksStore(options.db);
    this.clock = options.clock ?? systemClock;
    this.loop = new PollingLoop({
      round: async () => (await this.runOnce()) >= ENDPOINTS_PER_ROUND,
      intervalMs: options.pollIntervalMs ?? 1_000,
      onTrouble: (error) =>
        options.logger.warn({ err: error }, "the webhook worker cannot reach its queue; it keeps trying"),
    });
  }

  start(): void {
    this.loop.start();
  }

  /** Finishes the attempts under way, hands the endpoints back and closes the kept connections. */
  async stop(): Promise<void> {
    await this.loop.stop();
    this.connections.close();
  }

  wake(): void {
    this.loop.wake();
  }

  /** One claim and the queues of the endpoints claimed; the number of endpoints claimed. */
  async runOnce(): Promise<number> {
    const now = this.clock.now();
    const endpoints = await this.store.claim({
      owner: this.owner,
      now,
      leaseUntil: now + WEBHOOK_LEASE_SECONDS,
      limit: ENDPOINTS_PER_ROUND,
    });
    // Endpoints are independent: a slow receiver holds up only its own queue.
    await Promise.all(endpoints.map((endpoint) => this.drain(endpoint)));
    return endpoints.length;
  }

  private async drain(endpoint: WebhookRow): Promise<void> {
    try {
      for (;;) {
        const queue = await this.store.queue(endpoint.id, DELIVERIES_PER_READ);
        for (const delivery of queue) {
          // Stopping, or too little lease left for a whole attempt: hand the endpoint back.
          const leaseLeft = (endpoint.lease_until ?? 0) - this.clock.now();
          if (this.loop.isStopping || leaseLeft * 1000 < WEBHOOK_ATTEMPT_MS * 2) return;
          if (!(await this.attempt(endpoint, delivery))) return;
        }
        if (queue.length < DELIVERIES_PER_READ) return;
      }
    } finally {
      await this.store.release(endpoint.id, this.owner).catch(() => {});
    }
  }

  /** One attempt; false when the endpoint's queue must stop here (a failure, or the lease lost). */
  private async attempt(endpoint: WebhookRow, delivery: QueuedDelivery): Promise<boolean> {
    const { logger } = this.options;
    const attempts = delivery.attempts + 1;
    const fields = {
      webhookId: endpoint.id,
      eventId: delivery.event.id,
      eventType: delivery.event.type,
      attempts,
    };
    const started = performance.now();
    let statusCode: number | null = null;
    // `error` is what callers of the delivery log read; `detail` (which may name hosts and the
    // addresses they resolve to) goes to the operator's log only — shown to API callers, it would
    // map the internal network for anyone who can register an endpoint.
    let error: string;
    let detail: string | undefined;
    try {
      const token = await signEvent(this.options.keys, delivery.event, this.clock.now());
      const answer = await outboundRequest(
        endpoint.endpoint,
        {
          method: "POST",
          headers: {
            "content-type": "application/jwt",
            "webhook-id": delivery.event.id,
            "user-agent": "Latchkey-Webhooks/1",
          },
          body: token,
        },
        {
          allowPrivateNetworks: this.options.allowPrivateNetworks,
          deadlineMs: WEBHOOK_ATTEMPT_MS,
          maxResponseBytes: MAX_ANSWER_BYTES,
          truncateResponse: true,
          resolveHost: this.options.resolveHost,
          keptConnections: this.connections,
        },
      );
      statusCode = answer.status;
      if (answer.status >= 200 && answer.status < 300) {
        const held = await this.store.markDelivered(
          endpoint.id,
          delivery.id,
          this.owner,
          {
            attempts,
            statusCode,
            durationMs: Math.round(performance.now() - started),
            now: this.clock.now(),
          },
          endpoint.consecutive_failures > 0 || endpoint.failing_since !== null,
        );
        if (held) {
          endpoint.consecutive_failures = 0;
          endpoint.failing_since = null;
        }
        this.options.onOutcome?.("success");
        logger.debug({ event: "webhook_delivered", ...fields }, "webhook delivered");
        return held;
      }
      error = `the endpoint answered ${answer.status}`;
    } catch (caught) {
      // The reason names hosts and addresses at most, never the URL's path or query (which may
      // carry the receiver's own secret).
      error = caught instanceof OutboundError ? DELIVERY_ERRORS[caught.reason] : "unexpected error";
      detail = caught instanceof OutboundError ? caught.message : undefined;
      if (!(caught instanceof OutboundError))
        logger.error({ err: caught, ...fields }, "webhook attempt failed");
    }
    const now = this.clock.now();
    const failingSince = (await this.store.failingSince(endpoint.id)) ?? now;
    const giveUp = now - failingSince >= WEBHOOK_GIVE_UP_SECONDS;
    const failures = endpoint.consecutive_failures + 1;
    endpoint.consecutive_failures = failures;
    await this.store.markFailed(endpoint.id, delivery.id, this.owner, {
      attempts,
      statusCode,
      durationMs: Math.round(performance.now() - started),
      error: error.slice(0, 300),
      now,
      nextAttemptAt: now + backoffSeconds(failures, WEBHOOK_BACKOFF, this.options.random),
      disable: giveUp ? `deliveries failed for ${WEBHOOK_GIVE_UP_SECONDS / 3_600} hours` : undefined,
    });
    if (giveUp) {
      this.options.onOutcome?.("abandoned");
      logger.error(
        { event: "webhook_disabled", ...fields, error, detail },
        "webhook endpoint disabled: its deliveries failed for 72 hours; re-enable it in the dashboard",
      );
    } else {
      this.options.onOutcome?.("failure");
      logger.warn(
        { event: "webhook_retry", ...fields, error, detail },
        "webhook not delivered; it will be retried",
      );
    }
    return false;
  }
}

/** A worker that starts when the server is ready and stops when it closes. */
export function registerWebhookWorker(app: FastifyInstance, options: WebhookWorkerOptions): WebhookWorker {
  const worker = new WebhookWorker(options);
  app.addHook("onReady", async () => worker.start());
  app.addHook("onClose", async () => worker.stop());
  return worker;
}
