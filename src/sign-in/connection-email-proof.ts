// Proving an address by e-mail code before a provider account is linked to the account that has it
// (issue 17: "otherwise the user proves the address with an e-mail code first").
//
// A provider that does not vouch for an address (no email_verified, or a connection not trusted)
// proves nothing about the mailbox: linking on its word would hand the account to whoever controls
// that provider account. And an account whose own address was never proved may have been claimed by
// someone else, with a password of their own. In both cases the person is sent a one-time code at
// the account's address (one-time-codes.ts, purpose verify_email, with its limits), and the provider
// account is linked only when the code comes back from the same browser, on the same authorization
// request. Then the address counts as proved: every way in someone else may have added goes (a
// password, providers, passkeys: dropUnprovenAccess in users.service.ts), the address is marked
// verified, and the sign-in goes on through proceed() with amr ["ext", "email"].
//
// A provider that never tells an address (X; the catalog's asksForEmail) proves no mailbox at all:
// before an account is created or linked, the person types an address and the code goes there —
// also when no account has it, since the new account is then made with it, verified. The pages say
// the same whether or not an account has the address; the address of an administrator or a
// suspended account is given a code that is never sent, so nothing can come of it.
//
// What waits meanwhile is kept with the authorization request (SignInProgress.link) with no user
// identified (userId ""), so no other step acts on it (sign-in.routes.ts openProgress refuses a
// progress without a proof; email-code.routes.ts one of another purpose). A link whose provider
// gave no address (email null) is one the person is typing an address for: its link.userId stays
// "" until the address is known, and then names the account that has it, if any.
//
//   POST /auth/connections/email         the address typed, for a provider that tells none
//   POST /auth/connections/link          the code (CSRF, this browser)
//   POST /auth/connections/link/resend   another code
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { SignInConnection } from "../connections/connections.service.js";
import { t } from "../i18n/catalogue.js";
import { DEFAULT_LOCALE, type Locale } from "../i18n/locale.js";
import { pageEmailProblem } from "../i18n/problems.js";
import {
  type AuthorizationRequest,
  organizationRefusal,
  type PendingLink,
  type SignInProgress,
} from "../oauth/authorize.js";
import type { Services } from "../services.js";
import { canonicalEmail } from "../users/email.js";
import {
  boundedClaims,
  ExternalIdentitiesStore,
  type ExternalIdentityRow,
} from "../users/external-identities.store.js";
import { type User, uniqueViolation } from "../users/users.store.js";
import type { Form } from "./browser-sign-in.js";
import { field } from "./browser-sign-in.js";
import {
  administratorRefusal,
  cannotSignInHere,
  createConnectionAccount,
  optionGone,
  syncProfile,
  tryAgain,
} from "./connection-accounts.js";
import { openCodeStep, type SignInKit } from "./email-code.routes.js";
import { emailCodePage, emailCodeRequestPage } from "./pages.js";
import { clientNetwork } from "./rate-limit.js";
import { type UpstreamProfile, UpstreamRefusal } from "./upstream-providers.js";

/** Thrown by the account rules: this profile may be linked to `user` once its address is proved. */
export class EmailProofNeeded extends Error {
  constructor(
    readonly user: User,
    readonly profile: UpstreamProfile,
  ) {
    super("email proof needed");
  }
}

/** Thrown by the account rules: this provider tells no address, so the person must give one. */
export class EmailAddressNeeded extends Error {
  constructor(readonly profile: UpstreamProfile) {
    super("email address needed");
  }
}

/** What the sign-in routes share with the connection routes (email-code.routes.ts SignInKit). */
export type SignInBasics = Pick<
  SignInKit,
  "pageConfig" | "html" | "expired" | "formContext" | "signIn" | "emailCode" | "proceed"
>;

export interface EmailProofDeps extends SignInBasics {
  /** The connection, when this request may still use it (enabled for its app and org). */
  usable: (id: string, authorization: AuthorizationRequest) => Promise<SignInConnection | undefined>;
  /** The refusal's page, in `locale` (the language its text was written in). */
  refusalPage: (
    reply: FastifyReply,
    refusal: UpstreamRefusal,
    locale: Locale,
    requestId?: string,
  ) => Promise<unknown>;
  /** The amr value of a sign-in at a provider. */
  externalAmr: string;
}

export interface EmailProof {
  /** Sends the code for linking `proof.profile` to `proof.user` and shows where to type it. */
  start(
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    authorization: AuthorizationRequest,
    connection: SignInConnection,
    proof: EmailProofNeeded,
  ): Promise<unknown>;
  /** Asks for the address of a person whose provider tells none (`profile`, not linked yet). */
  ask(
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    authorization: AuthorizationRequest,
    connection: SignInConnection,
    profile: UpstreamProfile,
  ): Promise<unknown>;
}

const ACTION = "/auth/connections/link";
const ASK_ACTION = "/auth/connections/email";

/** A link whose provider gave no address: the person typed the one the code went to. */
const typed = (link: PendingLink) => link.email === null;

export function registerConnectionEmailProof(
  app: FastifyInstance,
  services: Services,
  deps: EmailProofDeps,
): EmailProof {
  const { pageConfig, html, expired, signIn, emailCode } = deps;

  const codePage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    authorization: AuthorizationRequest,
    status: number,
    email: string,
    link: PendingLink,
    extra: { error?: string; notice?: string } = {},
  ) => {
    const ctx = await deps.formContext(requestId, authorization, signIn.csrfToken(request, reply));
    // Typed by the person: the page must not say whether an account has the address.
    const values = { email, app: ctx.applicationName };
    const lead = typed(link)
      ? t(ctx.locale, "connection.proof_lead_typed", values)
      : t(ctx.locale, "connection.proof_lead_existing", values);
    return html(
      reply,
      status,
      emailCodePage({
        ...ctx,
        email,
        ...extra,
        action: ACTION,
        resendAction: `${ACTION}/resend`,
        lead,
        lifetimeSeconds: emailCode.lifetimeSeconds,
      }),
    );
  };

  /** Issues a code for the link waiting in `progress` and records it with the request. */
  const send = async (
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    authorization: AuthorizationRequest,
    link: PendingLink,
    email: string,
    notice?: string,
    /** An address typed for a new account: sent although no account has it. */
    deliverWithoutAccount = false,
  ) => {
    const sent = await emailCode.send({
      purpose: "verify_email",
      email,
      userId: link.userId || undefined,
      deliverWithoutAccount,
      requestId,
      network: clientNetwork(request.ip),
      locale: authorization.locale,
    });
    if ("refused" in sent) {
      reply.header("retry-after", String(sent.retryAfter));
      return codePage(request, reply, requestId, authorization, 429, email, link, { error: sent.message });
    }
    const progress: SignInProgress = {
      userId: "",
      amr: [],
      browser: signIn.browserBinding(request),
      codeId: sent.codeId,
      purpose: "verify_email",
      email,
      link,
    };
    await services.pending.recordProgress(requestId, authorization, progress);
    return codePage(request, reply, requestId, authorization, 200, email, link, { notice });
  };

  /**
   * The code for an address typed by the person: to the account that has it, to nobody for an
   * administrator's or a suspended account's (a code never sent), else to the new account's.
   */
  const sendTyped = async (
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    authorization: AuthorizationRequest,
    link: PendingLink,
    email: string,
    notice?: string,
  ) => {
    const account = await services.users.store.findByEmail(email);
    const usableAccount = account && account.is_admin !== 1 && account.is_suspended !== 1;
    const target: PendingLink = { ...link, userId: usableAccount ? account.id : "" };
    return send(request, reply, requestId, authorization, target, email, notice, account === undefined);
  };

  /** The link waiting behind a code form, when this browser is the one that asked for it. */
  const open = async (request: FastifyRequest) => {
    const step = await openCodeStep(services, signIn, request, "verify_email");
    const link = step?.progress.link;
    return step && link ? { ...step, link } : undefined;
  };

  app.post<{ Body: Form }>(`${ACTION}/resend`, pageConfig, async (request, reply) => {
    const step = await open(request);
    if (!step) return expired(reply);
    const { requestId, authorization, link, email } = step;
    const again = typed(link) ? sendTyped : send;
    const resent = t(authorization.locale ?? DEFAULT_LOCALE, "email_code.resent");
    return again(request, reply, requestId, authorization, link, email, resent);
  });

  const askPage = async (
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
        title: t(ctx.locale, "connection.ask_title"),
        lead: t(ctx.locale, "connection.ask_lead", { app: ctx.applicationName }),
        action: ASK_ACTION,
        button: t(ctx.locale, "email_code.email_me"),
      }),
    );
  };

  app.post<{ Body: Form }>(ASK_ACTION, pageConfig, async (request, reply) => {
    const form = request.body;
    const requestId = field(form, "request");
    const authorization = await services.pending.find(requestId);
    const progress = authorization?.signInProgress;
    const link = progress?.link;
    // Only the browser the provider's answer came to, for a link still waiting for an address.
    if (!authorization || !progress || !link || !typed(link)) return expired(reply);
    if (!signIn.csrfValid(request, form) || progress.browser !== signIn.browserBinding(request))
      return expired(reply);
    const typedEmail = field(form, "email").trim();
    const problem = pageEmailProblem(authorization.locale ?? DEFAULT_LOCALE, typedEmail);
    if (problem)
      return askPage(request, reply, requestId, authorization, 400, { email: typedEmail, error: problem });
    return sendTyped(request, reply, requestId, authorization, link, canonicalEmail(typedEmail));
  });

  app.post<{ Body: Form }>(ACTION, pageConfig, async (request, reply) => {
    const step = await open(request);
    if (!step) return expired(reply);
    const { requestId, authorization, link } = step;
    const locale = authorization.locale ?? DEFAULT_LOCALE;
    const checked = await emailCode.verify(
      step.codeId,
      "verify_email",
      field(step.form, "code"),
      step.authorization.locale,
    );
    if (!checked.ok) {
      services.authenticationLog.record(request, {
        type: "sign_in_failed",
        userId: checked.userId,
        clientId: authorization.clientId,
        method: "email_code",
      });
      return codePage(request, reply, requestId, authorization, 400, step.email, link, {
        error: checked.message,
      });
    }
    try {
      if (typed(link) && !link.userId) {
        const account = await createTyped(requestId, authorization, link, checked);
        return deps.proceed(request, reply, requestId, account.through, account.user, [
          deps.externalAmr,
          "email",
        ]);
      }
      // Everything judged again now: the account may have changed while the code travelled.
      const user = checked.userId ? await services.users.store.findById(checked.userId) : undefined;
      if (!user || user.id !== link.userId || user.email !== checked.email || user.is_suspended === 1)
        return expired(reply);
      if (user.is_admin === 1) throw administratorRefusal(locale);
      const connection = await deps.usable(link.connectionId, authorization);
      if (!connection) throw optionGone(locale);
      const refusal = await organizationRefusal(services.oauth, authorization, user.id);
      if (refusal) throw cannotSignInHere(locale, refusal);
      // The mailbox's owner is here: what someone added before the address was ever proved stops
      // working, as for a passwordless sign-in (dropUnprovenAccess); this provider is linked after.
      if (user.email_verified !== 1) await services.users.dropUnprovenAccess(user.id);
      const verified = await services.users.markEmailVerified(user.id, checked.email);
      if (!verified) return expired(reply);
      const identity = await linkIdentity(verified, link, locale);
      const synced = await syncProfile(services, connection, verified, link.claims);
      request.log.info(
        { event: "identity_linked", connectionId: link.connectionId, userId: user.id },
        "provider account linked after an e-mail code",
      );
      const through = await services.pending.recordProgress(
        requestId,
        { ...authorization, externalIdentityId: identity.id },
        undefined,
      );
      return deps.proceed(request, reply, requestId, through, synced, [deps.externalAmr, "email"]);
    } catch (error) {
      if (error instanceof UpstreamRefusal) return deps.refusalPage(reply, error, locale, requestId);
      throw error;
    }
  });

  /**
   * The new account for an address the person typed and proved, with the provider account linked;
   * refused when an account has the address by now (created meanwhile: it was not this person's
   * when the code went out, so its owner signs in their own way).
   */
  const createTyped = async (
    requestId: string,
    authorization: AuthorizationRequest,
    link: PendingLink,
    checked: { email: string; userId: string | null },
  ) => {
    const locale = authorization.locale ?? DEFAULT_LOCALE;
    if (checked.userId !== null || checked.email !== canonicalEmail(checked.email)) throw tryAgain(locale);
    const connection = await deps.usable(link.connectionId, authorization);
    if (!connection) throw optionGone(locale);
    if (await services.users.store.findByEmail(checked.email))
      throw new UpstreamRefusal(
        409,
        t(locale, "connection.have_account_title"),
        t(locale, "connection.have_account"),
      );
    const profile = {
      subject: link.subject,
      email: link.email,
      emailVerified: link.emailVerified,
      claims: link.claims,
    };
    const account = await createConnectionAccount(services, connection, authorization, profile, {
      email: checked.email,
      verified: true,
    });
    if (!account.created) throw tryAgain(locale);
    const through = await services.pending.recordProgress(
      requestId,
      { ...authorization, externalIdentityId: account.identity.id },
      undefined,
    );
    return { user: account.user, through };
  };

  /** Links the provider account; the same one linked meanwhile (a second tab) to this user is fine. */
  const linkIdentity = async (
    user: User,
    link: PendingLink,
    locale: Locale,
  ): Promise<ExternalIdentityRow> => {
    const identities = new ExternalIdentitiesStore(services.db);
    try {
      return await identities.insert({
        userId: user.id,
        connectionId: link.connectionId,
        subject: link.subject,
        email: link.email,
        emailVerified: link.emailVerified,
        claims: link.claims,
        now: services.clock.now(),
      });
    } catch (error) {
      if (!uniqueViolation(error)) throw error;
      const known = await identities.bySubject(link.connectionId, link.subject);
      if (known?.user_id === user.id) return known;
      throw new UpstreamRefusal(
        409,
        t(locale, "connection.linked_elsewhere_title"),
        t(locale, "connection.linked_elsewhere"),
      );
    }
  };

  return {
    start: async (request, reply, requestId, authorization, connection, proof) => {
      const { user, profile } = proof;
      if (!user.email) return deps.expired(reply);
      const link: PendingLink = {
        userId: user.id,
        connectionId: connection.id,
        subject: profile.subject,
        email: profile.email,
        emailVerified: profile.emailVerified,
        claims: boundedClaims(profile.claims),
      };
      request.log.info(
        { event: "identity_link_code_sent", connectionId: connection.id, userId: user.id },
        "provider account waits for an e-mail code before linking",
      );
      return send(request, reply, requestId, authorization, link, user.email);
    },
    ask: async (request, reply, requestId, authorization, connection, profile) => {
      const link: PendingLink = {
        userId: "",
        connectionId: connection.id,
        subject: profile.subject,
        email: null,
        emailVerified: false,
        claims: boundedClaims(profile.claims),
      };
      // Waiting for an address: no code yet, so no code step can be opened on it.
      const progress: SignInProgress = {
        userId: "",
        amr: [],
        browser: signIn.browserBinding(request),
        link,
      };
      await services.pending.recordProgress(requestId, authorization, progress);
      request.log.info(
        { event: "identity_email_asked", connectionId: connection.id },
        "provider tells no address: asking the person for one",
      );
      return askPage(request, reply, requestId, authorization, 200);
    },
  };
}
