// Request and response schemas of Kinde's Webhooks operations (/api/v1/webhooks, /event_types,
// /events/{event_id}) and of Latchkey's delivery log (deliveries, resend, test) beside them.
import { Type } from "@sinclair/typebox";
import { nullable, PageSize, SuccessResponse } from "../management/schemas.js";

const Name = Type.String({ minLength: 1, maxLength: 100 });
const Description = nullable(Type.String({ maxLength: 1000 }));
const EventTypes = Type.Array(Type.String({ maxLength: 100 }), { maxItems: 50 });

export const CreateWebhookBody = Type.Object({
  endpoint: Type.String({ minLength: 1, maxLength: 2000 }),
  event_types: EventTypes,
  name: Name,
  description: Type.Optional(Description),
});

export const UpdateWebhookBody = Type.Object({
  event_types: Type.Optional(EventTypes),
  name: Type.Optional(Name),
  description: Type.Optional(Description),
  /** Latchkey's: false disables the endpoint, true re-enables one (its pending deliveries go at once). */
  is_enabled: Type.Optional(Type.Boolean()),
});

export const WebhookParams = Type.Object({ webhook_id: Type.String({ maxLength: 100 }) });
export const DeliveryParams = Type.Object({
  webhook_id: Type.String({ maxLength: 100 }),
  delivery_id: Type.String({ maxLength: 200 }),
});
export const EventParams = Type.Object({ event_id: Type.String({ maxLength: 100 }) });
export const DeliveriesQuery = Type.Object({
  page_size: PageSize,
  next_token: Type.Optional(nullable(Type.String({ maxLength: 500 }))),
});

const WebhookItem = Type.Object({
  id: Type.String(),
  name: Type.String(),
  endpoint: Type.String(),
  description: nullable(Type.String()),
  event_types: Type.Array(Type.String()),
  created_on: Type.String(),
  // Latchkey's: whether events are sent, and why not (deliveries failed for 72 hours, or an
  // administrator disabled it).
  is_enabled: Type.Boolean(),
  disabled_on: nullable(Type.String()),
  disabled_reason: nullable(Type.String()),
  next_attempt_on: nullable(Type.String()),
});

export const WebhooksResponse = Type.Object({
  ...SuccessResponse.properties,
  webhooks: Type.Array(WebhookItem),
});

export const CreateWebhookResponse = Type.Object({
  ...SuccessResponse.properties,
  webhook: Type.Object({ id: Type.String(), endpoint: Type.String() }),
});

export const UpdateWebhookResponse = Type.Object({
  ...SuccessResponse.properties,
  webhook: Type.Object({ id: Type.String() }),
});

export const EventTypesResponse = Type.Object({
  ...SuccessResponse.properties,
  event_types: Type.Array(
    Type.Object({
      id: Type.String(),
      code: Type.String(),
      name: Type.String(),
      origin: Type.String(),
      schema: Type.Record(Type.String(), Type.Unknown()),
    }),
  ),
});

export const EventResponse = Type.Object({
  ...SuccessResponse.properties,
  event: Type.Object({
    type: Type.String(),
    source: Type.String(),
    event_id: Type.String(),
    // The webhook body's ISO 8601 string (Kinde's spec types this field as an integer but
    // describes it as ISO 8601; the body its SDK decodes carries the string).
    timestamp: Type.String(),
    data: Type.Record(Type.String(), Type.Unknown()),
  }),
});

export const DeliveriesResponse = Type.Object({
  ...SuccessResponse.properties,
  deliveries: Type.Array(
    Type.Object({
      id: Type.String(),
      event_id: Type.String(),
      event_type: Type.String(),
      status: Type.String(),
      attempts: Type.Integer(),
      last_attempt_on: nullable(Type.String()),
      last_status_code: nullable(Type.Integer()),
      last_duration_ms: nullable(Type.Integer()),
      last_error: nullable(Type.String()),
      delivered_on: nullable(Type.String()),
      created_on: Type.String(),
    }),
  ),
  next_token: nullable(Type.String()),
});

export const TestEventResponse = Type.Object({
  ...SuccessResponse.properties,
  event_id: Type.String(),
});
