// The end of every sign-in, however the person proved who they are (sign-in.routes.ts' proceed):
// a fresh browser session, the connected apps the business offers at sign-in (Kinde prompts for
// them; the person may connect or skip), then the code to the client's redirect URI with 303
// (RFC 9700 §4.12) — or the client's error (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6).
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AUTH_URL_LIFETIME_SECONDS, ConnectedAppError } from "../connected-apps/connected-apps.service.js";
import { storedDashboardClientId } from "../dashboard/dashboard-app.js";
import { newEventRow } from "../events/events.js";
import { acceptInvitationFor } from "../invitations/invitation-sign-in.js";
import {
  type AuthorizationRequest,
  authorizationCodeFor,
  codeIssueFacts,
  errorRedirect,
  issueAuthorizationCode,
  STALE_SESSION,
} from "../oauth/authorize.js";
import { OAuthError } from "../oauth/errors.js";
import type { Services } from "../services.js";
import { inTransaction } from "../storage/database.js";
import { signInEvent } from "../users/users.service.js";
import {
  type BrowserSignIn,
  type Form,
  field,
  type SessionPlan,
  type SessionProof,
  type SettleCounters,
} from "./browser-sign-in.js";
import { connectStateCookie, cookieOptions } from "./cookies.js";
import { connectOfferPage, type FormContext, type SignInTarget } from "./pages.js";
import type { BrowserSession } from "./sessions.js";
import { expectedOrganization, type SignInAccount } from "./sign-in-account.js";
import { writeSignIn } from "./sign-in-writes.js";

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
   * the cache (codeIssueFacts). With the account read with its memberships (a password:
   * sign-in-account.ts), one statement (finishInOneWrite); otherwise, or when that cannot finish it,
   * one transaction, which takes the request's row before the counters as that statement does.
   */
  const finishTogether = async (
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    authorization: AuthorizationRequest,
    userId: string,
    proof: SessionProof,
    settle: SettleCounters | undefined,
    account: SignInAccount | undefined,
  ) => {
    // Not the reply itself out of the helper: a Fastify reply is thenable, and awaiting it waits
    // for the response to be sent.
    const written =
      account && (await finishInOneWrite(request, requestId, authorization, proof, settle, account));
    if (written) {
      signIn.announceSession(request, reply, userId, proof, written.plan, written.token);
      return redirectWith(reply, 303, authorization, written.location);
    }
    const plan = await signIn.planSession(request, userId, proof.orgCode);
    const facts = await codeIssueFacts(services.oauth, authorization.clientId, plan.orgCode);
    type Done = { token: string; completed: AuthorizationRequest; location: string | typeof STALE_SESSION };
    const done = await inTransaction<Done>(services.db, async (trx) => {
      const within = services.withDb(trx);
      const completed = await within.pending.complete(requestId);
      if (!completed) throw new RequestSpent();
      await settle?.(within);
      const { token, session } = await signIn.writeSession(within, request, userId, proof, plan);
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
   * finishTogether as one statement (sign-in-writes.ts): the organization entered is chosen on the
   * account's read, with chooseOrganization's rule, and the statement completes the request only
   * while it is still open to the person. The request's parameters are the ones read with the form
   * (`authorization`): nothing changes them once stored but the sign-in's progress. Undefined, with
   * nothing written, when this cannot finish the sign-in the way the transaction would — the
   * organization refused, the session too old for it, no access role there, the request spent or
   * the membership changed since the read — and the transaction then does what it does today.
   */
  const finishInOneWrite = async (
    request: FastifyRequest,
    requestId: string,
    authorization: AuthorizationRequest,
    proof: SessionProof,
    settle: SettleCounters | undefined,
    account: SignInAccount,
  ): Promise<{ token: string; plan: SessionPlan; location: string } | undefined> => {
    const userId = account.user.id;
    // finish() enters no organization for the dashboard (proof.orgCode null).
    const environment = proof.orgCode === null;
    const choice = environment
      ? { orgCode: null }
      : await expectedOrganization(account, proof.orgCode ?? undefined);
    if ("refused" in choice) return undefined;
    const facts = await codeIssueFacts(services.oauth, authorization.clientId, choice.orgCode);
    if (facts.environmentClient !== environment) return undefined;
    const plan = await signIn.planKnown(choice.orgCode);
    const now = services.clock.now();
    const { token, session, row } = services.sessions.newSession(
      userId,
      signIn.sessionMeta(request, proof),
      now,
    );
    const user = { id: userId, sessionId: session.id, authTime: session.authTime };
    const issued = await authorizationCodeFor(services.oauth, authorization, user, choice.orgCode, facts);
    if (!issued.code) return undefined;
    const written = await writeSignIn(services.db, services.clock, {
      requestId,
      now,
      userId,
      entering: environment ? undefined : { orgCode: choice.orgCode },
      counters: settle?.counters,
      replacedSessionToken: signIn.sessionCookie(request),
      session: row,
      event: newEventRow(services.clock, signInEvent(userId)),
      code: issued.code,
    });
    return written ? { token, plan, location: issued.location } : undefined;
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
      return finishTogether(request, reply, requestId, authorization, userId, proof, settle, account);
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
