// Structured JSON logs. Secrets never reach a log line: sensitive headers, body fields and query
// parameters are redacted before serialisation, whatever code logs them.
//
// Per request, logging costs nothing until a line is written: a request's logger (with its
// request id) is made on first use (requestLogger), and the two access lines go through
// createAccessLog. Redaction walks every value of a line against ~90 wildcard paths, and pino
// applies it to a child's bindings when the child is made — Fastify's default of one child per
// request cost ~50 µs per request (more than a bare Fastify route in all) even at LOG_LEVEL=warn.
import type { IncomingMessage, ServerResponse } from "node:http";
import pino, { type Bindings, type ChildLoggerOptions, type DestinationStream, type Logger } from "pino";
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
// Bearer values that travel in URLs: authorization codes, connected-app session ids, invitation
// codes (join an organization with roles), connection-test tickets and device user codes.
const SECRET_QUERY_PARAMS: ReadonlySet<string> = new Set([
  ...SECRET_FIELDS,
  "code",
  "session_id",
  "invitation_code",
  "ticket",
  "user_code",
]);

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
        res: (res: Pick<ServerResponse, "statusCode">) => ({ statusCode: res.statusCode }),
        err: pino.stdSerializers.err,
      },
    },
    destination,
  );
}

type LevelName = "fatal" | "error" | "warn" | "info" | "debug" | "trace";
const LEVEL_VALUES: Record<LevelName, number> = {
  fatal: 60,
  error: 50,
  warn: 40,
  info: 30,
  debug: 20,
  trace: 10,
};

/**
 * A request's logger, made the first time a line at an enabled level is written through it (an
 * error, a warning, a sign-in audit line): the same pino child Fastify would make, bindings
 * redacted as ever, but not paid for by the requests that never log.
 */
class RequestLogger {
  private made: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly bindingsOf: Bindings,
  ) {}

  private get logger(): Logger {
    this.made ??= this.parent.child(this.bindingsOf);
    return this.made;
  }

  private write(level: LevelName, args: unknown[]): void {
    if ((this.made ?? this.parent).levelVal > LEVEL_VALUES[level]) return;
    const logger = this.logger;
    (logger[level] as (...args: unknown[]) => void).apply(logger, args);
  }

  get level(): string {
    return (this.made ?? this.parent).level;
  }
  set level(level: string) {
    this.logger.level = level;
  }
  get levelVal(): number {
    return (this.made ?? this.parent).levelVal;
  }
  isLevelEnabled(level: string): boolean {
    return (this.made ?? this.parent).isLevelEnabled(level);
  }
  bindings(): Bindings {
    return this.logger.bindings();
  }
  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.logger.child(bindings, options);
  }
  flush(): void {
    this.parent.flush();
  }
  fatal(...args: unknown[]): void {
    this.write("fatal", args);
  }
  error(...args: unknown[]): void {
    this.write("error", args);
  }
  warn(...args: unknown[]): void {
    this.write("warn", args);
  }
  info(...args: unknown[]): void {
    this.write("info", args);
  }
  debug(...args: unknown[]): void {
    this.write("debug", args);
  }
  trace(...args: unknown[]): void {
    this.write("trace", args);
  }
  silent(): void {}
}

/**
 * Fastify's `childLoggerFactory`: the logger of one request (`request.log`), bound to its request
 * id, made only when something logs through it. A route with its own level or serializers gets a
 * real child at once.
 */
export function requestLogger(parent: Logger, bindings: Bindings, options: ChildLoggerOptions = {}): Logger {
  if (options.level !== undefined || options.serializers !== undefined)
    return parent.child(bindings, options);
  return new RequestLogger(parent, bindings) as unknown as Logger;
}

/** The access log: what Fastify logs for every request, at `info`. */
export interface AccessLog {
  /** `incoming request`: method, URL (secret query parameters redacted), address, user agent. */
  incoming(request: RequestLike & { id: string }): void;
  /** `request completed`: status and time taken. */
  completed(request: { id: string }, response: { statusCode: number }, responseTime: number): void;
}

/**
 * The access lines, with the fields and messages Fastify's own have. Every field is fixed and made
 * safe here — the URL through redactUrl, no header but User-Agent, a request id that is ours or
 * matched a strict pattern — so they are written by a child without redaction, which nothing else
 * can reach; whatever else a request logs (errors included) goes through `request.log`, redacted.
 */
export function createAccessLog(logger: Logger): AccessLog {
  const lines = logger.child({}, { redact: { paths: [] } });
  const info = LEVEL_VALUES.info;
  return {
    incoming(request) {
      if (lines.levelVal > info) return;
      // The `req` serializer below picks the fields.
      lines.info({ reqId: request.id, req: request }, "incoming request");
    },
    completed(request, response, responseTime) {
      if (lines.levelVal > info) return;
      lines.info({ reqId: request.id, res: response, responseTime }, "request completed");
    },
  };
}

type RequestLike = Pick<IncomingMessage, "method" | "url" | "headers" | "socket"> & { ip?: string };

function serializeRequest(req: RequestLike): {
  method?: string;
  url: string;
  remoteAddress?: string;
  userAgent?: string;
} {
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
