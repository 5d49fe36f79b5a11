// SQL of organization invitations (migration 0029). Codes arrive here already hashed.
import type { Selectable } from "kysely";
import type { Db } from "../storage/database.js";
import type { OrganizationInvitationsTable } from "../storage/schema.js";

export type InvitationRow = Selectable<OrganizationInvitationsTable>;

/** A role an invitation gives, as the Management API shows it. */
export interface InvitedRole {
  id: string;
  key: string;
  name: string;
}

export class InvitationsStore {
  constructor(private readonly db: Db) {}

  async insert(row: Omit<InvitationRow, "accepted_at" | "accepted_by" | "revoked_at">, roleIds: string[]) {
    await this.db
      .insertInto("organization_invitations")
      .values({ ...row, accepted_at: null, accepted_by: null, revoked_at: null })
      .execute();
    if (roleIds.length > 0)
      await this.db
        .insertInto("organization_invitation_roles")
        .values(roleIds.map((role_id) => ({ invitation_id: row.id, role_id })))
        .execute();
  }

  find(id: string): Promise<InvitationRow | undefined> {
    return this.db.selectFrom("organization_invitations").selectAll().where("id", "=", id).executeTakeFirst();
  }

  findByCodeHash(codeHash: string): Promise<InvitationRow | undefined> {
    return this.db
      .selectFrom("organization_invitations")
      .selectAll()
      .where("code_hash", "=", codeHash)
      .executeTakeFirst();
  }

  /** Every invitation of an organization (sorted and paged by the caller, alike on both dialects). */
  ofOrganization(orgCode: string): Promise<InvitationRow[]> {
    return this.db
      .selectFrom("organization_invitations")
      .selectAll()
      .where("org_code", "=", orgCode)
      .execute();
  }

  /** Invitations of an organization neither accepted, revoked nor expired at `now`. */
  async activeCount(orgCode: string, now: number): Promise<number> {
    const row = await this.db
      .selectFrom("organization_invitations")
      .select((eb) => eb.fn.countAll<string | number>().as("n"))
      .where("org_code", "=", orgCode)
      .where("accepted_at", "is", null)
      .where("revoked_at", "is", null)
      .where("expires_at", ">", now)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** The roles of each invitation, by invitation id. */
  async roles(invitationIds: readonly string[]): Promise<Map<string, InvitedRole[]>> {
    const found = new Map<string, InvitedRole[]>(invitationIds.map((id) => [id, []]));
    if (invitationIds.length === 0) return found;
    const rows = await this.db
      .selectFrom("organization_invitation_roles")
      .innerJoin("roles", "roles.id", "organization_invitation_roles.role_id")
      .select(["organization_invitation_roles.invitation_id", "roles.id", "roles.key", "roles.name"])
      .where("organization_invitation_roles.invitation_id", "in", invitationIds)
      .execute();
    for (const row of rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)))
      found.get(row.invitation_id)?.push({ id: row.id, key: row.key, name: row.name });
    return found;
  }

  /** Revokes an invitation still open; false when it was accepted or revoked already. */
  async revoke(id: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable("organization_invitations")
      .set({ revoked_at: now })
      .where("id", "=", id)
      .where("accepted_at", "is", null)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Takes the invitation for `userId`: one conditional write that only one caller can win, and only
   * while the invitation is open and unexpired. False when it lost (used, revoked or expired).
   */
  async consume(id: string, userId: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable("organization_invitations")
      .set({ accepted_at: now, accepted_by: userId })
      .where("id", "=", id)
      .where("accepted_at", "is", null)
      .where("revoked_at", "is", null)
      .where("expires_at", ">", now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}
