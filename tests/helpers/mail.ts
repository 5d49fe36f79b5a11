// What the outbox holds for an address, read as its recipient would: the sealed body opened and the
// 6-digit code taken from the text, not from the database's code tables.
import { mailBodyAad } from "../../src/mail/mail.store.js";
import type { TestServer } from "./server.js";

export interface OutboxMessage {
  id: string;
  kind: string;
  text: string;
}

/** The messages to `email`, newest first; each must still hold its body (a sent one keeps none). */
export async function messagesTo(server: TestServer, email: string): Promise<OutboxMessage[]> {
  const rows = await server.storage.db
    .selectFrom("mail_messages")
    .select(["id", "body_sealed", "kind"])
    .where("to_address", "=", email)
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .execute();
  return rows.map((row) => ({
    id: row.id,
    kind: row.kind,
    text: (JSON.parse(server.secretBox.open(row.body_sealed!, mailBodyAad(row.id))) as { text: string }).text,
  }));
}

/** The 6-digit code in a message's text. */
export function codeIn(text: string): string {
  const code = /\b(\d{6})\b/.exec(text)?.[1];
  if (!code) throw new Error(`no 6-digit code in: ${text}`);
  return code;
}
