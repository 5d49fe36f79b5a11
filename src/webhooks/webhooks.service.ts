// Webhook endpoints: what an administrator or a machine token may register, and the operations on
// their delivery log. An endpoint is an outbound URL chosen by a caller, so it passes the same SSRF
// rules as connected-app providers (https, no private or local address unless the operator allows
// private networks) at registration and again, with the address pinned, at every delivery.
import type { Clock } from "../clock.js";
import { isEventType } from "../events/event-types.js";
import { recordTestEvent } from "../events/events.js";
import { providerUrlProblem } from "../outbound/http.js";
import { type Db, inTransaction } from "../storage/database.js";
import { newWebhookId, type Webhook, WebhooksStore } from "./webhooks.store.js";

export const MAX_ENDPOINT_LENGTH = 2_000;

export type WebhookProblem =
  | { kind: "invalid_endpoint"; message: string }
  | { kind: "invalid_event_types"; message: string };

export interface WebhookFields {
  name: string;
  description: string | null;
  endpoint: string;
  eventTypes: readonly string[];
}

export class WebhooksService {
  readonly store: WebhooksStore;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly options: { allowPrivateNetworks: boolean },
  ) {
    this.store = new WebhooksStore(db);
  }

  endpointProblem(endpoint: string): string | undefined {
    if (endpoint.length > MAX_ENDPOINT_LENGTH) return `must be at most ${MAX_ENDPOINT_LENGTH} characters`;
    const problem = providerUrlProblem(endpoint, this.options.allowPrivateNetworks);
    if (problem) return problem;
    // Credentials in the URL would be stored and logged by proxies; a receiver authenticates the
    // sender by the JWT's signature instead.
    const url = new URL(endpoint);
    if (url.username || url.password) return "must not contain a user name or password";
    if (url.hash) return "must not contain a fragment";
    return undefined;
  }

  eventTypesProblem(eventTypes: readonly string[]): string | undefined {
    if (eventTypes.length === 0) return "must name at least one event type";
    const unknown = eventTypes.find((t) => !isEventType(t));
    return unknown === undefined
      ? undefined
      : `"${unknown.slice(0, 100)}" is not an event type (see GET /api/v1/event_types)`;
  }

  async create(fields: WebhookFields): Promise<{ id: string } | WebhookProblem> {
    const endpointProblem = this.endpointProblem(fields.endpoint);
    if (endpointProblem) return { kind: "invalid_endpoint", message: `The endpoint ${endpointProblem}` };
    const typesProblem = this.eventTypesProblem(fields.eventTypes);
    if (typesProblem) return { kind: "invalid_event_types", message: `event_types ${typesProblem}` };
    const id = newWebhookId();
    await this.store.insert({ id, ...fields, now: this.clock.now() });
    return { id };
  }

  async update(
    id: string,
    changes: {
      name?: string;
      description?: string | null;
      eventTypes?: readonly string[];
      enabled?: boolean;
    },
  ): Promise<"updated" | "not_found" | WebhookProblem> {
    if (changes.eventTypes) {
      const problem = this.eventTypesProblem(changes.eventTypes);
      if (problem) return { kind: "invalid_event_types", message: `event_types ${problem}` };
    }
    return (await this.store.update(id, changes, this.clock.now())) ? "updated" : "not_found";
  }

  find(id: string): Promise<Webhook | undefined> {
    return this.store.find(id);
  }

  /** Queues a test event for this endpoint alone; undefined when there is no such webhook. */
  async sendTest(id: string): Promise<string | undefined> {
    return inTransaction(this.db, async (trx) => {
      if (!(await new WebhooksStore(trx).find(id))) return undefined;
      return recordTestEvent(trx, this.clock, id);
    });
  }
}
