import type { Kysely } from "kysely";
import { canonicalEmail } from "../../users/email.js";

// One mailbox, one account (src/users/email.ts): rewrite stored addresses into the canonical form
// every lookup now uses. An address whose canonical form another account already has is left as it
// is — the two accounts are one person's or an impostor's, and only an operator can tell which —
// and reported after migrating (emailDuplicates in users.store.ts, `latchkey users duplicates`).
// Pages of addresses by id keep memory flat on a large table; only non-canonical rows are written.
const PAGE = 1000;

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  let after = "";
  for (;;) {
    const rows: { id: string; email: string }[] = await db
      .selectFrom("users")
      .select(["id", "email"])
      .where("email", "is not", null)
      .where("id", ">", after)
      .orderBy("id")
      .limit(PAGE)
      .execute();
    for (const { id, email } of rows) {
      const canonical = canonicalEmail(email);
      if (canonical === email) continue;
      const taken = await db
        .selectFrom("users")
        .select("id")
        .where("email", "=", canonical)
        .executeTakeFirst();
      if (!taken) await db.updateTable("users").set({ email: canonical }).where("id", "=", id).execute();
    }
    if (rows.length < PAGE) return;
    after = rows.at(-1)!.id;
  }
}
