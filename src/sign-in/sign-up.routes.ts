// The hosted sign-up page (registered by sign-in.routes.ts, whose helpers it shares through the
// kit): a new account with a password — or, with passwords off, without one and proved by an e-mailed
// code — created only through the checks a sign-up needs (CSRF, the address, the password rules, an
// invitation's address, the organization's registration setting, a per-network limit, the dashboard
// taking no sign-ups), then the same steps as every sign-in (`proceed`).
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { SignInMethods } from "../business/business.store.js";
import { t } from "../i18n/catalogue.js";
import { pageEmailProblem, pagePasswordProblem } from "../i18n/problems.js";
import { invitationRefusal } from "../invitations/invitation-sign-in.js";
import type { AuthorizationRequest } from "../oauth/authorize.js";
import type { Services } from "../services.js";
import { canonicalEmail } from "../users/email.js";
import { EmailTakenError } from "../users/users.service.js";
import { type Form, field } from "./browser-sign-in.js";
import { dashboardSignUpRefusal } from "./dashboard-sign-in.js";
import type { EmailCodeRoutes, SignInKit } from "./email-code.routes.js";
import { type ConnectionButton, type FormContext, signUpPage } from "./pages.js";
import { clientNetwork } from "./rate-limit.js";

export interface SignUpKit
  extends Pick<SignInKit, "pageConfig" | "html" | "expired" | "csrfValid" | "proceed"> {
  openRequest(
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
  ): Promise<{ authorization: AuthorizationRequest; ctx: FormContext } | undefined>;
  methods(): Promise<Readonly<SignInMethods>>;
  connectionButtons(authorization: AuthorizationRequest): Promise<ConnectionButton[]>;
  sendSignInCode: EmailCodeRoutes["sendSignInCode"];
}

export function registerSignUpRoutes(app: FastifyInstance, services: Services, kit: SignUpKit): void {
  const { pageConfig, html, expired, openRequest, methods, connectionButtons, csrfValid, proceed } = kit;

  app.get<{ Querystring: Form }>("/auth/sign-up", pageConfig, async (request, reply) => {
    const requestId = field(request.query, "request");
    const opened = await openRequest(request, reply, requestId);
    if (!opened) return expired(reply);
    const refused = await dashboardSignUpRefusal(services, opened.authorization.clientId, opened.ctx.locale);
    if (refused) return html(reply, 403, refused);
    const { authorization, ctx } = opened;
    const passwordless = !(await methods()).password;
    const connections = await connectionButtons(authorization);
    return html(
      reply,
      200,
      signUpPage({ ...ctx, email: authorization.loginHint, passwordless, connections }),
    );
  });

  app.post<{ Body: Form }>("/auth/sign-up", pageConfig, async (request, reply) => {
    const form = request.body;
    const requestId = field(form, "request");
    const opened = await openRequest(request, reply, requestId);
    if (!opened) return expired(reply);
    const refused = await dashboardSignUpRefusal(services, opened.authorization.clientId, opened.ctx.locale);
    if (refused) return html(reply, 403, refused);
    const { ctx, authorization } = opened;
    const typedEmail = field(form, "email").slice(0, 320);
    const email = canonicalEmail(typedEmail);
    const password = field(form, "password");
    const givenName = field(form, "given_name").trim().slice(0, 100);
    const familyName = field(form, "family_name").trim().slice(0, 100);
    const passwordless = !(await methods()).password;
    const { locale } = ctx;
    const again = (status: number, error: string) =>
      html(reply, status, signUpPage({ ...ctx, email, givenName, familyName, error, passwordless }));
    if (!csrfValid(request, form)) return again(403, t(locale, "form.session_expired"));
    const emailIssue = pageEmailProblem(locale, typedEmail);
    if (emailIssue) return again(400, emailIssue);
    if (passwordless && password) return again(403, t(locale, "sign_up.passwords_off"));
    const problem = passwordless ? undefined : pagePasswordProblem(locale, password);
    if (problem) return again(400, problem);
    // Signing up into an organization (org_code) needs it to take registrations (Kinde's setting)
    // and not to be suspended.
    // An invitation admits its own address only, into an organization that asked for this person
    // whatever its registration setting: the membership comes when the invitation is accepted.
    const notInvited = invitationRefusal(authorization, email);
    if (notInvited) return again(403, notInvited);
    const orgCode =
      authorization.createOrgName === undefined && !authorization.invitation
        ? authorization.orgCode
        : undefined;
    const org = orgCode ? await services.organizations.store.find(orgCode) : undefined;
    if (orgCode && org?.is_allow_registrations !== 1) return again(403, t(locale, "sign_up.org_closed"));
    if (org?.is_suspended === 1) return again(403, t(locale, "sign_up.org_suspended"));
    const ipKey = `sign-up:ip:${clientNetwork(request.ip)}`;
    // Sign-ups hash a password and create a row: at most 100 per address per 15 minutes.
    if (!(await services.rateLimiter.consume(ipKey, { max: 100, windowSeconds: 15 * 60 })).allowed) {
      return again(429, t(locale, "form.too_many_from_network"));
    }
    if (passwordless)
      return signUpByCode(request, reply, requestId, authorization, {
        email,
        givenName,
        familyName,
        orgCode,
      });
    try {
      const user = await services.users.create({
        email,
        password,
        givenName: givenName || undefined,
        familyName: familyName || undefined,
        organizationCode: orgCode,
        source: "user",
        properties: authorization.marketing,
      });
      request.log.info({ event: "sign_up", userId: user.id }, "user signed up");
      return proceed(request, reply, requestId, authorization, user, ["pwd"]);
    } catch (error) {
      if (!(error instanceof EmailTakenError)) throw error;
      return again(400, t(locale, "sign_up.not_created"));
    }
  });

  /**
   * Sign-up with passwords off: the account is made without one and a sign-in code goes to the
   * address, which proves it (email-code.routes.ts). An address that has an account already gets the
   * same page and its owner a code, so the page tells nobody which addresses have accounts.
   */
  const signUpByCode = async (
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    authorization: AuthorizationRequest,
    input: { email: string; givenName: string; familyName: string; orgCode: string | undefined },
  ) => {
    const { email, givenName, familyName, orgCode } = input;
    try {
      const user = await services.users.create({
        email,
        givenName: givenName || undefined,
        familyName: familyName || undefined,
        organizationCode: orgCode,
        source: "user",
        properties: authorization.marketing,
      });
      request.log.info({ event: "sign_up", method: "email_code", userId: user.id }, "user signed up");
    } catch (error) {
      if (!(error instanceof EmailTakenError)) throw error;
    }
    return kit.sendSignInCode(request, reply, requestId, authorization, email);
  };
}
