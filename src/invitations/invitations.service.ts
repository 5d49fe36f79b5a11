// The rules of organization invitations (Kinde's /api/v1/organization/{org_code}/invites): who may
// be invited, how the code is made and kept, the e-mail, and accepting — once, by the invited
// address, into the organization with the invited roles.
//
// The code that accepts an invitation is a bearer secret: 256 bits from the CSPRNG, kept only as its
// SHA-256 (DESIGN.md: secrets we only verify are hashed; a slow hash buys nothing at that entropy),
// shown once, in the answer to the request that made it and in the e-mail. Administrators name an
// invitation by its id, which grants nothing.

import type { Clock } from "../clock.js";
import { randomHex, randomToken, sha256 } from "../crypto/random.js";
import type { EventSource } from "../events/events.js";
import type { Locale } from "../i18n/locale.js";
import type { MailService } from "../mail/mail.service.js";
import { recordMemberUpdated } from "../organizations/member-events.js";
import { OrganizationsService } from "../organizations/organizations.service.js";
import { OrganizationsStore } from "../organizations/organizations.store.js";
import { RateLimiter } from "../sign-in/rate-limit.js";
import { type Db, inTransaction } from "../storage/database.js";
import { canonicalEmail } from "../users/email.js";
import { INVITATION_CODE } from "./invitation-code.js";
import { type InvitationRow, InvitationsStore, type InvitedRole } from "./invitations.store.js";

/** How long an invitation can be accepted. */
export const INVITATION_LIFETIME_SECONDS = 7 * 86_400;
/** Kinde limits invitations per organization per rolling day, and open ones at any time. */
export const INVITATIONS_PER_DAY = { max: 100, windowSeconds: 86_400 } as const;
export const MAX_OPEN_INVITATIONS = 500;

export type InvitationState = "open" | "accepted" | "revoked" | "expired";

export function invitationState(row: InvitationRow, now: number): InvitationState {
  if (row.accepted_at !== null) return "accepted";
  if (row.revoked_at !== null) return "revoked";
  return row.expires_at <= now ? "expired" : "open";
}

/** Where the invitee accepts: Kinde's team_invitation link (invitation-page.routes.ts). */
export function inviteLink(issuer: string, code: string): string {
  return `${issuer}/team_invitation?code=${encodeURIComponent(code)}`;
}

export interface NewInvitation {
  orgCode: string;
  email: string;
  firstName: string | null;
  lastName: string | null;
  roleKeys: readonly string[];
  sendEmail: boolean;
  /**
   * The inviter's language (the page they invited from): the e-mail's, and its link's `lang`, so
   * the invitation page and sign-in speak it too. Latchkey has no business-wide default language,
   * so without one (the Management API: Kinde's body names none) the e-mail is in English.
   */
  locale?: Locale;
}

export type CreateOutcome =
  | { ok: true; invitation: InvitationRow; roles: InvitedRole[]; code: string }
  | { ok: false; error: "unknown_organization" }
  | { ok: false; error: "unknown_role"; key: string }
  | { ok: false; error: "too_many"; retryAfter?: number };

export type AcceptOutcome =
  | { ok: true; orgCode: string }
  | { ok: false; reason: "unknown" | "other_address" | "suspended" | Exclude<InvitationState, "open"> };

export class InvitationsService {
  readonly store: InvitationsStore;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly mail: MailService,
    private readonly issuer: string,
  ) {
    this.store = new InvitationsStore(db);
  }

  /**
   * Makes an invitation (and its e-mail when asked, in the same transaction: the message exists
   * exactly when the invitation does). Errors are values; nothing is written on one.
   */
  async create(input: NewInvitation): Promise<CreateOutcome> {
    const now = this.clock.now();
    const org = await new OrganizationsStore(this.db).find(input.orgCode);
    if (!org) return { ok: false, error: "unknown_organization" };
    const keys = [...new Set(input.roleKeys)];
    const roles = keys.length
      ? await this.db.selectFrom("roles").select(["id", "key", "name"]).where("key", "in", keys).execute()
      : [];
    const missing = keys.find((key) => !roles.some((r) => r.key === key));
    if (missing !== undefined) return { ok: false, error: "unknown_role", key: missing };
    if ((await this.store.activeCount(org.code, now)) >= MAX_OPEN_INVITATIONS)
      return { ok: false, error: "too_many" };
    // Counted in the database, so the limit holds across instances.
    const limit = await new RateLimiter(this.db, this.clock).consume(
      `invitations:org:${org.code}`,
      INVITATIONS_PER_DAY,
    );
    if (!limit.allowed) return { ok: false, error: "too_many", retryAfter: limit.resetIn };

    const code = `inv_${randomToken()}`;
    const invitation: InvitationRow = {
      id: `inv_${randomHex(16)}`,
      code_hash: sha256(code),
      org_code: org.code,
      email: canonicalEmail(input.email),
      first_name: input.firstName,
      last_name: input.lastName,
      is_sent: input.sendEmail ? 1 : 0,
      created_at: now,
      expires_at: now + INVITATION_LIFETIME_SECONDS,
      accepted_at: null,
      accepted_by: null,
      revoked_at: null,
    };
    await inTransaction(this.db, async (trx) => {
      await new InvitationsStore(trx).insert(
        invitation,
        roles.map((r) => r.id),
      );
      if (input.sendEmail)
        await this.mail.enqueue(trx, {
          idempotencyKey: `invitation:${invitation.id}`,
          to: invitation.email,
          template: {
            kind: "invitation",
            url: input.locale
              ? `${inviteLink(this.issuer, code)}&lang=${input.locale}`
              : inviteLink(this.issuer, code),
            organizationName: org.name,
            expiresInSeconds: INVITATION_LIFETIME_SECONDS,
            locale: input.locale,
          },
        });
    });
    return { ok: true, invitation, roles: roles.sort((a, b) => (a.key < b.key ? -1 : 1)), code };
  }

  /** The invitation an accepting code names, if any (the code is only ever compared as its hash). */
  findByCode(code: string): Promise<InvitationRow | undefined> {
    if (!INVITATION_CODE.test(code)) return Promise.resolve(undefined);
    return this.store.findByCodeHash(sha256(code));
  }

  /**
   * An administrator names an invitation by its id, or by the code it was given (Kinde's path
   * parameter is invite_code), within the organization of the path.
   */
  async findInOrganization(orgCode: string, idOrCode: string): Promise<InvitationRow | undefined> {
    const row = /^inv_[0-9a-f]{32}$/.test(idOrCode)
      ? await this.store.find(idOrCode)
      : await this.findByCode(idOrCode);
    return row?.org_code === orgCode ? row : undefined;
  }

  /**
   * Accepts the invitation for the user who signed in: only the invited address, only while it is
   * open, and only once. Consuming it, joining the organization (with its default roles, as every
   * member gets), the invited roles and the member's user.updated commit together.
   */
  async accept(
    invitationId: string,
    user: { id: string; email: string | null },
    source: EventSource = "user",
  ): Promise<AcceptOutcome> {
    return inTransaction(this.db, async (trx) => {
      const now = this.clock.now();
      const store = new InvitationsStore(trx);
      const invitation = await store.find(invitationId);
      if (!invitation) return { ok: false, reason: "unknown" };
      if (!user.email || canonicalEmail(user.email) !== invitation.email)
        return { ok: false, reason: "other_address" };
      const org = await new OrganizationsStore(trx).find(invitation.org_code);
      if (!org) return { ok: false, reason: "unknown" };
      if (org.is_suspended === 1) return { ok: false, reason: "suspended" };
      if (!(await store.consume(invitation.id, user.id, now))) {
        // Read again: a rival may have accepted or revoked it since the read above.
        const latest = (await store.find(invitation.id)) ?? invitation;
        const state = invitationState(latest, now);
        return { ok: false, reason: state === "open" ? "accepted" : state };
      }
      const organizations = new OrganizationsService(trx, this.clock);
      await organizations.join(org.code, user.id);
      const roles = (await store.roles([invitation.id])).get(invitation.id) ?? [];
      await organizations.grant(
        org.code,
        user.id,
        roles.map((r) => r.id),
        [],
      );
      await recordMemberUpdated(trx, this.clock, user.id, source);
      return { ok: true, orgCode: org.code };
    });
  }
}
