// Outbound HTTP to third-party providers, guarded against SSRF. Provider URLs come from
// administrators (and, for generic providers, from an issuer's discovery document), so a URL must not
// be a way to reach Latchkey's own network. Three rules:
//
// 1. The host is resolved here and every address it resolves to must be public (RFC 6890 special-
//    purpose ranges refused, IPv4 embedded in IPv6 judged as IPv4), unless the operator allows
//    private networks (on-premise providers, tests).
// 2. The connection goes to the address that was checked — the socket's DNS lookup is pinned to it —
//    so a name that re-resolves between check and connect (DNS rebinding) gains nothing. TLS SNI and
//    the Host header still carry the name.
// 3. One deadline bounds the whole exchange: resolving, connecting, the headers and the body, which
//    is read against a byte limit. A provider that drips its answer is cut off at the deadline.
//
// A caller that sends many requests to the same receivers (the webhook worker) may keep connections
// open between them (KeptConnections): each kept connection belongs to the one checked address it
// was opened to, so rule 2 holds for every request sent on it.
import { lookup as dnsLookup } from "node:dns/promises";
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { isIP, type LookupFunction } from "node:net";

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to its addresses (injectable: tests map names without a DNS server). */
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface OutboundOptions {
  allowPrivateNetworks: boolean;
  /** Milliseconds for the whole exchange, resolution to last body byte. */
  deadlineMs: number;
  /** The response body is refused beyond this many bytes. */
  maxResponseBytes?: number;
  /**
   * Beyond maxResponseBytes, keep the status and the first bytes and close the connection instead
   * of failing (a webhook receiver's answer matters by its status alone).
   */
  truncateResponse?: boolean;
  resolveHost?: HostResolver;
  /**
   * Connections kept open between requests. Only for requests that may be sent twice: one sent on a
   * kept connection the receiver had closed meanwhile is sent again on a new one.
   */
  keptConnections?: KeptConnections;
}

export interface OutboundResponse {
  status: number;
  contentType: string;
  body: string;
}

/**
 * Why an outbound request failed. The message is for logs (it names no secret but may name hosts
 * and addresses): it must never be shown to API callers.
 */
export class OutboundError extends Error {
  constructor(
    readonly reason: "invalid_url" | "refused_address" | "unresolvable" | "timeout" | "too_large" | "network",
    message: string,
  ) {
    super(message);
  }
}

const DEFAULT_MAX_RESPONSE_BYTES = 100_000;

export const systemResolver: HostResolver = async (hostname) => {
  const found = await dnsLookup(hostname, { all: true, verbatim: true });
  return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

export async function outboundRequest(
  url: string,
  init: { method: "GET" | "POST"; headers: Record<string, string>; body?: string },
  options: OutboundOptions,
): Promise<OutboundResponse> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new OutboundError("invalid_url", "not a URL");
  }
  const protocolProblem = protocolProblemOf(target, options.allowPrivateNetworks);
  if (protocolProblem) throw new OutboundError("invalid_url", protocolProblem);

  const controller = new AbortController();
  const timer = setTimeout(
    () =>
      controller.abort(new OutboundError("timeout", `no complete answer within ${options.deadlineMs} ms`)),
    options.deadlineMs,
  );
  try {
    const pinned = await untilAborted(pickAddress(target.hostname, options), controller.signal);
    const send = (agent: HttpAgent | false) =>
      exchange(target, init, pinned, options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES, {
        signal: controller.signal,
        truncate: options.truncateResponse === true,
        agent,
      });
    const kept = options.keptConnections?.agentFor(target.protocol, pinned) ?? false;
    try {
      return await send(kept);
    } catch (error) {
      // A kept connection the receiver closed while it sat idle (its keep-alive timeout crossing
      // our request, RFC 9112 §9.3.1): the request never reached it, so it goes once more on a new
      // connection — not counted as the receiver's failure. Within the same deadline.
      if (!(error instanceof ClosedWhileKept)) throw error;
      return await send(false);
    }
  } finally {
    clearTimeout(timer);
  }
}

/** The one address this request may connect to: every address of the host must pass the guard. */
async function pickAddress(hostname: string, options: OutboundOptions): Promise<ResolvedAddress> {
  const host = hostname.replace(/^\[|\]$/g, "");
  let addresses: ResolvedAddress[];
  const family = isIP(host);
  if (family) {
    addresses = [{ address: host, family: family === 6 ? 6 : 4 }];
  } else {
    try {
      addresses = await (options.resolveHost ?? systemResolver)(host);
    } catch (error) {
      throw new OutboundError("unresolvable", `could not resolve ${host}: ${errorText(error)}`);
    }
    if (addresses.length === 0) throw new OutboundError("unresolvable", `${host} has no address`);
  }
  if (!options.allowPrivateNetworks) {
    // All of them, not just the first: a name mixing public and private answers is an attack, and
    // the happy-eyeballs order must not decide whether the guard holds.
    const refused = addresses.find((a) => !isPublicAddress(a.address));
    if (refused) {
      throw new OutboundError(
        "refused_address",
        `${host} resolves to ${refused.address}, a private or reserved address`,
      );
    }
  }
  return addresses[0]!;
}

/**
 * Connections kept open per checked address, for one sender (the webhook worker): a connection is
 * reused only for a request whose host name resolved, and passed the guard, to the very address it
 * was opened to. Bounded in addresses and in idle connections per address; `close` ends them all.
 */
export class KeptConnections {
  /** By protocol and address, most recently used last. */
  private readonly agents = new Map<string, HttpAgent>();

  constructor(private readonly limits = { addresses: 64, idlePerAddress: 4, idleMs: 30_000 }) {}

  agentFor(protocol: string, pinned: ResolvedAddress): HttpAgent {
    const key = `${protocol}|${pinned.family}|${pinned.address}`;
    let agent = this.agents.get(key);
    if (agent) this.agents.delete(key);
    else {
      const options = {
        keepAlive: true,
        maxFreeSockets: this.limits.idlePerAddress,
        // An idle connection is ended after this long (Node also honours a shorter Keep-Alive
        // timeout the receiver announces); the one most recently used is reused first.
        timeout: this.limits.idleMs,
        scheduling: "lifo" as const,
      };
      agent = protocol === "https:" ? new HttpsAgent(options) : new HttpAgent(options);
      if (this.agents.size >= this.limits.addresses) this.evictIdle();
    }
    this.agents.set(key, agent);
    return agent;
  }

  /**
   * Ends the least recently used address's connections, skipping any with a request under way (a
   * sender has a few at a time, far fewer than the addresses kept, so one is found).
   */
  private evictIdle(): void {
    for (const [key, agent] of this.agents) {
      const busy = Object.values(agent.sockets).some((sockets) => (sockets?.length ?? 0) > 0);
      if (busy) continue;
      this.agents.delete(key);
      agent.destroy();
      return;
    }
  }

  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}

/** The receiver closed a kept connection before answering anything on it. */
class ClosedWhileKept extends Error {}

function exchange(
  target: URL,
  init: { method: "GET" | "POST"; headers: Record<string, string>; body?: string },
  pinned: ResolvedAddress,
  maxBytes: number,
  { signal, truncate, agent }: { signal: AbortSignal; truncate: boolean; agent: HttpAgent | false },
): Promise<OutboundResponse> {
  const headers: OutgoingHttpHeaders = { ...init.headers };
  if (init.body !== undefined) headers["content-length"] = Buffer.byteLength(init.body);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<OutboundResponse>((resolve, reject) => {
    let settled = false;
    const settle = () => {
      settled = true;
      signal.removeEventListener("abort", onAbort);
    };
    let answered = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settle();
      request.destroy();
      if (!signal.aborted && !answered && request.reusedSocket && isConnectionReset(error)) {
        reject(new ClosedWhileKept());
        return;
      }
      reject(toOutboundError(signal.aborted ? signal.reason : error));
    };
    const onAbort = () => fail(signal.reason);
    const request = send({
      protocol: target.protocol,
      hostname: target.hostname.replace(/^\[|\]$/g, ""),
      port: target.port || undefined,
      path: `${target.pathname}${target.search}`,
      method: init.method,
      headers,
      // A fresh connection, or one kept for this very address (KeptConnections): never a shared
      // pool, whose sockets could have been opened to another address.
      agent,
      lookup: pinnedLookup(pinned),
    });
    signal.addEventListener("abort", onAbort, { once: true });
    request.on("error", fail);
    request.on("response", (response: IncomingMessage) => {
      answered = true;
      const chunks: Buffer[] = [];
      let size = 0;
      const finish = () => {
        if (settled) return;
        settle();
        resolve({
          status: response.statusCode ?? 0,
          contentType: String(response.headers["content-type"] ?? ""),
          body: Buffer.concat(chunks).toString("utf8"),
        });
      };
      response.on("data", (chunk: Buffer) => {
        if (settled) return;
        size += chunk.length;
        if (size > maxBytes) {
          if (!truncate) {
            fail(new OutboundError("too_large", `the answer exceeds ${maxBytes} bytes`));
            return;
          }
          chunks.push(chunk.subarray(0, chunk.length - (size - maxBytes)));
          finish();
          request.destroy();
          return;
        }
        chunks.push(chunk);
      });
      response.on("error", fail);
      response.on("aborted", () => fail(new OutboundError("network", "the connection closed mid-answer")));
      response.on("end", finish);
    });
    request.end(init.body);
  });
}

/** A socket lookup that answers only the checked address, whatever the name resolves to now. */
function pinnedLookup(pinned: ResolvedAddress): LookupFunction {
  return (_hostname, options, callback) => {
    // With autoSelectFamily (Node 20's default) net asks for every address at once.
    if (options.all) callback(null, [{ address: pinned.address, family: pinned.family }]);
    else callback(null, pinned.address, pinned.family);
  };
}

function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(toOutboundError(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(toOutboundError(signal.reason));
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/** How Node reports a connection closed under a request (ECONNRESET, also "socket hang up", or EPIPE). */
function isConnectionReset(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ECONNRESET" || code === "EPIPE";
}

function toOutboundError(error: unknown): OutboundError {
  return error instanceof OutboundError ? error : new OutboundError("network", errorText(error));
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function protocolProblemOf(url: URL, allowPrivateNetworks: boolean): string | undefined {
  if (allowPrivateNetworks)
    return url.protocol === "https:" || url.protocol === "http:" ? undefined : "must be http(s)";
  return url.protocol === "https:" ? undefined : "must use https";
}

/**
 * Configuration-time check of a provider URL: https only, and no host that is local by name or a
 * private address literal, unless the operator allows private networks. Names are resolved only when
 * a request is made (outboundRequest), where the answer is pinned.
 */
export function providerUrlProblem(value: string, allowPrivateNetworks: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "is not a URL";
  }
  const protocolProblem = protocolProblemOf(url, allowPrivateNetworks);
  if (protocolProblem || allowPrivateNetworks) return protocolProblem;
  // WHATWG URL parsing has already turned 2130706433, 0177.0.0.1 and 0x7f.1 into 127.0.0.1, and
  // compressed IPv6 literals, so the checks below see canonical addresses.
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (
    host === "localhost" ||
    host.endsWith(".localhost") ||
    host.endsWith(".internal") ||
    host.endsWith(".local")
  )
    return "must not be a local host";
  if (isIP(host) && !isPublicAddress(host)) return "must not be a private or reserved address";
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Address classification

/** IPv4 ranges that are not globally reachable unicast (RFC 6890 registry, multicast, reserved). */
const IPV4_REFUSED: readonly [string, number][] = [
  ["0.0.0.0", 8], // "this network" (RFC 791); 0.0.0.0 reaches the local host on Linux
  ["10.0.0.0", 8], // private (RFC 1918)
  ["100.64.0.0", 10], // carrier-grade NAT (RFC 6598)
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local (RFC 3927), cloud metadata endpoints
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments (RFC 6890)
  ["192.0.2.0", 24], // TEST-NET-1 (RFC 5737)
  ["192.31.196.0", 24], // AS112 (RFC 7535)
  ["192.52.193.0", 24], // AMT (RFC 7450)
  ["192.88.99.0", 24], // 6to4 relay anycast (RFC 7526)
  ["192.168.0.0", 16], // private
  ["192.175.48.0", 24], // AS112 direct delegation (RFC 7534)
  ["198.18.0.0", 15], // benchmarking (RFC 2544)
  ["198.51.100.0", 24], // TEST-NET-2
  ["203.0.113.0", 24], // TEST-NET-3
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, and 255.255.255.255 broadcast
];

function ipv4ToNumber(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

function inIpv4Range(value: number, [base, bits]: [string, number]): boolean {
  const size = 2 ** (32 - bits);
  const start = ipv4ToNumber(base)!;
  return value >= start && value < start + size;
}

function isPublicIpv4(value: number): boolean {
  return !IPV4_REFUSED.some((range) => inIpv4Range(value, range));
}

/** The eight 16-bit groups of an IPv6 address (zone id dropped, embedded dotted IPv4 allowed). */
export function parseIpv6(text: string): number[] | undefined {
  let ip = text.replace(/^\[|\]$/g, "");
  const zone = ip.indexOf("%");
  if (zone >= 0) ip = ip.slice(0, zone);
  let tail: number[] = [];
  const lastColon = ip.lastIndexOf(":");
  if (ip.slice(lastColon + 1).includes(".")) {
    const v4 = ipv4ToNumber(ip.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [Math.floor(v4 / 65536), v4 % 65536];
    // "::ffff:1.2.3.4" → "::ffff", "::1.2.3.4" → "::": drop the separator unless it is the "::".
    ip = ip.slice(0, lastColon + 1);
    if (!ip.endsWith("::")) ip = ip.slice(0, -1);
  }
  const halves = ip.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const parsed = [...head, ...rest].map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? Number.parseInt(g, 16) : NaN));
  if (parsed.some(Number.isNaN)) return undefined;
  const missing = 8 - parsed.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  return [
    ...parsed.slice(0, head.length),
    ...new Array<number>(halves.length === 2 ? missing : 0).fill(0),
    ...parsed.slice(head.length),
    ...tail,
  ];
}

function isPublicIpv6(g: number[]): boolean {
  const embeddedV4 = (hi: number, lo: number) => hi * 65536 + lo;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  // ::ffff:a.b.c.d (IPv4-mapped, RFC 4291 §2.5.5.2): the socket reaches the IPv4 address.
  if (zeros(0, 5) && g[5] === 0xffff) return isPublicIpv4(embeddedV4(g[6]!, g[7]!));
  // 64:ff9b::a.b.c.d (NAT64 well-known prefix, RFC 6052): a translator reaches the IPv4 address.
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return isPublicIpv4(embeddedV4(g[6]!, g[7]!));
  // 2002:AABB:CCDD::/48 (6to4, RFC 3056) embeds the IPv4 address of its relay.
  if (g[0] === 0x2002) return isPublicIpv4(embeddedV4(g[1]!, g[2]!));
  // Only global unicast (2000::/3) is public; this refuses ::, ::1, IPv4-compatible ::a.b.c.d,
  // 100::/64 discard, fc00::/7 unique-local, fe80::/10 link-local, fec0::/10 site-local, ff00::/8.
  if ((g[0]! & 0xe000) !== 0x2000) return false;
  // 2001::/23 IETF protocol assignments (Teredo 2001::/32 included, RFC 6890), 2001:db8::/32 and
  // 3fff::/20 documentation (RFC 3849, RFC 9637).
  if (g[0] === 0x2001 && g[1]! < 0x200) return false;
  if (g[0] === 0x2001 && g[1] === 0xdb8) return false;
  if (g[0] === 0x3fff && g[1]! < 0x1000) return false;
  return true;
}

/** True only for a globally reachable unicast address; anything unparsable counts as not public. */
export function isPublicAddress(ip: string): boolean {
  const host = ip.replace(/^\[|\]$/g, "");
  if (isIP(host) === 4) {
    const value = ipv4ToNumber(host);
    return value !== undefined && isPublicIpv4(value);
  }
  const groups = isIP(host.split("%")[0]!) === 6 ? parseIpv6(host) : undefined;
  return groups !== undefined && isPublicIpv6(groups);
}
