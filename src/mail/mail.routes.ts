// Management API: the mail outbox, newest first (GET /api/v1/mail/outbox, scope read:mail; a
// Latchkey extension). Metadata for any caller with the scope; the text of a message kept in the
// outbox (where its code or link is) only for an administrator calling through the dashboard —
// never for a machine token, which could otherwise read any user's password-reset code and take
// the account over (the reasoning of users.http.ts findChangeableUser).
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { READ_ERRORS } from "../management/responses.schemas.js";
import { encodeCursor, isoSeconds as iso, isTimeCursor, readPage, success } from "../management/schemas.js";
import { OutboxQuery, OutboxResponse } from "./mail.schemas.js";

export function registerMailRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.get(
    "/mail/outbox",
    {
      schema: {
        tags: ["E-mail"],
        querystring: OutboxQuery,
        response: { 200: OutboxResponse, ...READ_ERRORS },
      },
      config: { scope: "read:mail" },
    },
    async (request) => {
      const { limit, after } = readPage(request.query.page_size, request.query.next_token, isTimeCursor);
      const administrator = request.caller?.userId !== undefined;
      const entries = await request.services.mail.list(limit + 1, after, administrator);
      const page = entries.slice(0, limit);
      const last = page.at(-1)?.row;
      return {
        ...success(),
        messages: page.map(({ row, text }) => ({
          id: row.id,
          kind: row.kind,
          to: row.to_address,
          subject: row.subject,
          status: row.status,
          attempts: row.attempts,
          created_on: iso(row.created_at),
          sent_on: iso(row.sent_at),
          last_error: row.last_error,
          body_text: text,
        })),
        next_token:
          entries.length > limit && last ? encodeCursor({ at: last.created_at, id: last.id }) : null,
      };
    },
  );
}
