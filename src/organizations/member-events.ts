// user.updated for a member whose organizations, roles or permissions changed. Kinde's user.updated
// payload carries the user's organizations with their roles and permissions, so a receiver keeping
// them in step needs one event per change of membership — recorded in the transaction that makes it
// (DESIGN.md "Outbox for side effects"), describing the state that commits with it.
import type { Clock } from "../clock.js";
import { type EventSource, recordEvent } from "../events/events.js";
import { userData } from "../events/payloads.js";
import type { Db } from "../storage/database.js";
import { UsersStore } from "../users/users.store.js";

/** Records user.updated for `userId` with `trx` (the change's transaction); nothing if the user is gone. */
export async function recordMemberUpdated(
  trx: Db,
  clock: Clock,
  userId: string,
  source: EventSource,
): Promise<void> {
  const user = await new UsersStore(trx).findById(userId);
  if (user)
    await recordEvent(trx, clock, { type: "user.updated", source, data: await userData(trx, user), userId });
}
