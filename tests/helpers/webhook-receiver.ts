// A webhook receiver for tests: a real HTTP server on loopback that records every complete POST
// (path, `webhook-id` header, body) in arrival order and answers 200. Each endpoint under test is a
// path of its own on it. Only complete bodies count: a sender killed in the middle of a request
// leaves a truncated body that no receiver would accept (and that never got a 2xx).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeWebhook } from "@kinde/webhooks";

export interface ReceivedWebhook {
  path: string;
  /** The `webhook-id` header: the event id, the receiver's de-duplication key. */
  webhookId: string;
  contentType: string;
  body: string;
  /** Arrival order across every path (0, 1, 2 …). */
  seq: number;
}

/** The claims of a delivered event (Kinde's webhook body). */
export interface DecodedEvent {
  type: string;
  event_id: string;
  source: string;
  timestamp: string;
  data: Record<string, Record<string, unknown>>;
}

export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  private server: Server | undefined;
  url = "";

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        if (!request.complete) return;
        const webhookId = request.headers["webhook-id"];
        this.received.push({
          path: new URL(request.url ?? "/", "http://receiver").pathname,
          webhookId: typeof webhookId === "string" ? webhookId : "",
          contentType: request.headers["content-type"] ?? "",
          body: Buffer.concat(chunks).toString("utf8"),
          seq: this.received.length,
        });
        response.writeHead(200, { "content-type": "text/plain" }).end("ok");
      });
      // A sender that died mid-request: nothing to record, nothing to answer.
      request.on("error", () => {});
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** What reached one endpoint path, in arrival order. */
  at(path: string): ReceivedWebhook[] {
    return this.received.filter((r) => r.path === path);
  }

  close(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** Per webhook-id, how many times it arrived (at one path, or everywhere). */
export function countById(received: readonly ReceivedWebhook[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of received) counts.set(r.webhookId, (counts.get(r.webhookId) ?? 0) + 1);
  return counts;
}

/**
 * Verifies a delivered body the way a Kinde customer's app does — `decodeWebhook(token, domain)` of
 * `@kinde/webhooks`, unchanged, against the issuer's JWKS — and checks it names the event its
 * `webhook-id` header names. Decoded bodies are remembered (a body is verified once).
 */
export class WebhookJudge {
  private readonly decoded = new Map<string, DecodedEvent>();
  constructor(private readonly issuer: string) {}

  async decode(received: ReceivedWebhook): Promise<DecodedEvent> {
    const known = this.decoded.get(received.body);
    if (known) return known;
    const event = await decodeWebhook<DecodedEvent>(received.body, this.issuer);
    if (!event) throw new Error(`decodeWebhook refused a delivered body: ${received.body.slice(0, 80)}…`);
    if (event.event_id !== received.webhookId)
      throw new Error(`webhook-id ${received.webhookId} on the body of event ${event.event_id}`);
    if (received.contentType !== "application/jwt")
      throw new Error(`content-type ${received.contentType} (Kinde sends application/jwt)`);
    this.decoded.set(received.body, event);
    return event;
  }
}
