// Home-realm discovery on the sign-in page (issue 17). An enterprise connection with home-realm
// domains is reached by the person's address rather than by a button of its own: Kinde hides its
// button unless the connection sets is_force_show_sso_button. Latchkey's sign-in page asks for the
// e-mail and the password together, so the address cannot route anyone as it is typed; a hidden
// connection is reached from one "Continue with single sign-on (SSO)" entry instead, where the
// person gives their work address and is sent to the connection owning its domain (or, as before,
// by login_hint from the application: upstreamShortcut).
//
//   GET  /auth/connections/sso?request=…   the address form
//   POST /auth/connections/sso              the address (CSRF) → that connection's start route
//
// Only a connection this request is offered can be reached, so the answer tells nothing beyond
// which of this application's sign-in options owns a domain; the password form is never routed.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { SignInConnection } from "../connections/connections.service.js";
import { t } from "../i18n/catalogue.js";
import { DEFAULT_LOCALE } from "../i18n/locale.js";
import { pageEmailProblem } from "../i18n/problems.js";
import type { AuthorizationRequest } from "../oauth/authorize.js";
import type { Services } from "../services.js";
import type { Form } from "./browser-sign-in.js";
import { field } from "./browser-sign-in.js";
import type { SignInBasics } from "./connection-email-proof.js";
import { emailCodeRequestPage } from "./pages.js";

/** The entry's path segment: a static route, so it never reads as a connection id. */
export const SSO_ENTRY = "sso";
const ACTION = `/auth/connections/${SSO_ENTRY}`;

/** A connection that home-realm discovery reaches by its domains, so it shows no button of its own. */
export const routedByDomain = (connection: SignInConnection): boolean =>
  connection.homeRealmDomains.length > 0 && connection.options.is_force_show_sso_button !== true;

export function registerConnectionSso(
  app: FastifyInstance,
  services: Services,
  deps: Pick<SignInBasics, "pageConfig" | "html" | "expired" | "formContext" | "signIn"> & {
    offered: (authorization: AuthorizationRequest) => Promise<SignInConnection[]>;
  },
): void {
  const { pageConfig, html, signIn } = deps;

  const ssoPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    authorization: AuthorizationRequest,
    status: number,
    extra: { email?: string; error?: string } = {},
  ) => {
    const ctx = await deps.formContext(requestId, authorization, signIn.csrfToken(request, reply));
    return html(
      reply,
      status,
      emailCodeRequestPage({
        ...ctx,
        ...extra,
        title: t(ctx.locale, "connection.sso_title"),
        lead: t(ctx.locale, "connection.sso_lead", { app: ctx.applicationName }),
        action: ACTION,
        button: t(ctx.locale, "form.continue"),
      }),
    );
  };

  app.get<{ Querystring: Form }>(ACTION, pageConfig, async (request, reply) => {
    const requestId = field(request.query, "request");
    const authorization = await services.pending.find(requestId);
    if (!authorization) return deps.expired(reply);
    return ssoPage(request, reply, requestId, authorization, 200);
  });

  app.post<{ Body: Form }>(ACTION, pageConfig, async (request, reply) => {
    const form = request.body;
    const requestId = field(form, "request");
    const authorization = await services.pending.find(requestId);
    if (!authorization || !signIn.csrfValid(request, form)) return deps.expired(reply);
    const email = field(form, "email").trim();
    // The sign-in's language (issue 20), kept with its request.
    const locale = authorization.locale ?? DEFAULT_LOCALE;
    const problem = pageEmailProblem(locale, email);
    if (problem) return ssoPage(request, reply, requestId, authorization, 400, { email, error: problem });
    const domain = email.slice(email.lastIndexOf("@") + 1);
    const owner = await services.connections.byHomeRealmDomain(domain);
    const offered = owner ? await deps.offered(authorization) : [];
    if (!owner || !offered.some((c) => c.id === owner.id))
      return ssoPage(request, reply, requestId, authorization, 400, {
        email,
        error: t(locale, "connection.sso_not_set_up"),
      });
    request.log.info(
      { event: "home_realm_discovered", connectionId: owner.id },
      "work address sent to its connection",
    );
    return reply
      .code(303)
      .header("location", `/auth/connections/${owner.id}?request=${encodeURIComponent(requestId)}`)
      .send();
  });
}
