// Schemas of the outbox listing, GET /api/v1/mail/outbox (a Latchkey extension: Kinde sends mail
// itself and has no such operation) — the dashboard's Settings › E-mail › Outbox.
import { Type } from "@sinclair/typebox";
import { nullable, PageSize, SuccessResponse } from "../management/schemas.js";

export const OutboxQuery = Type.Object({
  page_size: PageSize,
  next_token: Type.Optional(nullable(Type.String({ maxLength: 500 }))),
});

const MailStatus = Type.Union([
  Type.Literal("pending"),
  Type.Literal("sent"),
  Type.Literal("failed"),
  Type.Literal("outbox"),
]);

export const OutboxResponse = Type.Object({
  ...SuccessResponse.properties,
  messages: Type.Array(
    Type.Object({
      id: Type.String(),
      kind: Type.String(),
      to: Type.String(),
      subject: Type.String(),
      status: MailStatus,
      attempts: Type.Integer(),
      created_on: Type.String({ format: "date-time" }),
      sent_on: nullable(Type.String({ format: "date-time" })),
      last_error: nullable(Type.String()),
      // The plain-text part, code or link included: only for an administrator in the dashboard, and
      // only for messages kept in the outbox; null otherwise.
      body_text: nullable(Type.String()),
    }),
  ),
  next_token: nullable(Type.String()),
});
