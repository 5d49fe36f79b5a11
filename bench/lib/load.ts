// One load run: autocannon against a server process for a fixed time, with the server's CPU time
// (all threads, all workers) read from /proc before and after.
import autocannon from "autocannon";
import { cpuSeconds } from "./proc.js";

export interface LoadSpec {
  url: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  connections?: number;
  seconds: number;
  /** Send exactly this many requests (a pool of single-use codes) instead of running `seconds`. */
  amount?: number;
  /** Requests per second across all connections (default: as fast as answers come back). */
  overallRate?: number;
  /**
   * Builds each request (a fresh code, a rotated refresh token, a pending sign-in…). `context`
   * belongs to the connection and is handed to onResponse for that request's answer.
   */
  setupRequest?: (request: autocannon.Request, context: Record<string, unknown>) => autocannon.Request;
  onResponse?: (status: number, body: string, context: Record<string, unknown>) => void;
  /** 2xx and 3xx count as success unless a status is listed here. */
  okStatuses?: number[];
}

export interface LoadResult {
  requestsPerSecond: number;
  total: number;
  p50: number;
  p99: number;
  errors: number;
  /** Server CPU milliseconds per answered request. */
  cpuMsPerRequest: number;
  statusCodes: Record<string, number>;
}

export async function load(pid: number, spec: LoadSpec): Promise<LoadResult> {
  const cpuBefore = cpuSeconds(pid);
  const statusCodes: Record<string, number> = {};
  const started = performance.now();
  let lastAnswer = started;
  const result = await autocannon({
    url: spec.url,
    method: spec.method ?? "GET",
    headers: spec.headers,
    body: spec.body,
    connections: spec.connections ?? 50,
    ...(spec.amount ? { amount: spec.amount } : { duration: spec.seconds }),
    ...(spec.overallRate ? { overallRate: spec.overallRate } : {}),
    requests: [
      {
        ...(spec.setupRequest
          ? { setupRequest: spec.setupRequest as (r: autocannon.Request, c: object) => autocannon.Request }
          : {}),
        onResponse: (status: number, body: string, context: unknown) => {
          lastAnswer = performance.now();
          statusCodes[status] = (statusCodes[status] ?? 0) + 1;
          spec.onResponse?.(status, body, context as Record<string, unknown>);
        },
      },
    ],
  });
  const cpu = cpuSeconds(pid) - cpuBefore;
  const ok = (status: number) =>
    spec.okStatuses ? spec.okStatuses.includes(status) : status >= 200 && status < 400;
  const failed = Object.entries(statusCodes)
    .filter(([status]) => !ok(Number(status)))
    .reduce((sum, [, n]) => sum + n, 0);
  const total = result.requests.total;
  // A run of `amount` requests ends at its last answer. autocannon's own `duration` ends at its
  // next once-a-second tick after that, up to a second later: a run of 6 000 codes answered in
  // 4.1 s was reported as 5 s, its rate a fifth too low.
  const seconds = spec.amount ? (lastAnswer - started) / 1000 : spec.seconds;
  return {
    requestsPerSecond: Math.round(total / seconds),
    total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: failed + result.errors + result.timeouts,
    cpuMsPerRequest: total > 0 ? Number(((cpu * 1000) / total).toFixed(3)) : 0,
    statusCodes,
  };
}
