// Structured JSON logs. Secrets never reach a log line: sensitive headers, body fields and query
// parameters are redacted before serialisation, whatever code logs them.
import type { IncomingMessage, ServerResponse } from "node:http";
import pino, { type DestinationStream, type Logger } from "pino";
import type { LogLevel } from "./config/config.js";

/** Field names whose values are credentials or single-use secrets wherever they appear. */
export const SECRET_FIELDS = [
  "authorization",
  "cookie",
  "set-cookie",
  "password",
  "new_password",
  "client_secret",
  "code_verifier",
  "refresh_token",
  "access_token",
  "id_token",
  "token",
  "id_token_hint",
  "secret",
  "private_key",
  "master_key",
  "csrf",
  "_csrf",
] as const;

// Authorization codes travel in query strings (redirects, provider callbacks); the field name `code`
// is not redacted in objects because error codes use it too.
// A connected-app session_id lets its holder fetch a user's provider token: as secret as a token.
const SECRET_QUERY_PARAMS: ReadonlySet<string> = new Set([...SECRET_FIELDS, "code", "session_id"]);

const REDACT_PATHS = [
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  ...SECRET_FIELDS.flatMap((field) => {
    const key = /^[a-z_]+$/.test(field) ? field : `["${field}"]`;
    const dot = key.startsWith("[") ? "" : ".";
    return [key, `*${dot}${key}`, `*.*${dot}${key}`, `*.*.*${dot}${key}`];
  }),
];

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: "[REDACTED]" },
      serializers: {
        req: serializeRequest,
        res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
        err: pino.stdSerializers.err,
      },
    },
    destination,
  );
}

function serializeRequest(req: IncomingMessage & { id?: string; ip?: string }) {
  return {
    method: req.method,
    url: redactUrl(req.url ?? ""),
    remoteAddress: req.ip ?? req.socket?.remoteAddress,
    userAgent: req.headers["user-agent"],
  };
}

/** Replaces the values of secret-bearing query parameters (e.g. `?code=`) in a request URL. */
export function redactUrl(url: string): string {
  const q = url.indexOf("?");
  if (q === -1) return url;
  const params = url
    .slice(q + 1)
    .split("&")
    .map((pair) => {
      const eq = pair.indexOf("=");
      if (eq === -1) return pair;
      let name = pair.slice(0, eq);
      try {
        name = decodeURIComponent(name.replace(/\+/g, " "));
      } catch {
        // an undecodable name is logged as sent; its value is still redacted below if it matches
      }
      return SECRET_QUERY_PARAMS.has(name.toLowerCase()) ? `${pair.slice(0, eq)}=[REDACTED]` : pair;
    });
  return `${url.slice(0, q)}?${params.join("&")}`;
}
