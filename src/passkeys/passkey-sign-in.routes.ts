// The passkey steps of a hosted sign-in (issue 22): a passkey alone (discoverable credential, user
// verified), the options for one as the second factor (its verification is a route of
// sign-in/mfa.routes.ts), and creating one where the policy makes it mandatory. Every way ends in
// `proceed`, like every other proof, so the policy's remaining steps are asked there.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { t } from "../i18n/catalogue.js";
import { DEFAULT_LOCALE, requestLocale } from "../i18n/locale.js";
import { pagePasskeyRefusal, pageSignInRefusal } from "../i18n/problems.js";
import type { AuthorizationRequest, SignInProgress } from "../oauth/authorize.js";
import { organizationRefusal } from "../oauth/authorize.js";
import type { Services } from "../services.js";
import type { BrowserSignIn, Form } from "../sign-in/browser-sign-in.js";
import { field } from "../sign-in/browser-sign-in.js";
import type { SignInKit } from "../sign-in/email-code.routes.js";
import type { MfaKit, OpenedProgress } from "../sign-in/mfa.routes.js";
import { clientNetwork } from "../sign-in/rate-limit.js";
import type { NextStep } from "../sign-in/steps.js";
import type { User } from "../users/users.store.js";
import { passkeyEnrollPage } from "./passkey-pages.js";

/** Options a network may ask for per 15 minutes (each writes a challenge row): the password ceiling. */
export const PASSKEY_OPTIONS_LIMIT = { max: 300, windowSeconds: 15 * 60 } as const;

export interface PasskeySignInKit
  extends Pick<SignInKit, "pageConfig" | "html" | "expired" | "formContext" | "csrfToken" | "proceed">,
    Pick<MfaKit, "openProgress"> {
  signIn: Pick<BrowserSignIn, "browserBinding" | "csrfValid">;
  /** What the sign-in owes next after `amr` (sign-in.routes.ts, the same computation as proceed's). */
  stepOf(user: User, amr: readonly string[], authorization: AuthorizationRequest): Promise<NextStep>;
  /** The sign-in page again, with why. */
  signInPageWithError(
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    authorization: AuthorizationRequest,
    status: number,
    error: string,
  ): Promise<FastifyReply>;
}

export interface PasskeySteps {
  /** Shows the "create a passkey" step (steps.ts passkey_enroll) and records it with the sign-in. */
  enroll(
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    authorization: AuthorizationRequest,
    progress: SignInProgress,
    user: User,
  ): Promise<FastifyReply>;
}

export function registerPasskeySignInRoutes(
  app: FastifyInstance,
  services: Services,
  kit: PasskeySignInKit,
): PasskeySteps {
  const { pageConfig, html, expired, formContext, csrfToken, proceed, openProgress, signIn } = kit;
  const { passkeys } = services;

  const json = (reply: FastifyReply, status: number, body: Record<string, unknown>) =>
    reply.code(status).header("cache-control", "no-store").type("application/json").send(body);

  /** Options cost a row: counted per network before anything is read (429 past the ceiling). */
  const throttled = async (
    request: FastifyRequest,
    reply: FastifyReply,
    locale: AuthorizationRequest["locale"] = DEFAULT_LOCALE,
  ) => {
    const verdict = await services.rateLimiter.consume(
      `passkey-options:ip:${clientNetwork(request.ip)}`,
      PASSKEY_OPTIONS_LIMIT,
    );
    if (verdict.allowed) return undefined;
    reply.header("retry-after", String(verdict.resetIn));
    return json(reply, 429, { error: t(locale, "form.too_many_from_network") });
  };

  // Options for a passkey alone: bound to this sign-in and this browser (its CSRF cookie).
  app.post<{ Body: Form }>("/auth/passkey/options", pageConfig, async (request, reply) => {
    const requestId = field(request.body, "request");
    const authorization = await services.pending.find(requestId);
    // The script shows `error` as it comes: in the sign-in's language (issue 20), else the browser's.
    const locale = authorization?.locale ?? requestLocale(request);
    if (!authorization || !signIn.csrfValid(request, request.body))
      return json(reply, 400, { error: t(locale, "passkey_sign_in.page_expired") });
    if ((await passkeys.policyBeforeSignIn(authorization.orgCode)) === "off")
      return json(reply, 403, { error: t(locale, "passkey_sign_in.off") });
    const refused = await throttled(request, reply, locale);
    if (refused) return refused;
    const options = await passkeys.signInOptions({ requestId, browser: signIn.browserBinding(request) });
    return json(reply, 200, { options });
  });

  app.post<{ Body: Form }>("/auth/passkey/sign-in", pageConfig, async (request, reply) => {
    const requestId = field(request.body, "request");
    const authorization = await services.pending.find(requestId);
    if (!authorization) return expired(reply);
    const locale = authorization.locale ?? DEFAULT_LOCALE;
    const again = (status: number, error: string) =>
      kit.signInPageWithError(request, reply, requestId, authorization, status, error);
    if (!signIn.csrfValid(request, request.body)) return again(403, t(locale, "form.session_expired"));
    if ((await passkeys.policyBeforeSignIn(authorization.orgCode)) === "off")
      return again(403, t(locale, "passkey_sign_in.off"));
    const verified = await passkeys.verifySignIn(
      field(request.body, "response"),
      { requestId, browser: signIn.browserBinding(request) },
      request.log,
    );
    const failed = (userId: string | undefined, status: number, message: string) => {
      services.authenticationLog.record(request, { type: "sign_in_failed", userId, method: "passkey" });
      services.metrics.signIn("failure");
      return again(status, message);
    };
    if (!verified.ok) {
      request.log.info({ event: "passkey_sign_in_failed", reason: verified.reason }, "passkey refused");
      // A genuine passkey of the account that failed to verify (a clone's, say) is the account's
      // failed sign-in: counted, and user.authentication_failed for its webhooks.
      if (verified.userId) await services.users.recordFailedSignIn(verified.userId);
      return failed(verified.userId, verified.status, pagePasskeyRefusal(locale, verified.message));
    }
    const user = await services.users.store.findById(verified.passkey.userId);
    // A suspended account's passkey gets the answer an unknown one does.
    if (!user || user.is_suspended === 1) return failed(user?.id, 400, t(locale, "passkey_sign_in.refused"));
    // The organizations this account belongs to may turn passkeys off for it.
    if ((await passkeys.policyFor(user.id, authorization.orgCode)) === "off")
      return failed(user.id, 403, t(locale, "passkey_sign_in.off"));
    const refusal = await organizationRefusal(services.oauth, authorization, user.id);
    if (refusal) return again(403, pageSignInRefusal(authorization.locale, refusal));
    // RFC 8176: the key (hwk/swk); with user verification it is also something known or been, so
    // two factors ("mfa"). Required for this ceremony, so always true here — checked, not assumed.
    const amr = verified.userVerified ? [verified.amr, "mfa"] : [verified.amr];
    request.log.info({ event: "sign_in", method: "passkey", userId: user.id }, "user signed in");
    services.metrics.signIn("success");
    return proceed(request, reply, requestId, authorization, user, amr);
  });

  // The second step's options: only while that step asks for a factor and offers a passkey.
  app.post<{ Body: Form }>("/auth/mfa/passkey/options", pageConfig, async (request, reply) => {
    const opened = await openProgress(request, request.body);
    if (!opened)
      return json(reply, 400, { error: t(requestLocale(request), "passkey_sign_in.page_expired_go_back") });
    const { user, authorization, progress, requestId } = opened;
    const locale = authorization.locale ?? DEFAULT_LOCALE;
    const requirement = await services.mfa.requirement(
      user,
      progress.amr,
      authorization.orgCode,
      authorization.requireMfa,
    );
    if (requirement?.kind !== "mfa_challenge" || !requirement.methods.includes("passkey"))
      return json(reply, 409, { error: t(locale, "passkey_sign_in.not_asked") });
    const refused = await throttled(request, reply, locale);
    if (refused) return refused;
    const options = await passkeys.secondFactorOptions(user.id, {
      requestId,
      browser: signIn.browserBinding(request),
    });
    return json(reply, 200, { options });
  });

  /** The sign-in waiting at "create a passkey", or undefined (any other step: never registers). */
  const openEnrolment = async (request: FastifyRequest, form: Form | undefined) => {
    const opened = await openProgress(request, form);
    if (!opened) return undefined;
    // Only when every step before it is done (an MFA challenge above all): a password alone must
    // never add a passkey, which would then sign in by itself with two factors.
    const step = await kit.stepOf(opened.user, opened.progress.amr, opened.authorization);
    return step.kind === "passkey_enroll" ? opened : undefined;
  };

  const enrollPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    opened: Pick<OpenedProgress, "requestId" | "authorization">,
    status: number,
    error?: string,
  ) => {
    const ctx = await formContext(opened.requestId, opened.authorization, csrfToken(request, reply));
    return html(reply, status, passkeyEnrollPage({ ...ctx, error }));
  };

  app.post<{ Body: Form }>("/auth/passkey/register/options", pageConfig, async (request, reply) => {
    const opened = await openEnrolment(request, request.body);
    if (!opened)
      return json(reply, 400, { error: t(requestLocale(request), "passkey_sign_in.page_expired_go_back") });
    const locale = opened.authorization.locale ?? DEFAULT_LOCALE;
    const refused = await throttled(request, reply, locale);
    if (refused) return refused;
    const { user, requestId } = opened;
    const name = [user.given_name, user.family_name].filter(Boolean).join(" ");
    const options = await passkeys.registrationOptions(
      { id: user.id, email: user.email, displayName: name },
      { requestId, browser: signIn.browserBinding(request) },
      (await services.business.name()) || "Latchkey",
    );
    if (!options) return json(reply, 409, { error: t(locale, "passkey_sign_in.too_many") });
    return json(reply, 200, { options });
  });

  app.post<{ Body: Form }>("/auth/passkey/register", pageConfig, async (request, reply) => {
    const opened = await openEnrolment(request, request.body);
    if (!opened) return expired(reply);
    const { user, requestId, authorization, progress } = opened;
    const saved = await passkeys.register(
      user.id,
      field(request.body, "response"),
      { requestId, browser: signIn.browserBinding(request) },
      { name: field(request.body, "name"), source: "user" },
    );
    if (!saved.ok)
      return enrollPage(
        request,
        reply,
        opened,
        saved.status,
        pagePasskeyRefusal(authorization.locale, saved.message),
      );
    request.log.info(
      { event: "passkey_added", userId: user.id, passkeyId: saved.passkey.id },
      "passkey added",
    );
    return proceed(request, reply, requestId, authorization, user, progress.amr);
  });

  return {
    async enroll(request, reply, requestId, authorization, progress, _user) {
      const recorded = await services.pending.recordProgress(requestId, authorization, progress);
      return enrollPage(request, reply, { requestId, authorization: recorded }, 200);
    },
  };
}
