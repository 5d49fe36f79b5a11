// The end of every sign-in, however the person proved who they are (sign-in.routes.ts' proceed):
// a fresh browser session, the connected apps the business offers at sign-in (Kinde prompts for
// them; the person may connect or skip), then the code to the client's redirect URI with 303
// (RFC 9700 §4.12) — or the client's error (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6).
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AUTH_URL_LIFETIME_SECONDS, ConnectedAppError } from "../connected-apps/connected-apps.service.js";
import { storedDashboardClientId } from "../dashboard/dashboard-app.js";
import { acceptInvitationFor } from "../invitations/invitation-sign-in.js";
import {
  type AuthorizationRequest,
  codeIssueFacts,
  errorRedirect,
  issueAuthorizationCode,
  STALE_SESSION,
} from "../oauth/authorize.js";
import { OAuthError } from "../oauth/errors.js";
import type { Services } from "../services.js";
import { inTransaction } from "../storage/database.js";
import {
  type BrowserSignIn,
  type Form,
  field,
  type SessionProof,
  type SettleCounters,
} from "./browser-sign-in.js";
import { connectStateCookie, cookieOptions } from "./cookies.js";
import { connectOfferPage, type FormContext, type SignInTarget } from "./pages.js";
import type { BrowserSession } from "./sessions.js";
import { expectedOrganization, type SignInAccount } from "./sign-in-account.js";

/** The request was completed or expired before this sign-in could: its writes roll back. */
class RequestSpent extends Error {}

export interface FinishKit {
  pageConfig: { config: { surface: "page" } };
  html: (reply: FastifyReply, status: number, body: string) => FastifyReply;
  expired: (reply: FastifyReply) => Promise<FastifyReply>;
  formContext: (requestId: string, authorization: SignInTarget, csrf: string) => Promise<FormContext>;
  signIn: BrowserSignIn;
  https: boolean;
}

/** Registers the offer's answers (/auth/continue, /auth/connect) and returns `finish`. */
export function registerSignInFinish(app: FastifyInstance, services: Services, kit: FinishKit) {
  const { pageConfig, html, expired, formContext, signIn } = kit;
  const csrfToken = (request: FastifyRequest, reply: FastifyReply) => signIn.csrfToken(request, reply);
  const csrfValid = (request: FastifyRequest, form: Form | undefined) => signIn.csrfValid(request, form);

  /** The client hears the code, or login_required when the session is too old for where it enters. */
  const redirectWith = (
    reply: FastifyReply,
    status: 302 | 303,
    authorization: AuthorizationRequest,
    location: string | typeof STALE_SESSION,
  ) => {
    // The request is spent and the session too old for the organization entered (review M3): the
    // application hears login_required and starts a new sign-in (OIDC Core §3.1.2.6).
    const stale = new OAuthError("login_required", "The session is older than the organization allows");
    return reply
      .code(status)
      .header(
        "location",
        location === STALE_SESSION
          ? errorRedirect(services.oauth.issuer, authorization.redirectUri, stale, authorization.state)
          : location,
      )
      .send();
  };

  /** Completes the authorization request for this browser's session: the code goes to the client. */
  const complete = async (
    reply: FastifyReply,
    requestId: string,
    session: BrowserSession,
    status: 302 | 303,
  ) => {
    const authorization = await services.pending.complete(requestId);
    if (!authorization) return expired(reply);
    // An invitation is accepted now, with the membership and roles it gives (src/invitations/).
    const accepted = await acceptInvitationFor(services, authorization, session.userId);
    if ("location" in accepted) return reply.code(status).header("location", accepted.location).send();
    const location = await issueAuthorizationCode(services.oauth, authorization, {
      id: session.userId,
      sessionId: session.id,
      authTime: session.authTime,
    });
    return redirectWith(reply, status, authorization, location);
  };

  /**
   * The usual end of a sign-in (issue 21): a password's throttle bookkeeping, the new session, the
   * account's sign-in counters, the request's completion, the organization entered and the code
   * commit together — one commit where there were six — and a request found spent or expired writes
   * nothing (no session for a sign-in that gives no code). The configuration is read first, from
   * the cache (codeIssueFacts), and the organization expected, from the account's read when there
   * is one (a password: sign-in-account.ts).
   */
  const finishTogether = async (
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    clientId: string,
    userId: string,
    proof: SessionProof,
    settle: SettleCounters | undefined,
    account: SignInAccount | undefined,
  ) => {
    // chooseOrganization's choice on the memberships read with the account: planSession reads none.
    const expected =
      account && proof.orgCode !== null
        ? await expectedOrganization(account, proof.orgCode ?? undefined)
        : undefined;
    const orgCode = expected && "orgCode" in expected ? expected.orgCode : proof.orgCode;
    const plan = await signIn.planSession(request, userId, orgCode);
    const facts = await codeIssueFacts(services.oauth, clientId, plan.orgCode);
    type Done = { token: string; completed: AuthorizationRequest; location: string | typeof STALE_SESSION };
    const done = await inTransaction<Done>(services.db, async (trx) => {
      const within = services.withDb(trx);
      await settle?.(within);
      const { token, session } = await signIn.writeSession(within, request, userId, proof, plan);
      const completed = await within.pending.complete(requestId);
      if (!completed) throw new RequestSpent();
      const location = await issueAuthorizationCode(
        within.oauth,
        completed,
        { id: userId, sessionId: session.id, authTime: session.authTime },
        facts,
      );
      return { token, completed, location };
    }).catch((error: unknown) => {
      if (error instanceof RequestSpent) return undefined;
      throw error;
    });
    if (!done) return expired(reply);
    signIn.announceSession(request, reply, userId, proof, plan, done.token);
    return redirectWith(reply, 303, done.completed, done.location);
  };

  /**
   * Signs the user in on this browser, offers the connected apps the business marked for sign-in
   * (Kinde prompts for them; the user may connect or skip), then sends them back with a code.
   */
  const finish = async (
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    authorization: AuthorizationRequest,
    userId: string,
    amr: readonly string[],
    settle?: SettleCounters,
    /** The account as read with its memberships (a password: sign-in-account.ts). */
    account?: SignInAccount,
  ) => {
    const dashboard = authorization.clientId === (await storedDashboardClientId(services.db));
    const proof: SessionProof = {
      amr,
      clientId: authorization.clientId,
      externalIdentityId: authorization.externalIdentityId,
      // The organization issueAuthorizationCode enters: none for the dashboard or a new one.
      orgCode:
        dashboard || authorization.createOrgName !== undefined
          ? null
          : (authorization.orgCode ?? authorization.invitation?.orgCode),
    };
    // Not when signing in to the dashboard: an administrator managing Latchkey connects nothing there.
    const offers = dashboard ? [] : await services.connectedApps.offersFor(userId);
    const usual =
      offers.length === 0 && !authorization.invitation && authorization.createOrgName === undefined;
    if (usual)
      return finishTogether(
        request,
        reply,
        requestId,
        authorization.clientId,
        userId,
        proof,
        settle,
        account,
      );
    await settle?.(services);
    // An offer to show, an invitation to accept or an organization to create: the session commits
    // now, the code after (complete).
    const session = await signIn.startSession(request, reply, userId, proof);
    if (offers.length === 0) return complete(reply, requestId, session, 303);
    // The offer page's answer (/auth/continue, /auth/connect) is honoured only for this session.
    await services.pending.attachSession(requestId, authorization, session.id);
    const ctx = await formContext(requestId, authorization, csrfToken(request, reply));
    return html(
      reply,
      200,
      connectOfferPage({ ...ctx, offers: offers.map((o) => ({ key: o.key_code_ref, name: o.name })) }),
    );
  };

  // After the offer: skip (POST), or back from the provider (GET, with the connection's session_id).
  const resume = async (
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    status: 302 | 303,
  ) => {
    const session = await signIn.session(request);
    const pending = await services.pending.find(requestId);
    // Only the session that just signed in for this request may complete it.
    if (!session || !pending || pending.signedInSession !== session.id) return expired(reply);
    return complete(reply, requestId, session, status);
  };
  app.post<{ Body: Form }>("/auth/continue", pageConfig, async (request, reply) => {
    if (!csrfValid(request, request.body)) return expired(reply);
    return resume(request, reply, field(request.body, "request"), 303);
  });
  app.get<{ Querystring: Form }>("/auth/continue", pageConfig, async (request, reply) =>
    resume(request, reply, field(request.query, "request"), 302),
  );

  app.post<{ Body: Form }>("/auth/connect", pageConfig, async (request, reply) => {
    const requestId = field(request.body, "request");
    const session = await signIn.session(request);
    const pending = await services.pending.find(requestId);
    if (!session || !csrfValid(request, request.body) || pending?.signedInSession !== session.id) {
      return expired(reply);
    }
    const returnUrl = `${services.connectedApps.options.issuer}/auth/continue?request=${encodeURIComponent(requestId)}`;
    try {
      const { redirect, state } = await services.connectedApps.connectNow(
        field(request.body, "key_code_ref"),
        session.userId,
        returnUrl,
      );
      reply.setCookie(
        connectStateCookie(kit.https),
        state,
        cookieOptions(kit.https, AUTH_URL_LIFETIME_SECONDS),
      );
      return reply.code(303).header("location", redirect).send();
    } catch (error) {
      if (!(error instanceof ConnectedAppError)) throw error;
      // The offer cannot be honoured (e.g. just removed): carry on to the application.
      return complete(reply, requestId, session, 303);
    }
  });

  return finish;
}
