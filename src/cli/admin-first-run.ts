// What the start says when nobody can sign in to the dashboard yet: a fresh installation has no
// administrator unless BOOTSTRAP_ADMIN_* made one, and nothing else in the log points to the fix.
import type { Db } from "../storage/database.js";

/** Whether no administrator could sign in (none exists, or every one is suspended). */
export async function noUsableAdministrator(db: Db): Promise<boolean> {
  const admin = await db
    .selectFrom("users")
    .select("id")
    .where("is_admin", "=", 1)
    .where("is_suspended", "=", 0)
    .limit(1)
    .executeTakeFirst();
  return admin === undefined;
}

/** How to make the first administrator: the command on a terminal, or the bootstrap variables. */
const CREATE_ADMINISTRATOR_HINT =
  "Create one: run `latchkey admins create` on a terminal (it asks for the e-mail address and the " +
  "password; `npx latchkey admins create` from the source folder), or set BOOTSTRAP_ADMIN_EMAIL and " +
  "BOOTSTRAP_ADMIN_PASSWORD and restart.";

/** The log line's text: where the dashboard is, and how to make its first administrator. */
export function noAdministratorMessage(issuer: string): string {
  return `No administrator can sign in to the dashboard (${issuer}/admin/) yet. ${CREATE_ADMINISTRATOR_HINT}`;
}
