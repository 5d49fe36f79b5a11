// Prometheus metrics through prom-client. Each server gets a Registry of its own, never
// prom-client's global one: a process (the test suite, above all) may run several servers, and
// each must report only its own traffic. With metrics off the same API is a no-op object, so
// call sites count without asking whether anyone listens.

import type { Logger } from "pino";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { PoolStats } from "../storage/database.js";
import { type PasswordHashingLoad, passwordHashingLoad } from "../users/passwords.js";

export type SignInResult = "success" | "failure";
/** One delivery attempt: answered 2xx, failed (to be retried), or given up on (endpoint disabled). */
export type WebhookDeliveryResult = "success" | "failure" | "abandoned";

export interface Metrics {
  /** The registry /metrics serves; undefined when metrics are off. */
  readonly registry: Registry | undefined;
  /** A token endpoint success, by grant_type (RFC 6749 §4). */
  tokenIssued(grantType: string): void;
  /** A password sign-in on the hosted pages, by result. */
  signIn(result: SignInResult): void;
  webhookDelivery(result: WebhookDeliveryResult): void;
  /** A response sent: `route` is the route's template (never the raw URL), "unmatched" for none. */
  httpResponse(route: string, method: string, status: number, seconds: number): void;
}

/** Metrics off: every method does nothing. */
export const noMetrics: Metrics = Object.freeze({
  registry: undefined,
  tokenIssued() {},
  signIn() {},
  webhookDelivery() {},
  httpResponse() {},
});

export interface MetricsSources {
  /** The PostgreSQL pool's use (Storage.poolStats); absent on SQLite, which has no pool. */
  poolStats?: () => PoolStats;
  /** Webhook events waiting for delivery, read at each scrape (a count in the database). */
  queueDepth?: () => Promise<number>;
  /** The password-hashing load; the process's own by default. */
  passwordHashing?: () => PasswordHashingLoad;
  /** Where a failed read of a gauge is reported (without failing the scrape). */
  logger?: Logger;
}

// The token endpoint's grants (src/oauth/token.ts); anything else is folded into "other", so a
// label's values stay a short fixed list whatever a caller passes.
const GRANT_TYPES = new Set(["authorization_code", "refresh_token", "client_credentials"]);

// Seconds. Token requests take a few milliseconds, sign-ins tens (argon2id), so finer buckets at
// the low end than prom-client's defaults (which start at 5 ms).
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createMetrics(sources: MetricsSources = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  // Process CPU, memory, event-loop lag, GC, handles: prom-client's standard names (process_*,
  // nodejs_*) so existing dashboards work unchanged.
  collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: "latchkey_http_requests_total",
    help: "HTTP responses sent, by route template, method and status code",
    labelNames: ["route", "method", "status"] as const,
    registers,
  });
  const duration = new Histogram({
    name: "latchkey_http_request_duration_seconds",
    help: "Time from receiving a request to sending its response, by route template and method",
    labelNames: ["route", "method"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const tokens = new Counter({
    name: "latchkey_tokens_issued_total",
    help: "Successful token endpoint responses, by grant type",
    labelNames: ["grant_type"] as const,
    registers,
  });
  const signIns = new Counter({
    name: "latchkey_sign_ins_total",
    help: "Password sign-ins on the hosted pages, by result (throttled attempts are not counted)",
    labelNames: ["result"] as const,
    registers,
  });
  const deliveries = new Counter({
    name: "latchkey_webhook_deliveries_total",
    help: "Webhook delivery attempts, by result",
    labelNames: ["result"] as const,
    registers,
  });
  // Created at zero, so a rate() over them works from the first scrape, before any traffic.
  for (const grant of GRANT_TYPES) tokens.inc({ grant_type: grant }, 0);
  for (const result of ["success", "failure"] as const) signIns.inc({ result }, 0);
  for (const result of ["success", "failure", "abandoned"] as const) deliveries.inc({ result }, 0);

  const { queueDepth, logger } = sources;
  // The read of the last scrape: the error counter below waits for it, so a failure shows in the
  // same scrape (prom-client collects every metric at once, in the order they were registered).
  let reading: Promise<void> = Promise.resolve();
  new Gauge({
    name: "latchkey_webhook_queue_depth",
    help: "Webhook deliveries waiting to be made (read from the database at each scrape)",
    registers,
    async collect() {
      if (!queueDepth) return;
      reading = queueDepth().then(
        (depth) => this.set(depth),
        (error: unknown) => {
          // The database briefly away must not fail the whole scrape (every other figure is good).
          collectErrors.inc({ metric: "latchkey_webhook_queue_depth" });
          logger?.warn({ err: error }, "metrics: reading the webhook queue depth failed");
        },
      );
      await reading;
    },
  });
  const collectErrors = new Counter({
    name: "latchkey_metrics_collect_errors_total",
    help: "Scrapes at which a gauge could not be read (it kept its previous value)",
    labelNames: ["metric"] as const,
    registers,
    async collect() {
      await reading;
    },
  });

  const hashing = sources.passwordHashing ?? passwordHashingLoad;
  new Gauge({
    name: "latchkey_password_hash_queue",
    help: "Password checks admitted and waiting for a hashing thread (beyond the ones running)",
    registers,
    collect() {
      const load = hashing();
      this.set(Math.max(0, load.admitted - load.concurrency));
    },
  });
  new Gauge({
    name: "latchkey_password_hash_in_flight",
    help: "Password checks admitted and not finished (running or waiting)",
    registers,
    collect() {
      this.set(hashing().admitted);
    },
  });
  new Gauge({
    name: "latchkey_password_hash_capacity",
    help: "Password checks admitted at most; beyond it sign-ins are answered 503 with Retry-After",
    registers,
    collect() {
      this.set(hashing().capacity);
    },
  });

  const { poolStats } = sources;
  if (poolStats) {
    new Gauge({
      name: "latchkey_db_pool_connections",
      help: "PostgreSQL pool connections, by state (idle, in_use) and the pool's maximum (max)",
      labelNames: ["state"] as const,
      registers,
      collect() {
        const stats = poolStats();
        this.set({ state: "idle" }, stats.idle);
        this.set({ state: "in_use" }, stats.total - stats.idle);
        this.set({ state: "max" }, stats.max);
      },
    });
    new Gauge({
      name: "latchkey_db_pool_waiting",
      help: "Queries waiting for a PostgreSQL pool connection (above zero: the pool is exhausted)",
      registers,
      collect() {
        this.set(poolStats().waiting);
      },
    });
  }

  return {
    registry,
    tokenIssued(grantType) {
      tokens.inc({ grant_type: GRANT_TYPES.has(grantType) ? grantType : "other" });
    },
    signIn(result) {
      signIns.inc({ result });
    },
    webhookDelivery(result) {
      deliveries.inc({ result });
    },
    httpResponse(route, method, status, seconds) {
      requests.inc({ route, method, status: String(status) });
      duration.observe({ route, method }, seconds);
    },
  };
}

/** The metrics a configuration asks for: a registry of this server's own, or none. */
export function metricsFor(config: { metrics: { enabled: boolean } }, sources: MetricsSources = {}): Metrics {
  return config.metrics.enabled ? createMetrics(sources) : noMetrics;
}
