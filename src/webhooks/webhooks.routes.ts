// Management API: Kinde's webhooks (GET/POST /webhooks, PATCH/DELETE /webhooks/{webhook_id}),
// event types (GET /event_types) and events (GET /events/{event_id}), with Kinde's scopes; and
// Latchkey's delivery log beside them: GET /webhooks/{id}/deliveries, POST …/deliveries/{id}/resend,
// POST /webhooks/{id}/test (scopes read:webhooks and update:webhooks).
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { EVENT_TYPES, readScopesOf } from "../events/event-types.js";
import { ApiError } from "../management/errors.js";
import { notFound, POST_ERRORS, READ_ERRORS, WRITE_ERRORS } from "../management/responses.schemas.js";
import {
  encodeCursor,
  isoSeconds as iso,
  isTimeCursor,
  readPage,
  SuccessResponse,
  success,
} from "../management/schemas.js";
import {
  CreateWebhookBody,
  CreateWebhookResponse,
  DeliveriesQuery,
  DeliveriesResponse,
  DeliveryParams,
  EventParams,
  EventResponse,
  EventTypesResponse,
  TestEventResponse,
  UpdateWebhookBody,
  UpdateWebhookResponse,
  WebhookParams,
  WebhooksResponse,
} from "./webhooks.schemas.js";
import type { WebhookProblem } from "./webhooks.service.js";
import type { Webhook } from "./webhooks.store.js";

const TAG = { tags: ["Webhooks"] };
const WEBHOOK_NOT_FOUND = notFound("Webhook");

function problemError(problem: WebhookProblem): ApiError {
  return problem.kind === "invalid_endpoint"
    ? new ApiError("INVALID_URL", problem.message)
    : new ApiError("INVALID_EVENT_TYPE", problem.message);
}

function listed(webhook: Webhook) {
  return {
    id: webhook.id,
    name: webhook.name,
    endpoint: webhook.endpoint,
    description: webhook.description,
    event_types: webhook.event_types,
    created_on: iso(webhook.created_at)!,
    is_enabled: webhook.disabled_at === null,
    disabled_on: iso(webhook.disabled_at),
    disabled_reason: webhook.disabled_reason,
    next_attempt_on: webhook.failing_since === null ? null : iso(webhook.next_attempt_at),
  };
}

/** A name as stored: trimmed, and not blank (a list of endpoints named "   " tells nobody anything). */
function webhookName(name: string): string {
  const trimmed = name.trim();
  if (!trimmed) throw new ApiError("INVALID_REQUEST", "name must not be blank");
  return trimmed;
}

/** The caller must be able to read what the events carry (event-types.ts readScopesOf). */
function requireReadScopes(request: FastifyRequest, eventTypes: readonly string[]): void {
  const caller = request.caller;
  if (!caller) return;
  for (const type of eventTypes) {
    const missing = readScopesOf(type).find((scope) => !caller.scopes.has(scope));
    if (missing)
      throw new ApiError(
        "FORBIDDEN",
        `${type.slice(0, 100)} events carry what ${missing} reads; the token does not grant ${missing}`,
      );
  }
}

async function findWebhook(request: FastifyRequest, id: string): Promise<Webhook> {
  const webhook = await request.services.webhooks.find(id);
  if (!webhook) throw new ApiError("WEBHOOK_NOT_FOUND");
  return webhook;
}

export function registerWebhooksRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/webhooks",
    {
      schema: { ...TAG, response: { 200: WebhooksResponse, ...READ_ERRORS } },
      config: { scope: "read:webhooks" },
    },
    async (request) => ({
      ...success(),
      webhooks: (await request.services.webhooks.store.list()).map(listed),
    }),
  );

  api.post(
    "/webhooks",
    {
      schema: { ...TAG, body: CreateWebhookBody, response: { 200: CreateWebhookResponse, ...POST_ERRORS } },
      config: { scope: "create:webhooks" },
    },
    async (request) => {
      const { endpoint, event_types, name, description } = request.body;
      requireReadScopes(request, event_types);
      const created = await request.services.webhooks.create({
        endpoint,
        eventTypes: event_types,
        name: webhookName(name),
        description: description?.trim() ? description.trim() : null,
      });
      if ("kind" in created) throw problemError(created);
      return { ...success("Webhook successfully created"), webhook: { id: created.id, endpoint } };
    },
  );

  api.patch(
    "/webhooks/:webhook_id",
    {
      schema: {
        ...TAG,
        params: WebhookParams,
        body: UpdateWebhookBody,
        response: { 200: UpdateWebhookResponse, ...WRITE_ERRORS, ...WEBHOOK_NOT_FOUND },
      },
      config: { scope: "update:webhooks" },
    },
    async (request) => {
      const { event_types, name, description, is_enabled } = request.body;
      if (event_types) requireReadScopes(request, event_types);
      if ([event_types, name, description, is_enabled].every((v) => v === undefined))
        throw new ApiError("NO_FIELDS_TO_UPDATE");
      const outcome = await request.services.webhooks.update(request.params.webhook_id, {
        eventTypes: event_types,
        name: name === undefined ? undefined : webhookName(name),
        description: description === undefined ? undefined : description?.trim() ? description.trim() : null,
        enabled: is_enabled,
      });
      if (outcome === "not_found") throw new ApiError("WEBHOOK_NOT_FOUND");
      if (outcome !== "updated") throw problemError(outcome);
      return { ...success("Webhook successfully updated"), webhook: { id: request.params.webhook_id } };
    },
  );

  api.delete(
    "/webhooks/:webhook_id",
    {
      schema: {
        ...TAG,
        params: WebhookParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...WEBHOOK_NOT_FOUND },
      },
      config: { scope: "delete:webhooks" },
    },
    async (request) => {
      if (!(await request.services.webhooks.store.delete(request.params.webhook_id)))
        throw new ApiError("WEBHOOK_NOT_FOUND");
      return success("Webhook successfully deleted");
    },
  );

  api.get(
    "/event_types",
    {
      schema: { ...TAG, response: { 200: EventTypesResponse, ...READ_ERRORS } },
      config: { scope: "read:event_types" },
    },
    async () => ({ ...success(), event_types: EVENT_TYPES.map((t) => ({ ...t })) }),
  );

  api.get(
    "/events/:event_id",
    {
      schema: {
        ...TAG,
        params: EventParams,
        response: { 200: EventResponse, ...READ_ERRORS, ...notFound("Event") },
      },
      config: { scope: "read:events" },
    },
    async (request) => {
      const event = await request.services.webhooks.store.findEvent(request.params.event_id);
      if (!event) throw new ApiError("EVENT_NOT_FOUND");
      requireReadScopes(request, [event.type]);
      return {
        ...success(),
        event: {
          type: event.type,
          source: event.source,
          event_id: event.id,
          timestamp: new Date(event.occurred_at_ms).toISOString(),
          data: JSON.parse(event.data) as Record<string, unknown>,
        },
      };
    },
  );

  api.get(
    "/webhooks/:webhook_id/deliveries",
    {
      schema: {
        ...TAG,
        params: WebhookParams,
        querystring: DeliveriesQuery,
        response: { 200: DeliveriesResponse, ...READ_ERRORS, ...WEBHOOK_NOT_FOUND },
      },
      config: { scope: "read:webhooks" },
    },
    async (request) => {
      const { limit, after } = readPage(request.query.page_size, request.query.next_token, isTimeCursor);
      const webhook = await findWebhook(request, request.params.webhook_id);
      const rows = await request.services.webhooks.store.deliveries(webhook.id, limit + 1, after);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        ...success(),
        deliveries: page.map((d) => ({
          id: d.id,
          event_id: d.event_id,
          event_type: d.event_type,
          status: d.status,
          attempts: d.attempts,
          last_attempt_on: iso(d.last_attempt_at),
          last_status_code: d.last_status_code,
          last_duration_ms: d.last_duration_ms,
          last_error: d.last_error,
          delivered_on: iso(d.delivered_at),
          created_on: iso(d.created_at),
        })),
        next_token:
          rows.length > limit && last ? encodeCursor({ at: Number(last.occurred_at_ms), id: last.id }) : null,
      };
    },
  );

  api.post(
    "/webhooks/:webhook_id/deliveries/:delivery_id/resend",
    {
      schema: {
        ...TAG,
        params: DeliveryParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...WEBHOOK_NOT_FOUND },
      },
      config: { scope: "update:webhooks" },
    },
    async (request) => {
      const webhook = await findWebhook(request, request.params.webhook_id);
      if (!(await request.services.webhooks.store.resend(webhook.id, request.params.delivery_id)))
        throw new ApiError("WEBHOOK_DELIVERY_NOT_FOUND");
      return success("Delivery queued again");
    },
  );

  api.post(
    "/webhooks/:webhook_id/test",
    {
      schema: {
        ...TAG,
        params: WebhookParams,
        response: { 200: TestEventResponse, ...WRITE_ERRORS, ...WEBHOOK_NOT_FOUND },
      },
      config: { scope: "update:webhooks" },
    },
    async (request) => {
      const eventId = await request.services.webhooks.sendTest(request.params.webhook_id);
      if (!eventId) throw new ApiError("WEBHOOK_NOT_FOUND");
      return { ...success("Test event queued"), event_id: eventId };
    },
  );
}
