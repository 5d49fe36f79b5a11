// Row types of the outboxes (issues 16 and 18): mail messages, events and their webhook deliveries.
import type { Generated } from "kysely";

export type MailStatus = "pending" | "sent" | "failed" | "outbox";

export interface MailMessagesTable {
  id: string;
  /** The cause's own key (e.g. `verify:<code id>`): one message per cause, however often it is retried. */
  idempotency_key: string;
  /** The template (src/mail/templates.ts). */
  kind: string;
  to_address: string;
  /** Never carries a code or link: it is stored and listed in clear. */
  subject: string;
  /** JSON {text, html}, sealed with the master key (AAD mailBodyAad(id)); null once delivered or given up. */
  body_sealed: string | null;
  status: MailStatus;
  attempts: Generated<number>;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_until: number | null;
  /** A short reason for the last failed attempt, never a secret. */
  last_error: string | null;
  created_at: number;
  sent_at: number | null;
}

/** Kinde's event sources: the dashboard (an administrator), a machine token, the user themself. */
export type EventSource = "admin" | "api" | "user";

export interface EventsTable {
  /** `event_` + 32 hex; the first 12 are the time in milliseconds, so ids sort by time. */
  id: string;
  type: string;
  source: EventSource;
  /** JSON: Kinde's `data` object for the type. */
  data: string;
  occurred_at_ms: number;
  /** The user the event is about, when there is one. */
  user_id: string | null;
  created_at: number;
}

export interface WebhooksTable {
  /** `webhook_` + 32 hex. */
  id: string;
  name: string;
  description: string | null;
  endpoint: string;
  created_at: number;
  updated_at: number;
  disabled_at: number | null;
  disabled_reason: string | null;
  next_attempt_at: Generated<number>;
  failing_since: number | null;
  consecutive_failures: Generated<number>;
  lease_owner: string | null;
  lease_until: number | null;
}

export interface WebhookEventTypesTable {
  webhook_id: string;
  event_type: string;
}

export type WebhookDeliveryStatus = "pending" | "delivered" | "failed";

export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  event_id: string;
  occurred_at_ms: number;
  status: WebhookDeliveryStatus;
  attempts: Generated<number>;
  last_attempt_at: number | null;
  last_status_code: number | null;
  last_duration_ms: number | null;
  /** A short reason for the last failed attempt: never a response body or a secret. */
  last_error: string | null;
  delivered_at: number | null;
  created_at: number;
}
