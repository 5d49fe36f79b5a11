// Outbound requests to providers (src/outbound/http.ts): the SSRF guard judges the
// addresses a host resolves to — not just literal hosts — in every IPv4 and IPv6 spelling, connects
// only to the address it checked, and one deadline bounds the whole exchange, body included.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import {
  type HostResolver,
  isPublicAddress,
  KeptConnections,
  OutboundError,
  outboundRequest,
  providerUrlProblem,
  type ResolvedAddress,
} from "../../src/outbound/http.js";

interface LocalServer {
  port: number;
  requests: IncomingMessage[];
  close(): Promise<void>;
}

/** A loopback server on 127.0.0.1 only, answering with `handler`. */
async function startLocalServer(
  handler: (request: IncomingMessage, response: ServerResponse) => void = (_request, response) =>
    response.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}'),
): Promise<LocalServer> {
  const requests: IncomingMessage[] = [];
  const server: Server = createServer((request, response) => {
    requests.push(request);
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address !== "object") throw new Error("no address");
  return {
    port: address.port,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A resolver answering from a table, counting its calls. */
function tableResolver(table: Record<string, ResolvedAddress[] | (() => ResolvedAddress[])>) {
  const calls: string[] = [];
  const resolve: HostResolver = async (hostname) => {
    calls.push(hostname);
    const entry = table[hostname];
    if (!entry) throw new Error(`getaddrinfo ENOTFOUND ${hostname}`);
    return typeof entry === "function" ? entry() : entry;
  };
  return { resolve, calls };
}

const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });
const v6 = (address: string): ResolvedAddress => ({ address, family: 6 });

async function refusal(promise: Promise<unknown>): Promise<OutboundError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof OutboundError, `expected an OutboundError, got ${String(error)}`);
    return error;
  }
  assert.fail("the request was not refused");
}

const GET = { method: "GET" as const, headers: { accept: "application/json" } };

describe("address classification", () => {
  it("refuses every private, loopback, link-local, shared and reserved IPv4 range", () => {
    for (const ip of [
      "0.0.0.0",
      "0.1.2.3",
      "10.0.0.1",
      "100.64.0.1",
      "100.127.255.254",
      "127.0.0.1",
      "127.255.255.255",
      "169.254.169.254",
      "172.16.0.1",
      "172.31.255.255",
      "192.0.0.8",
      "192.0.2.1",
      "192.88.99.1",
      "192.168.1.1",
      "198.18.0.1",
      "198.19.255.255",
      "198.51.100.7",
      "203.0.113.9",
      "224.0.0.1",
      "239.255.255.250",
      "240.0.0.1",
      "255.255.255.255",
    ]) {
      assert.equal(isPublicAddress(ip), false, ip);
    }
  });

  it("accepts public IPv4 addresses next to those ranges", () => {
    for (const ip of [
      "8.8.8.8",
      "1.1.1.1",
      "9.255.255.255",
      "11.0.0.0",
      "100.63.255.255",
      "100.128.0.0",
      "126.255.255.255",
      "128.0.0.1",
      "169.253.255.255",
      "172.15.255.255",
      "172.32.0.0",
      "192.167.255.255",
      "192.169.0.0",
      "198.17.255.255",
      "198.20.0.0",
      "223.255.255.255",
    ]) {
      assert.equal(isPublicAddress(ip), true, ip);
    }
  });

  it("refuses non-global IPv6, and judges IPv4 embedded in IPv6 as IPv4", () => {
    for (const ip of [
      "::",
      "::1",
      "0:0:0:0:0:0:0:1",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "::ffff:10.1.2.3",
      "::ffff:169.254.169.254",
      "::ffff:0.0.0.0",
      "::127.0.0.1", // IPv4-compatible (deprecated)
      "64:ff9b::127.0.0.1", // NAT64
      "64:ff9b::a9fe:a9fe", // NAT64 of 169.254.169.254
      "2002:7f00:1::1", // 6to4 of 127.0.0.1
      "2002:c0a8:101::", // 6to4 of 192.168.1.1
      "fc00::1",
      "fd12:3456:789a::1",
      "fe80::1",
      "fe80::1%eth0",
      "febf::1",
      "fec0::1",
      "ff02::1",
      "100::1",
      "2001::1", // Teredo
      "2001:db8::1",
      "3fff::1",
      "[::1]",
    ]) {
      assert.equal(isPublicAddress(ip), false, ip);
    }
  });

  it("accepts global unicast IPv6, and IPv6 forms embedding a public IPv4 address", () => {
    for (const ip of [
      "2606:4700:4700::1111",
      "2a00:1450:4001:82a::200e",
      "::ffff:8.8.8.8",
      "::ffff:808:808",
      "64:ff9b::8.8.8.8",
      "2002:808:808::1",
      "2001:4860:4860::8888",
    ]) {
      assert.equal(isPublicAddress(ip), true, ip);
    }
  });

  it("treats anything that is not an address as not public", () => {
    for (const text of ["", "localhost", "127.1", "1.2.3", "256.1.1.1", "::g", "1::2::3", "example.com"]) {
      assert.equal(isPublicAddress(text), false, text);
    }
  });
});

describe("configuration-time URL check", () => {
  it("refuses private literals however they are spelled (URL parsing canonicalises them)", () => {
    for (const url of [
      "https://127.0.0.1/token",
      "https://2130706433/token", // decimal
      "https://0177.0.0.1/token", // octal
      "https://0x7f.0.0.1/token", // hex
      "https://0x7f000001/token",
      "https://127.1/token", // short form
      "https://017700000001/token", // octal, whole
      "https://0/token",
      "https://[::1]/token",
      "https://[::ffff:127.0.0.1]/token",
      "https://[::ffff:a9fe:a9fe]/token",
      "https://[0:0:0:0:0:0:0:1]/token",
      "https://[fe80::1]/token",
      "https://[fd00::1]/token",
      "https://[::]/token",
      "https://169.254.169.254/latest/meta-data",
      "https://100.64.0.1/token",
      "https://localhost/token",
      "https://api.localhost/token",
      "https://metadata.google.internal/token",
      "https://printer.local/token",
    ]) {
      assert.ok(providerUrlProblem(url, false), url);
    }
    assert.equal(providerUrlProblem("https://oauth2.googleapis.com/token", false), undefined);
    assert.equal(providerUrlProblem("https://8.8.8.8/token", false), undefined);
    assert.equal(providerUrlProblem("https://[2606:4700:4700::1111]/token", false), undefined);
    assert.equal(providerUrlProblem("http://provider.example/token", false), "must use https");
    assert.equal(providerUrlProblem("http://127.0.0.1/token", true), undefined);
    assert.equal(providerUrlProblem("ftp://127.0.0.1/token", true), "must be http(s)");
  });
});

describe("outbound requests", () => {
  let local: LocalServer;
  before(async () => {
    local = await startLocalServer();
  });
  after(() => local.close());

  it("refuses a name that resolves to a private address, without connecting", async () => {
    const { resolve, calls } = tableResolver({ "provider.test": [v4("127.0.0.1")] });
    const before = local.requests.length;
    const error = await refusal(
      outboundRequest(`https://provider.test:${local.port}/token`, GET, {
        allowPrivateNetworks: false,
        deadlineMs: 2000,
        resolveHost: resolve,
      }),
    );
    assert.equal(error.reason, "refused_address");
    assert.match(error.message, /127\.0\.0\.1/);
    assert.deepEqual(calls, ["provider.test"], "the name was resolved here");
    assert.equal(local.requests.length, before, "nothing was sent");
  });

  it("refuses when any of a name's addresses is private, whatever the order", async () => {
    for (const answers of [
      [v4("8.8.8.8"), v4("10.0.0.5")],
      [v6("2606:4700:4700::1111"), v6("::ffff:127.0.0.1")],
      [v6("fd00::1"), v4("1.1.1.1")],
    ]) {
      const { resolve } = tableResolver({ "mixed.test": answers });
      const error = await refusal(
        outboundRequest("https://mixed.test/token", GET, {
          allowPrivateNetworks: false,
          deadlineMs: 2000,
          resolveHost: resolve,
        }),
      );
      assert.equal(error.reason, "refused_address", JSON.stringify(answers));
    }
  });

  it("refuses `localhost` through the system resolver (resolution, not the name, decides)", async () => {
    const before = local.requests.length;
    const error = await refusal(
      outboundRequest(`https://localhost:${local.port}/token`, GET, {
        allowPrivateNetworks: false,
        deadlineMs: 5000,
      }),
    );
    assert.equal(error.reason, "refused_address");
    assert.equal(local.requests.length, before);
  });

  it("refuses private literals in every spelling without resolving anything", async () => {
    const { resolve, calls } = tableResolver({});
    for (const url of [
      "https://2130706433/",
      "https://0177.0.0.1/",
      "https://0x7f.1/",
      "https://0.0.0.0/",
      "https://169.254.169.254/",
      "https://100.64.0.1/",
      "https://[::1]/",
      "https://[::]/",
      "https://[::ffff:127.0.0.1]/",
      "https://[::ffff:7f00:1]/",
      "https://[64:ff9b::7f00:1]/",
      "https://[2002:7f00:1::]/",
      "https://[fe80::1]/",
      "https://[fc00::1]/",
    ]) {
      const error = await refusal(
        outboundRequest(url, GET, { allowPrivateNetworks: false, deadlineMs: 2000, resolveHost: resolve }),
      );
      assert.equal(error.reason, "refused_address", url);
    }
    assert.deepEqual(calls, []);
  });

  it("refuses plain http unless private networks are allowed", async () => {
    const error = await refusal(
      outboundRequest("http://provider.example/token", GET, {
        allowPrivateNetworks: false,
        deadlineMs: 2000,
      }),
    );
    assert.equal(error.reason, "invalid_url");
  });

  it("connects to the checked address, keeping the name in the Host header", async () => {
    const { resolve, calls } = tableResolver({ "provider.test": [v4("127.0.0.1")] });
    const answer = await outboundRequest(`http://provider.test:${local.port}/token?x=1`, GET, {
      allowPrivateNetworks: true,
      deadlineMs: 2000,
      resolveHost: resolve,
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.body, '{"ok":true}');
    assert.equal(local.requests.at(-1)!.headers.host, `provider.test:${local.port}`);
    assert.equal(local.requests.at(-1)!.url, "/token?x=1");
    assert.deepEqual(calls, ["provider.test"], "resolved once, by the guard");
  });

  it("does not re-resolve at connect time (DNS rebinding gains nothing)", async () => {
    // The first answer is what the guard checks; a rebinding server would then answer the address
    // that reaches the victim. 127.0.0.2 has no listener; 127.0.0.1 is the local server.
    let answers = 0;
    const { resolve, calls } = tableResolver({
      "rebind.test": () => (answers++ === 0 ? [v4("127.0.0.2")] : [v4("127.0.0.1")]),
    });
    const before = local.requests.length;
    const error = await refusal(
      outboundRequest(`http://rebind.test:${local.port}/`, GET, {
        allowPrivateNetworks: true,
        deadlineMs: 2000,
        resolveHost: resolve,
      }),
    );
    assert.equal(error.reason, "network");
    assert.match(error.message, /ECONNREFUSED 127\.0\.0\.2/);
    assert.equal(calls.length, 1);
    assert.equal(local.requests.length, before, "the re-resolved address was never reached");
  });

  it("an unresolvable name fails as such", async () => {
    const { resolve } = tableResolver({});
    const error = await refusal(
      outboundRequest("https://nowhere.test/", GET, {
        allowPrivateNetworks: false,
        deadlineMs: 2000,
        resolveHost: resolve,
      }),
    );
    assert.equal(error.reason, "unresolvable");
  });
});

describe("kept connections (the webhook worker's)", () => {
  /**
   * A server on every loopback address (127.0.0.1 and 127.0.0.2 both reach it) that numbers its
   * connections and answers each request with the number of the connection it came on; `drop` makes
   * it close a connection under its next request instead of answering (a keep-alive timeout
   * crossing the request), once.
   */
  async function numberingServer() {
    const sockets = new Map<Socket, number>();
    const seen: { connection: number; localAddress: string | undefined }[] = [];
    let dropNext = false;
    const server = createServer((request, response) => {
      const connection = sockets.get(request.socket)!;
      seen.push({ connection, localAddress: request.socket.localAddress });
      if (dropNext && seen.filter((s) => s.connection === connection).length > 1) {
        dropNext = false;
        request.socket.destroy();
        return;
      }
      response.writeHead(200, { "content-type": "text/plain" }).end(String(connection));
    });
    server.on("connection", (socket: Socket) => sockets.set(socket, sockets.size + 1));
    await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
    const { port } = server.address() as { port: number };
    return {
      port,
      seen,
      drop: () => {
        dropNext = true;
      },
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  }
  const POST = { method: "POST" as const, headers: { "content-type": "text/plain" }, body: "event" };

  it("sends one receiver's requests on one connection, never one opened to another address", async () => {
    const server = await numberingServer();
    const kept = new KeptConnections();
    let address = "127.0.0.1";
    const { resolve } = tableResolver({ "receiver.test": () => [v4(address)] });
    const options = {
      allowPrivateNetworks: true,
      deadlineMs: 5000,
      resolveHost: resolve,
      keptConnections: kept,
    };
    try {
      const url = `http://receiver.test:${server.port}/hook`;
      const first = await outboundRequest(url, POST, options);
      const second = await outboundRequest(url, POST, options);
      assert.equal(second.body, first.body, "the second request came on the first one's connection");
      // The name now resolves elsewhere: the kept connection belongs to the address it was opened
      // to, so the request opens one to the new address.
      address = "127.0.0.2";
      const third = await outboundRequest(url, POST, options);
      assert.notEqual(third.body, first.body);
      assert.deepEqual(
        server.seen.map((s) => s.localAddress),
        ["127.0.0.1", "127.0.0.1", "127.0.0.2"],
      );
      // Without kept connections, each request has its own.
      const { keptConnections: _, ...fresh } = options;
      const a = await outboundRequest(url, POST, fresh);
      const b = await outboundRequest(url, POST, fresh);
      assert.notEqual(a.body, b.body);
    } finally {
      kept.close();
      await server.close();
    }
  });

  it("ends the connections of the address used longest ago, never under a request", async () => {
    let answerSlow!: () => void;
    const slowArrived = new Promise<void>((resolve) => {
      answerSlow = resolve;
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const server = createServer((request, response) => {
      if (request.socket.localAddress === "127.0.0.1") {
        answerSlow();
        void released.then(() => response.writeHead(200).end("slow"));
      } else response.writeHead(200).end("quick");
    });
    await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
    const { port } = server.address() as { port: number };
    const kept = new KeptConnections({ addresses: 1, idlePerAddress: 4, idleMs: 30_000 });
    const options = { allowPrivateNetworks: true, deadlineMs: 5000, keptConnections: kept };
    try {
      const slow = outboundRequest(`http://127.0.0.1:${port}/`, POST, options);
      await slowArrived;
      // A second address while the first has a request under way: over the limit, but the busy
      // address keeps its connection.
      assert.equal((await outboundRequest(`http://127.0.0.2:${port}/`, POST, options)).body, "quick");
      release();
      assert.equal((await slow).body, "slow");
    } finally {
      kept.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("sends again on a new connection a request whose kept connection the receiver closed", async () => {
    const server = await numberingServer();
    const kept = new KeptConnections();
    const options = { allowPrivateNetworks: true, deadlineMs: 5000, keptConnections: kept };
    try {
      const url = `http://127.0.0.1:${server.port}/hook`;
      const first = await outboundRequest(url, POST, options);
      server.drop();
      const again = await outboundRequest(url, POST, options);
      assert.equal(again.status, 200);
      assert.notEqual(again.body, first.body, "answered on a new connection");
      assert.deepEqual(
        server.seen.map((s) => s.connection),
        [1, 1, 2],
        "the request reached the receiver twice: on the closed connection, then on a new one",
      );
    } finally {
      kept.close();
      await server.close();
    }
  });

  it("fails a request whose new connection is closed under it (no second try)", async () => {
    const hangUp = await startLocalServer((request) => request.socket.destroy());
    const kept = new KeptConnections();
    try {
      const error = await refusal(
        outboundRequest(`http://127.0.0.1:${hangUp.port}/hook`, POST, {
          allowPrivateNetworks: true,
          deadlineMs: 5000,
          keptConnections: kept,
        }),
      );
      assert.equal(error.reason, "network");
      assert.equal(hangUp.requests.length, 1, "sent once");
    } finally {
      kept.close();
      await hangUp.close();
    }
  });
});

describe("the outbound deadline", () => {
  // The deadline is one setTimeout (outboundRequest): node:test's mock clock drives it, so each test
  // shows the exchange still open one millisecond before the deadline and refused at it, while the
  // network (real sockets, a server dripping on a real setInterval) runs as usual.
  const servers: LocalServer[] = [];
  after(async () => {
    for (const server of servers) await server.close();
  });
  async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void) {
    const server = await startLocalServer(handler);
    servers.push(server);
    return `http://127.0.0.1:${server.port}/`;
  }
  const options = (deadlineMs: number) => ({ allowPrivateNetworks: true, deadlineMs });
  const eventLoopTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

  /** A request under way, and whether it has settled (read without awaiting it). */
  interface Pending {
    settled: boolean;
    outcome: Promise<OutboundError>;
  }
  function pending(request: Promise<unknown>): Pending {
    const tracked: Pending = { settled: false, outcome: refusal(request) };
    const settle = () => {
      tracked.settled = true;
    };
    tracked.outcome.then(settle, settle);
    return tracked;
  }

  /** Moves the mocked clock to one millisecond short of the deadline, then onto it. */
  async function runClockTo(mockTimers: { tick(ms: number): void }, deadlineMs: number, request: Pending) {
    mockTimers.tick(deadlineMs - 1);
    await eventLoopTurn();
    assert.equal(request.settled, false, "still waiting one millisecond before the deadline");
    mockTimers.tick(1);
    await eventLoopTurn();
    assert.equal(request.settled, true, "refused at the deadline");
  }

  /**
   * Resolves when the server sees the client close the connection (it gave up and let go of the
   * socket). A client that kept it would hold the test until its timeout: a hang guard, not a bound.
   */
  const closedByClient = (response: ServerResponse) =>
    new Promise<void>((resolve) => response.once("close", () => resolve()));

  it("cuts a body that drips in past the deadline", { timeout: 20_000 }, async (t) => {
    let written = 0;
    let bodyFlowing!: () => void;
    const flowing = new Promise<void>((resolve) => {
      bodyFlowing = resolve;
    });
    let closed: Promise<void> | undefined;
    const url = await serve((_request, response) => {
      closed = closedByClient(response);
      response.writeHead(200, { "content-type": "application/json" });
      response.flushHeaders();
      // Whitespace (valid before JSON) forever: no answer is ever complete.
      const timer = setInterval(() => {
        if (response.destroyed) return clearInterval(timer);
        response.write(" ");
        if (++written === 5) bodyFlowing();
      }, 20);
      response.on("close", () => clearInterval(timer));
    });
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const request = pending(outboundRequest(url, GET, options(400)));
    await flowing; // headers and body bytes have been flowing for a while: past any header phase
    assert.equal(request.settled, false);
    await runClockTo(t.mock.timers, 400, request);
    const error = await request.outcome;
    assert.equal(error.reason, "timeout");
    assert.match(error.message, /no complete answer within 400 ms/);
    await closed;
  });

  it("cuts a provider that never sends its headers", { timeout: 20_000 }, async (t) => {
    let received!: (held: { closed: Promise<void> }) => void;
    const held = new Promise<{ closed: Promise<void> }>((resolve) => {
      received = resolve;
    });
    const url = await serve((_request, response) => received({ closed: closedByClient(response) }));
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const request = pending(outboundRequest(url, GET, options(300)));
    const { closed } = await held; // the request reached the server, which holds its answer
    await runClockTo(t.mock.timers, 300, request);
    assert.equal((await request.outcome).reason, "timeout");
    await closed;
  });

  it("counts name resolution inside the deadline", async (t) => {
    let resolving!: () => void;
    const asked = new Promise<void>((resolve) => {
      resolving = resolve;
    });
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const request = pending(
      outboundRequest("http://slow-dns.test/", GET, {
        ...options(300),
        resolveHost: () => {
          resolving();
          return new Promise<ResolvedAddress[]>(() => {});
        },
      }),
    );
    await asked;
    await runClockTo(t.mock.timers, 300, request);
    assert.equal((await request.outcome).reason, "timeout");
  });

  it("refuses an answer beyond the byte limit", async () => {
    const url = await serve((_request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(`"${"x".repeat(200_000)}"`);
    });
    const error = await refusal(outboundRequest(url, GET, { ...options(2000), maxResponseBytes: 100_000 }));
    assert.equal(error.reason, "too_large");
  });

  it("reads a slow but complete answer that ends within the deadline", async () => {
    const url = await serve((_request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.write(" ");
      setTimeout(() => response.end('{"access_token":"a"}'), 100);
    });
    const answer = await outboundRequest(url, GET, options(2000));
    assert.equal(answer.status, 200);
    assert.equal(JSON.parse(answer.body).access_token, "a");
  });
});
