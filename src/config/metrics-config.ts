// The metrics settings (METRICS, METRICS_TOKEN), parsed for config.ts's loadConfig.
import type { Fail } from "./config.js";

export interface MetricsConfig {
  /** Whether GET /metrics exists at all (off by default: it describes the deployment's traffic). */
  enabled: boolean;
  /**
   * The bearer token a scraper must present. Without one, /metrics answers loopback clients only.
   * Never logged: only the /metrics route reads it.
   */
  token?: string;
}

/** Shorter tokens could be guessed; 32 characters of `openssl rand -hex 16` carry 128 bits. */
export const METRICS_TOKEN_MIN_LENGTH = 32;
const METRICS_TOKEN_MAX_LENGTH = 512;
// RFC 6750 §2.1 b64token: what a client can send after "Bearer " without quoting.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

export function parseMetrics(get: (key: string) => string | undefined, fail: Fail): MetricsConfig {
  const raw = get("METRICS") ?? "off";
  if (raw !== "on" && raw !== "off") fail("METRICS", "must be on or off");
  const enabled = raw === "on";
  const token = get("METRICS_TOKEN");
  if (token === undefined) return { enabled };
  // No message below repeats the token: configuration errors are printed and may be logged.
  if (token.length < METRICS_TOKEN_MIN_LENGTH || token.length > METRICS_TOKEN_MAX_LENGTH) {
    fail(
      "METRICS_TOKEN",
      `must be ${METRICS_TOKEN_MIN_LENGTH} to ${METRICS_TOKEN_MAX_LENGTH} characters, got ${token.length} ` +
        "(generate one: `openssl rand -hex 32`)",
    );
  } else if (!B64TOKEN.test(token)) {
    fail(
      "METRICS_TOKEN",
      "may contain only letters, digits and - . _ ~ + / (then = padding), as a bearer token",
    );
  }
  // A token with metrics off protects nothing and would leave a scraper wondering at its 404s.
  if (!enabled) fail("METRICS_TOKEN", "is set but METRICS is off: set METRICS=on, or unset METRICS_TOKEN");
  return { enabled, token };
}
