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
import { randomToken, safeEqual, sha256 } from "../crypto/random.js";
import { errorPage, html, page } from "../http/html.js";
import { OAuthError } from "../oauth/errors.js";
import { verifyChallenge } from "../oauth/pkce.js";
import type { Services } from "../services.js";
import { cookieOptions } from "../sign-in/cookies.js";
import { INVITATION_CODE } from "./invitation-code.js";
import { InvitationsService, invitationState } from "./invitations.service.js";

export const INVITATIONS_APPLICATION_NAME = "Organization invitations";
/** How long the sign-in started from the link may take (the sign-in pages' own limit). */
const SIGN_IN_COOKIE_SECONDS = 30 * 60;

const STATE_MESSAGES = {
  accepted: "This invitation has been used already. Sign in to the organization's application instead.",
  revoked: "This invitation was withdrawn. Ask the person who invited you for a new one.",
  expired: "This invitation has expired. Ask the person who invited you for a new one.",
} as const;

export function invitationsCallbackUrl(issuer: string): string {
  return `${issuer}/team_invitation/callback`;
}

/** The link's application's client ID: 32 hex digits, like every client ID (COMPAT.md §2.3). */
async function invitationsClientId(services: Pick<Services, "business">): Promise<string> {
  const { id } = await services.business.get();
  return Buffer.from(sha256(`latchkey-invitation-pages:${id}`), "base64url")
    .toString("hex")
    .slice(0, 32);
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
  const problem = async (reply: FastifyReply, status: number, title: string, message: string) =>
    send(reply, status, errorPage(title, message, await services.business.name()));

  app.get<{ Querystring: { code?: string } }>("/team_invitation", config, async (request, reply) => {
    const code = typeof request.query.code === "string" ? request.query.code : "";
    const invitation = INVITATION_CODE.test(code) ? await invitations().findByCode(code) : undefined;
    if (!invitation)
      return problem(
        reply,
        404,
        "Invitation not found",
        "This invitation link is not valid. Check the link in the e-mail.",
      );
    const state = invitationState(invitation, services.clock.now());
    if (state !== "open") return problem(reply, 410, "Invitation not available", STATE_MESSAGES[state]);
    const clientId = await ensureInvitationsApplication(services);
    if (!clientId)
      return problem(
        reply,
        503,
        "Invitations unavailable",
        "Accepting invitations needs ISSUER_URL on https (or http on localhost).",
      );
    const pending: Pending = { state: randomToken(), verifier: randomToken() };
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
      const failed = (message: string) => problem(reply, 400, "The invitation was not accepted", message);
      // RFC 6749 §10.12, RFC 9700 §4.7: the response answers the request this browser made.
      if (!pending || typeof query.state !== "string" || !safeEqual(query.state, pending.state))
        return failed("This page was not opened from an invitation link in this browser, or took too long.");
      // RFC 9207 §2.4: a response naming another issuer is not ours (mix-up).
      if (query.iss !== undefined && query.iss !== services.oauth.issuer)
        return failed("This answer came back from another server.");
      // RFC 6749 §4.1.2.1: refused (used, withdrawn, expired, another address) or abandoned.
      if (query.error !== undefined)
        return failed(query.error_description?.slice(0, 300) || "The sign-in did not finish.");
      if (typeof query.code !== "string" || query.code.length > 200)
        return failed("The sign-in did not finish.");
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
        return failed("This answer is not for this page. Open the invitation link again.");
      // RFC 7636 §4.6: the verifier this browser kept matches the challenge sent with the request.
      try {
        verifyChallenge(record.codeChallenge, pending.verifier);
      } catch (error) {
        if (error instanceof OAuthError) return failed("This answer is not for this browser.");
        throw error;
      }
      const org = record.orgCode ? await services.organizations.store.find(record.orgCode) : undefined;
      const businessName = await services.business.name();
      const name = org?.name ?? businessName;
      return send(
        reply,
        200,
        page({
          title: "Invitation accepted",
          businessName,
          body: html`<h1>You have joined ${name}</h1>
<p class="lead">The invitation is accepted. Sign in to ${name}'s application to get started; you can close this page.</p>`,
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
    const { state, verifier } = parsed as Record<string, unknown>;
    return typeof state === "string" && typeof verifier === "string" ? { state, verifier } : undefined;
  } catch {
    return undefined;
  }
}
