// /account/organizations/{org_code} (issue 19): an organization's self-service page for its members,
// Latchkey's counterpart of Kinde's organization self-serve portal. What a member may do there is
// what their roles in that organization grant through Kinde's system permissions
// (src/system-permissions/catalogue.ts): see the members with org:read:members (or
// org:write:members), invite and remove members with org:write:members, rename the organization
// with org:write:details. A section the member may not use is not drawn, and its form answers 403.
//
// Who may come here is the account pages' own rule (account-sign-in.ts: a session that signed in
// to them through the authorization endpoint); someone who is not a member gets 404, so the page
// does not tell outsiders which organizations exist. A change also needs a recent sign-in and the
// hosted pages' CSRF token (as every /account form); the order of the checks — CSRF, sign-in,
// membership, permission — means no form learns more than its sender may know.
// Changes are recorded as the other /account changes are: the services' events with source
// "user" (organization.updated, user.updated), a log line without personal data.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { BrandingStore } from "../branding/branding.store.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { errorPage } from "../http/html.js";
import { type NoValues, t } from "../i18n/catalogue.js";
import { requestLocale } from "../i18n/locale.js";
import { InvitationsService } from "../invitations/invitations.service.js";
import type { OrganizationRow } from "../organizations/organizations.store.js";
import type { Services } from "../services.js";
import { BrowserSignIn, type Form, field } from "../sign-in/browser-sign-in.js";
import type { SystemPermissionKey } from "../system-permissions/catalogue.js";
import { SystemPermissionsStore } from "../system-permissions/system-permissions.store.js";
import { emailProblem, MAX_EMAIL_LENGTH } from "../users/email.js";
import type { User } from "../users/users.store.js";
import { type AccountAccess, AccountSignIn } from "./account-sign-in.js";
import { ORG_NAME_MAX_LENGTH, organizationPage, organizationPath } from "./organization-pages.js";

/** Members the page lists; an organization with more says so (the Management API pages them all). */
const MEMBERS_SHOWN = 100;
const CONTROL = /\p{Cc}/u;

const DONE: Record<string, NoValues> = {
  saved: "account_org.saved",
  invited: "account_org.invited",
  removed: "account_org.removed",
};

interface Member {
  user: User;
  org: OrganizationRow;
  held: Set<SystemPermissionKey>;
}

type Params = { org_code: string };

export function registerAccountOrganizationRoutes(
  app: FastifyInstance,
  services: Services,
  options: { https: boolean; secretBox: SecretBox },
): void {
  const signIn = new BrowserSignIn(services, { https: options.https, secretBox: options.secretBox });
  const accountSignIn = new AccountSignIn(services, signIn, options.secretBox, options.https);
  const systemPermissions = new SystemPermissionsStore(services.db);
  const invitations = new InvitationsService(
    services.db,
    services.clock,
    services.mail,
    services.oauth.issuer,
  );
  const page = { config: { surface: "page" as const } };

  const html = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).type("text/html; charset=utf-8").send(body);
  // From the configuration cache, as on the sign-in pages (sign-in.routes.ts).
  const brandingStore = new BrandingStore(services.db);

  const problem = async (
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    title: NoValues,
    message: NoValues,
  ) => {
    const locale = requestLocale(request);
    return html(
      reply,
      status,
      // The environment's brand: the org_code in the path may name an organization not the person's.
      errorPage(
        t(locale, title),
        t(locale, message),
        await services.business.name(),
        locale,
        await brandingStore.brand(),
      ),
    );
  };

  const toSignIn = async (
    request: FastifyRequest<{ Params: Params }>,
    reply: FastifyReply,
    status: 302 | 303,
    ask: { again: boolean; loginHint?: string; requireMfa?: boolean },
  ) =>
    (await accountSignIn.start(reply, {
      returnTo: organizationPath(request.params.org_code),
      status,
      ...ask,
    })) ?? problem(request, reply, 503, "account.unavailable_title", "account.unavailable_message");

  /** The member and what they hold there; undefined when the organization is not theirs (or none). */
  const memberOf = async (orgCode: string, user: User): Promise<Member | undefined> => {
    if (orgCode.length > 100) return undefined;
    const org = await services.organizations.store.find(orgCode);
    if (!org || !(await services.organizations.store.isMember(org.code, user.id))) return undefined;
    return { user, org, held: await systemPermissions.heldBy(org.code, user.id) };
  };

  const render = async (
    request: FastifyRequest,
    reply: FastifyReply,
    member: Member,
    shown: { status?: number; notice?: NoValues; error?: string } = {},
  ) => {
    const locale = requestLocale(request);
    const { org, held, user } = member;
    const readMembers = held.has("org:read:members") || held.has("org:write:members");
    const rows = readMembers
      ? await services.organizations.store.members(org.code, { limit: MEMBERS_SHOWN + 1 })
      : [];
    return html(
      reply,
      shown.status ?? 200,
      organizationPage({
        businessName: await services.business.name(),
        brand: await brandingStore.brand(org.code),
        csrf: signIn.csrfToken(request, reply),
        locale,
        orgCode: org.code,
        orgName: org.name,
        details: { editable: held.has("org:write:details") },
        members: readMembers
          ? {
              list: rows.slice(0, MEMBERS_SHOWN).map((m) => ({
                id: m.user.id,
                email: m.user.email,
                name: [m.user.given_name, m.user.family_name].filter(Boolean).join(" "),
              })),
              more: rows.length > MEMBERS_SHOWN,
              manage: held.has("org:write:members"),
              selfId: user.id,
            }
          : undefined,
        notice: shown.notice && t(locale, shown.notice),
        error: shown.error,
      }),
    );
  };

  /**
   * A form's member, holding `needed`, or undefined with the reply sent: 403 without the CSRF token,
   * off to sign in (again) without a recent sign-in, 404 for a non-member, 403 without the permission.
   */
  const forChange = async (
    request: FastifyRequest<{ Params: Params; Body: Form }>,
    reply: FastifyReply,
    needed: SystemPermissionKey,
  ): Promise<Member | undefined> => {
    if (!signIn.csrfValid(request, request.body)) {
      await problem(request, reply, 403, "account_org.expired_title", "account_org.expired");
      return undefined;
    }
    const access: AccountAccess = await accountSignIn.access(request);
    if (access.kind === "sign_in") {
      await toSignIn(request, reply, 303, access);
      return undefined;
    }
    if (!access.fresh) {
      await toSignIn(request, reply, 303, {
        again: true,
        loginHint: access.user.email ?? undefined,
        requireMfa: access.ownsFactor,
      });
      return undefined;
    }
    const member = await memberOf(request.params.org_code, access.user);
    if (!member) {
      await problem(request, reply, 404, "account_org.not_found_title", "account_org.not_found");
      return undefined;
    }
    if (!member.held.has(needed)) {
      await problem(request, reply, 403, "account_org.forbidden_title", "account_org.forbidden");
      return undefined;
    }
    return member;
  };

  const done = (reply: FastifyReply, member: Member, what: keyof typeof DONE) =>
    reply
      .code(303)
      .header("location", `${organizationPath(member.org.code)}?done=${what}`)
      .send();

  app.get<{ Params: Params; Querystring: { done?: string } }>(
    "/account/organizations/:org_code",
    page,
    async (request, reply) => {
      const access = await accountSignIn.access(request);
      if (access.kind === "sign_in") return toSignIn(request, reply, 302, access);
      const member = await memberOf(request.params.org_code, access.user);
      if (!member)
        return problem(request, reply, 404, "account_org.not_found_title", "account_org.not_found");
      const key = request.query.done;
      return render(request, reply, member, {
        notice: key && Object.hasOwn(DONE, key) ? DONE[key] : undefined,
      });
    },
  );

  app.post<{ Params: Params; Body: Form }>(
    "/account/organizations/:org_code/details",
    page,
    async (request, reply) => {
      const member = await forChange(request, reply, "org:write:details");
      if (!member) return reply;
      const name = field(request.body, "name").trim();
      const locale = requestLocale(request);
      if (!name || name.length > ORG_NAME_MAX_LENGTH || CONTROL.test(name))
        return render(request, reply, member, {
          status: 400,
          error: t(locale, "account_org.name_needed", { max: ORG_NAME_MAX_LENGTH }),
        });
      // Only the name: nothing unique, so no OrganizationTakenError to expect.
      await services.organizations.update(member.org, { name }, "user");
      request.log.info(
        { event: "organization_renamed", userId: member.user.id, orgCode: member.org.code },
        "organization renamed on its account page",
      );
      return done(reply, member, "saved");
    },
  );

  app.post<{ Params: Params; Body: Form }>(
    "/account/organizations/:org_code/members/invite",
    page,
    async (request, reply) => {
      const member = await forChange(request, reply, "org:write:members");
      if (!member) return reply;
      const locale = requestLocale(request);
      const email = field(request.body, "email").trim();
      if (!email || email.length > MAX_EMAIL_LENGTH || emailProblem(email))
        return render(request, reply, member, {
          status: 400,
          error: t(locale, "account_org.invite_bad_email"),
        });
      // The invitations service the Management API uses: its limits per organization, its e-mail
      // written in the same transaction as the invitation (the outbox).
      const outcome = await invitations.create({
        orgCode: member.org.code,
        email,
        firstName: null,
        lastName: null,
        roleKeys: [],
        sendEmail: true,
      });
      if (!outcome.ok) {
        if (outcome.error === "too_many") {
          if (outcome.retryAfter !== undefined) reply.header("retry-after", String(outcome.retryAfter));
          return render(request, reply, member, {
            status: 429,
            error: t(locale, "account_org.invite_too_many"),
          });
        }
        return problem(request, reply, 404, "account_org.not_found_title", "account_org.not_found");
      }
      services.mail.wake();
      request.log.info(
        {
          event: "organization_invited",
          userId: member.user.id,
          orgCode: member.org.code,
          invitationId: outcome.invitation.id,
        },
        "invitation sent from the organization's account page",
      );
      return done(reply, member, "invited");
    },
  );

  app.post<{ Params: Params; Body: Form }>(
    "/account/organizations/:org_code/members/remove",
    page,
    async (request, reply) => {
      const member = await forChange(request, reply, "org:write:members");
      if (!member) return reply;
      const locale = requestLocale(request);
      const userId = field(request.body, "user_id");
      // Leaving is not this form's job: a manager removing themselves would lock the page on them.
      if (userId === member.user.id)
        return render(request, reply, member, {
          status: 400,
          error: t(locale, "account_org.cannot_remove_self"),
        });
      const removed =
        userId.length > 0 &&
        userId.length <= 100 &&
        (await services.organizations.removeMember(member.org.code, userId, "user"));
      if (!removed)
        return render(request, reply, member, { status: 404, error: t(locale, "account_org.not_member") });
      request.log.info(
        {
          event: "organization_member_removed",
          userId: member.user.id,
          orgCode: member.org.code,
          removedUserId: userId,
        },
        "member removed on the organization's account page",
      );
      return done(reply, member, "removed");
    },
  );
}
