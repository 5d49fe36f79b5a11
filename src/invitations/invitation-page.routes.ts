// Kinde's invite_link, <ISSUER_URL>/team_invitation?code=inv_…: what the invitation e-mail links to.
//
// An invitation is accepted by signing in or up through the authorization endpoint with its code
// (invitation-sign-in.ts). A link in an e-mail has no application of the customer's to come back
// to, so the link signs in to one of Latchkey's own: "Organization invitations", a first-party
// application registered on first use (its client ID derived from the business row's random id,
// so every instance finds the same one; a confidential client whose secret nobody keeps, so its
// codes never reach the token endpoint). The page sends the browser to the authorization endpoint
// with the code, PKCE (RFC 7636) and state kept in a short-lived cookie; the hosted pages run every
// step the policy asks, and accept the invitation as they mint the code. The callback checks the
// response (RFC rule beside each check), burns the code and says which organization was joined.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { redirectUrlProblem } from "../applications/urls.js";
import { BrandingStore } from "../branding/branding.store.js";
import { randomToken, safeEqual, sha256 } from "../crypto/random.js";
import { errorPage, html, page } from "../http/html.js";
import { type NoValues, t } from "../i18n/catalogue.js";
import { type Locale, requestLocale, storedLocale } from "../i18n/locale.js";
import { OAuthError } from "../oauth/errors.js";
import { verifyChallenge } from "../oauth/pkce.js";
import type { Services } from "../services.js";
import { cookieOptions } from "../sign-in/cookies.js";
import { FIRST_PARTY_LABELS, firstPartyIdFor } from "../sign-in/first-party-sign-in.js";
import { INVITATION_CODE } from "./invitation-code.js";
import { InvitationsService, invitationState } from "./invitations.service.js";

export const INVITATIONS_APPLICATION_NAME = "Organization invitations";
/** How long the sign-in started from the link may take (the sign-in pages' own limit). */
const SIGN_IN_COOKIE_SECONDS = 30 * 60;

const STATE_MESSAGES = {
  accepted: "invitation.accepted_already",
  revoked: "invitation.revoked",
  expired: "invitation.expired",
} as const satisfies Record<string, NoValues>;

export function invitationsCallbackUrl(issuer: string): string {
  return `${issuer}/team_invitation/callback`;
}

/** The link's application's client ID. */
function invitationsClientId(services: Pick<Services, "business">): Promise<string> {
  return firstPartyIdFor(services, FIRST_PARTY_LABELS.invitations);
}

/**
 * The link's application, registered when missing, with exactly the current issuer's callback.
 * Undefined when ISSUER_URL cannot carry a callback (http off loopback, RFC 9700 §2.6).
 */
async function ensureInvitationsApplication(services: Services): Promise<string | undefined> {
  const wanted = invitationsCallbackUrl(services.oauth.issuer);
  if (redirectUrlProblem(wanted) !== undefined) return undefined;
  const id = await invitationsClientId(services);
  const store = services.applications.store;
  if (!(await store.findById(id))) {
    try {
      // Created without URLs: ApplicationsService refuses any in Latchkey's own space.
      await services.applications.create({ id, type: "reg", name: INVITATIONS_APPLICATION_NAME });
    } catch (error) {
      // Another instance (or request) registered it first.
      if (!(await store.findById(id))) throw error;
    }
  }
  const callbacks = await store.urls(id, "callback");
  // Written only when different: each write moves every instance's configuration cache.
  if (callbacks.length !== 1 || callbacks[0] !== wanted)
    await store.replaceUrls(id, "callback", [wanted], services.clock.now());
  return id;
}

/** What the browser keeps between the link and the callback. */
interface Pending {
  state: string;
  verifier: string;
  /** The language the link's page spoke, for the callback's page (the sign-in keeps its own). */
  lang?: Locale;
}

export function registerInvitationPageRoutes(
  app: FastifyInstance,
  services: Services,
  options: { https: boolean },
): void {
  const config = { config: { surface: "page" as const } };
  // __Host- on https: no other host of the site can plant a pending acceptance (RFC 6265bis §4.1.3.2).
  const cookieName = options.https ? "__Host-latchkey_invitation" : "latchkey_invitation";
  const invitations = () =>
    new InvitationsService(services.db, services.clock, services.mail, services.oauth.issuer);
  const send = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).header("cache-control", "no-store").type("text/html; charset=utf-8").send(body);
  // The environment's brand, or the invitation's organization's over it; from the configuration
  // cache like the sign-in pages' (sign-in.routes.ts), so no query of its own.
  const brandingStore = new BrandingStore(services.db);
  const problem = async (
    reply: FastifyReply,
    locale: Locale,
    status: number,
    title: NoValues,
    message: NoValues | { text: string },
    orgCode?: string,
  ) => {
    const text = typeof message === "string" ? t(locale, message) : message.text;
    const brand = await brandingStore.brand(orgCode);
    return send(
      reply,
      status,
      errorPage(t(locale, title), text, await services.business.name(), locale, brand),
    );
  };

  app.get<{ Querystring: { code?: string } }>("/team_invitation", config, async (request, reply) => {
    const code = typeof request.query.code === "string" ? request.query.code : "";
    const locale = requestLocale(request);
    const invitation = INVITATION_CODE.test(code) ? await invitations().findByCode(code) : undefined;
    if (!invitation)
      return problem(reply, locale, 404, "invitation.not_found_title", "invitation.not_found_message");
    const state = invitationState(invitation, services.clock.now());
    if (state !== "open")
      return problem(
        reply,
        locale,
        410,
        "invitation.unavailable_title",
        STATE_MESSAGES[state],
        invitation.org_code,
      );
    const clientId = await ensureInvitationsApplication(services);
    if (!clientId) return problem(reply, locale, 503, "invitation.off_title", "invitation.off_message");
    const pending: Pending = { state: randomToken(), verifier: randomToken(), lang: locale };
    reply.setCookie(
      cookieName,
      Buffer.from(JSON.stringify(pending)).toString("base64url"),
      cookieOptions(options.https, SIGN_IN_COOKIE_SECONDS),
    );
    const query = new URLSearchParams({
      response_type: "code",
      client_id: clientId,
      redirect_uri: invitationsCallbackUrl(services.oauth.issuer),
      scope: "openid",
      state: pending.state,
      // The verifier is 43 base64url characters: ASCII, so its SHA-256 is S256's (RFC 7636 §4.2).
      code_challenge: sha256(pending.verifier),
      code_challenge_method: "S256",
      invitation_code: code,
      is_invitation: "true",
      // Kinde's `lang` (COMPAT.md §1.2): the sign-in pages speak the language this page chose.
      lang: locale,
    });
    return reply.code(302).header("location", `/oauth2/auth?${query}`).send();
  });

  app.get<{ Querystring: Record<string, string | undefined> }>(
    "/team_invitation/callback",
    config,
    async (request, reply) => {
      const query = request.query;
      const pending = readPending(request, cookieName);
      reply.clearCookie(cookieName, cookieOptions(options.https));
      const locale = pending?.lang ?? requestLocale(request);
      const failed = (message: NoValues | { text: string }) =>
        problem(reply, locale, 400, "invitation.failed_title", message);
      // RFC 6749 §10.12, RFC 9700 §4.7: the response answers the request this browser made.
      if (!pending || typeof query.state !== "string" || !safeEqual(query.state, pending.state))
        return failed("invitation.not_this_browser");
      // RFC 9207 §2.4: a response naming another issuer is not ours (mix-up).
      if (query.iss !== undefined && query.iss !== services.oauth.issuer)
        return failed("invitation.other_server");
      // RFC 6749 §4.1.2.1: refused (used, withdrawn, expired, another address) or abandoned.
      if (query.error !== undefined)
        return failed(
          query.error_description
            ? { text: query.error_description.slice(0, 300) }
            : "invitation.did_not_finish",
        );
      if (typeof query.code !== "string" || query.code.length > 200)
        return failed("invitation.did_not_finish");
      // §4.1.2: single use, by one conditional write; issued to this application and redirect URI.
      const now = services.clock.now();
      const consumed = await services.oauth.store.consumeCode(sha256(query.code), now);
      const record = consumed?.firstUse ? consumed.code : undefined;
      if (
        !record ||
        record.clientId !== (await invitationsClientId(services)) ||
        record.redirectUri !== invitationsCallbackUrl(services.oauth.issuer) ||
        record.expiresAt <= now ||
        !record.codeChallenge
      )
        return failed("invitation.not_for_page");
      // RFC 7636 §4.6: the verifier this browser kept matches the challenge sent with the request.
      try {
        verifyChallenge(record.codeChallenge, pending.verifier);
      } catch (error) {
        if (error instanceof OAuthError) return failed("invitation.not_for_browser");
        throw error;
      }
      const org = record.orgCode ? await services.organizations.store.find(record.orgCode) : undefined;
      const businessName = await services.business.name();
      const name = org?.name ?? businessName;
      return send(
        reply,
        200,
        page({
          title: t(locale, "invitation.accepted_title"),
          businessName,
          lang: locale,
          brand: await brandingStore.brand(org?.code),
          body: html`<h1>${t(locale, "invitation.joined", { name })}</h1>
<p class="lead">${t(locale, "invitation.joined_lead", { name })}</p>`,
        }),
      );
    },
  );
}

function readPending(request: FastifyRequest, cookieName: string): Pending | undefined {
  const value = request.cookies[cookieName];
  if (!value || value.length > 500) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, "base64url").toString("utf8"));
    if (typeof parsed !== "object" || parsed === null) return undefined;
    const { state, verifier, lang } = parsed as Record<string, unknown>;
    return typeof state === "string" && typeof verifier === "string"
      ? { state, verifier, lang: storedLocale(lang) }
      : undefined;
  } catch {
    return undefined;
  }
}
