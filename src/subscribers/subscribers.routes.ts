// Management API: Kinde's subscribers (/api/v1/subscribers) — the business's mailing list, paged
// with page_size + next_token in Kinde's sort orders.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ApiError } from "../management/errors.js";
import { notFound, POST_ERRORS, READ_ERRORS } from "../management/responses.schemas.js";
import { encodeCursor, readPage, success } from "../management/schemas.js";
import { canonicalEmail, emailProblem } from "../users/email.js";
import {
  CreateSubscriberQuery,
  CreateSubscriberResponse,
  ListSubscribersQuery,
  SubscriberParams,
  SubscriberResponse,
  SubscribersResponse,
} from "./subscribers.schemas.js";
import { type SubscriberCursor, SubscribersStore } from "./subscribers.store.js";

const TAG = { tags: ["Subscribers"] };
const store = (request: FastifyRequest) => new SubscribersStore(request.services.db, request.services.clock);

const isCursor = (value: unknown): value is SubscriberCursor =>
  Array.isArray(value) &&
  value.length === 2 &&
  value.every((part) => typeof part === "string" && part.length <= 400);

/** Names are shown to people and put in e-mails: text, not blank, no control characters. */
function nameProblem(field: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!value.trim() || /\p{Cc}/u.test(value))
    return `${field} must be text, not blank, without control characters`;
  return undefined;
}

export function registerSubscribersRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/subscribers",
    {
      schema: {
        ...TAG,
        querystring: ListSubscribersQuery,
        response: { 200: SubscribersResponse, ...READ_ERRORS },
      },
      config: { scope: "read:subscribers" },
    },
    async (request) => {
      const { sort, page_size, next_token } = request.query;
      const { limit, after } = readPage(page_size, next_token, isCursor);
      const page = await store(request).page(sort ?? "name_asc", limit, after);
      return {
        ...success(),
        subscribers: page.rows.map((s) => ({
          id: s.id,
          email: s.email,
          full_name: [s.firstName, s.lastName].filter(Boolean).join(" "),
          first_name: s.firstName,
          last_name: s.lastName,
        })),
        ...(page.next ? { next_token: encodeCursor(page.next) } : {}),
      };
    },
  );

  api.post(
    "/subscribers",
    {
      schema: {
        ...TAG,
        querystring: CreateSubscriberQuery,
        response: { 201: CreateSubscriberResponse, ...POST_ERRORS },
      },
      config: { scope: "create:subscribers" },
    },
    async (request, reply) => {
      const { first_name, last_name, email } = request.query;
      const problem =
        nameProblem("first_name", first_name) ??
        nameProblem("last_name", last_name || undefined) ??
        (emailProblem(email) ? "email is not a valid e-mail address" : undefined);
      if (problem) throw new ApiError("INVALID_REQUEST", problem);
      const id = await store(request).subscribe({
        email: canonicalEmail(email),
        firstName: first_name.trim(),
        lastName: last_name?.trim() || null,
      });
      reply.code(201);
      return { subscriber: { subscriber_id: id } };
    },
  );

  api.get(
    "/subscribers/:subscriber_id",
    {
      schema: {
        ...TAG,
        params: SubscriberParams,
        response: { 200: SubscriberResponse, ...READ_ERRORS, ...notFound("Subscriber") },
      },
      config: { scope: "read:subscribers" },
    },
    async (request) => {
      const subscriber = await store(request).find(request.params.subscriber_id);
      if (!subscriber) throw new ApiError("SUBSCRIBER_NOT_FOUND");
      return {
        ...success(),
        subscribers: [
          {
            id: subscriber.id,
            preferred_email: subscriber.email,
            first_name: subscriber.firstName,
            last_name: subscriber.lastName,
          },
        ],
      };
    },
  );
}
