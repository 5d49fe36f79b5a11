// Signing in through a connection (issue 17): the browser goes to the connection's provider and
// comes back to one callback for all connections; what the provider proves (a validated ID token,
// or for plain OAuth 2.0 the userinfo answer) identifies an external identity, which finds, links or
// creates the user, and the sign-in continues through proceed() like every other proof (steps.ts).
//
//   GET  /auth/connections/{connection_id}?request=…   start (state, nonce, PKCE; see upstream-state.ts)
//   GET  /auth/connections/callback                     the provider's answer (RFC 6749 §4.1.2)
//   POST /auth/connections/callback                     the same, response_mode=form_post
//
// Accounts (docs/security.md, "One mailbox, one account"):
// - (connection, sub) already linked → that user.
// - Otherwise an address the provider vouches for (email_verified AND the connection is_trusted)
//   that an account already has, verified → linked; never an administrator's (issue 15), never an
//   account whose own address was never proved (someone could have signed up with another's
//   address and a password of their own: linking would hand them the provider user's sign-ins).
// - An address not vouched for that a non-administrator account has, or one whose account never
//   proved it → linked only after an e-mail code sent there comes back (connection-email-proof.ts).
// - An administrator's address, or a suspended account's → refused with a page.
// - A new address (or none) → a new user, just in time, where self sign-up is allowed and the
//   connection creates missing users (connection-accounts.ts, which also applies the connection's
//   auto-join and profile sync).
// - No address from a provider that never tells one (X: the catalog's asksForEmail) → the person
//   types one and proves it with an e-mail code, then as above (connection-email-proof.ts).
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { BrandingStore } from "../branding/branding.store.js";
import type { SignInConnection } from "../connections/connections.service.js";
import { randomToken } from "../crypto/random.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { page, html as safe } from "../http/html.js";
import { t } from "../i18n/catalogue.js";
import { DEFAULT_LOCALE, type Locale, requestLocale } from "../i18n/locale.js";
import { type AuthorizationRequest, organizationRefusal } from "../oauth/authorize.js";
import { newCodeVerifier } from "../outbound/oauth-client.js";
import type { Services } from "../services.js";
import { canonicalEmail, emailProblem } from "../users/email.js";
import { ExternalIdentitiesStore, type ExternalIdentityRow } from "../users/external-identities.store.js";
import { type User, uniqueViolation } from "../users/users.store.js";
import type { Form } from "./browser-sign-in.js";
import { field } from "./browser-sign-in.js";
import {
  administratorRefusal,
  cannotSignInHere,
  createConnectionAccount,
  identityOf,
  optionGone,
  syncProfile,
  tryAgain,
} from "./connection-accounts.js";
import {
  EmailAddressNeeded,
  EmailProofNeeded,
  registerConnectionEmailProof,
  type SignInBasics,
} from "./connection-email-proof.js";
import { registerConnectionSso, routedByDomain, SSO_ENTRY } from "./connection-sso.js";
import { registerConnectionTest } from "./connection-test.js";
import type { ConnectionButton } from "./pages.js";
import { registerProviderLogoRoutes } from "./provider-logos.js";
import { loadSignInProviders, type SignInProviderDefinition } from "./upstream-catalog.js";
import {
  SIGN_IN_STRATEGIES,
  type UpstreamProfile,
  UpstreamProviders,
  UpstreamRefusal,
} from "./upstream-providers.js";
import { UpstreamStates } from "./upstream-state.js";

/** RFC 8176 lists no value for "signed in at another provider"; Latchkey's own, as Kinde has none. */
export const EXTERNAL_AMR = "ext";
const CONNECTION_ID = /^conn_[0-9a-f]{32}$/;

/** The callback URL every provider is registered with (one for all connections). */
export const connectionCallbackUrl = (issuer: string) => `${issuer}/auth/connections/callback`;

/** The connections the sign-in pages offer for this request (those whose sign-in is built). */
export async function offeredConnections(
  services: Services,
  authorization: Pick<AuthorizationRequest, "clientId" | "orgCode">,
): Promise<SignInConnection[]> {
  const enabled = await services.connections.enabledFor(
    authorization.clientId,
    authorization.orgCode ?? null,
  );
  return enabled.filter((c) => SIGN_IN_STRATEGIES.has(c.strategy));
}

/**
 * The buttons of the sign-in and sign-up pages: each offered connection, except those home-realm
 * discovery reaches by their domains (connection-sso.ts), which share one "single sign-on" entry.
 */
export async function connectionButtonsFor(
  services: Services,
  authorization: Pick<AuthorizationRequest, "clientId" | "orgCode" | "locale">,
): Promise<ConnectionButton[]> {
  const offered = await offeredConnections(services, authorization);
  const buttons: ConnectionButton[] = offered
    .filter((c) => !routedByDomain(c))
    .map((c) => ({ id: c.id, displayName: c.displayName, strategy: c.strategy }));
  if (offered.some(routedByDomain))
    buttons.push({
      id: SSO_ENTRY,
      displayName: t(authorization.locale ?? DEFAULT_LOCALE, "connection.sso_button"),
      strategy: "oidc:custom",
    });
  return buttons;
}

/**
 * Where /oauth2/auth sends the browser instead of the sign-in page, if anywhere: the connection
 * named by Kinde's connection_id (the start route refuses one not enabled for the app, showing the
 * sign-in page: only our own path is ever the target, so no id opens a redirect elsewhere), or the
 * connection owning login_hint's domain (home-realm discovery) when it is offered to this app.
 */
export async function upstreamShortcut(
  services: Services,
  authorization: AuthorizationRequest,
  requestId: string,
): Promise<string | undefined> {
  const start = (id: string) => `/auth/connections/${id}?request=${encodeURIComponent(requestId)}`;
  if (authorization.connectionId) return start(authorization.connectionId);
  const hint = authorization.loginHint;
  const at = hint?.lastIndexOf("@") ?? -1;
  if (!hint || at < 1 || hint.startsWith("phone:") || hint.startsWith("username:")) return undefined;
  const owner = await services.connections.byHomeRealmDomain(hint.slice(at + 1));
  if (!owner) return undefined;
  const offered = await offeredConnections(services, authorization);
  return offered.some((c) => c.id === owner.id) ? start(owner.id) : undefined;
}

/** What the connection routes need (SignInBasics' emailCode: the codes that prove an address first). */
export interface ConnectionSignInDeps extends SignInBasics {
  secretBox: SecretBox;
  /** Social sign-in providers (upstream-catalog.ts; CONNECTION_PROVIDERS_FILE's endpoints). */
  signInProviders?: ReadonlyMap<string, SignInProviderDefinition>;
  /** The sign-in page again, with an error (a connection that cannot be used for this request). */
  signInPageWithError: (
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    authorization: AuthorizationRequest,
    status: number,
    error: string,
  ) => Promise<unknown>;
}

export function registerConnectionSignInRoutes(
  app: FastifyInstance,
  services: Services,
  deps: ConnectionSignInDeps,
): void {
  const { pageConfig, html, signIn } = deps;
  registerProviderLogoRoutes(app);
  const states = new UpstreamStates(services.db, deps.secretBox, services.clock);
  const issuer = services.oauth.issuer;
  const callbackUrl = connectionCallbackUrl(issuer);
  // The provider side (endpoints, authorization request, code exchange, verified profile).
  const providers = new UpstreamProviders({
    allowPrivateNetworks: services.connectedApps.options.allowPrivateNetworks,
    clock: services.clock,
    callbackUrl,
    openClientSecret: (connection) => services.connections.openClientSecret(connection) ?? undefined,
    definitions: deps.signInProviders ?? loadSignInProviders(),
  });

  /** `locale`: the language the refusal was written in (the sign-in's, else the browser's). */
  const refusalPage = async (
    reply: FastifyReply,
    refusal: UpstreamRefusal,
    locale: Locale,
    requestId?: string,
  ) => {
    const back = requestId
      ? safe`<p class="switch"><a href="/auth/sign-in?request=${encodeURIComponent(requestId)}">${t(locale, "form.back_to_sign_in")}</a></p>`
      : safe`<p class="switch">${t(locale, "sign_in.expired_message")}</p>`;
    return html(
      reply,
      refusal.status,
      page({
        title: refusal.title,
        lang: locale,
        businessName: await services.business.name(),
        // The environment's brand, from the configuration cache (as sign-in.routes.ts reads it).
        brand: await new BrandingStore(services.db).brand(),
        body: safe`<h1>${refusal.title}</h1><p class="error" role="alert">${refusal.detail}</p>${back}`,
      }),
    );
  };

  /** The connection, when this request may use it (enabled for its app and org, sign-in built). */
  const usable = async (id: string, authorization: AuthorizationRequest) => {
    if (!CONNECTION_ID.test(id)) return undefined;
    const offered = await offeredConnections(services, authorization);
    return offered.find((c) => c.id === id);
  };

  const connectionTest = registerConnectionTest(app, services, {
    pageConfig,
    html,
    signIn,
    states,
    providers,
  });

  registerConnectionSso(app, services, {
    pageConfig,
    html,
    expired: deps.expired,
    formContext: deps.formContext,
    signIn,
    offered: (authorization) => offeredConnections(services, authorization),
  });

  // An address not vouched for: proved by an e-mail code before linking (connection-email-proof.ts).
  const emailProof = registerConnectionEmailProof(app, services, {
    pageConfig,
    html,
    expired: deps.expired,
    formContext: deps.formContext,
    signIn,
    emailCode: deps.emailCode,
    proceed: deps.proceed,
    usable,
    refusalPage,
    externalAmr: EXTERNAL_AMR,
  });

  /** An enabled connection whose strategy cannot sign in yet, and why (for the log). */
  const notSupported = async (id: string, authorization: AuthorizationRequest) => {
    if (!CONNECTION_ID.test(id)) return undefined;
    const enabled = await services.connections.enabledFor(
      authorization.clientId,
      authorization.orgCode ?? null,
    );
    const connection = enabled.find((c) => c.id === id);
    const why = connection && providers.notSupported(connection.strategy);
    return connection && why ? { id, displayName: connection.displayName, why } : undefined;
  };

  // ---- start ------------------------------------------------------------------------------------

  app.get<{ Params: { connection_id: string }; Querystring: Form }>(
    "/auth/connections/:connection_id",
    pageConfig,
    async (request, reply) => {
      const requestId = field(request.query, "request");
      const authorization = await services.pending.find(requestId);
      if (!authorization) return deps.expired(reply);
      const connection = await usable(request.params.connection_id, authorization);
      if (!connection) {
        // Enabled here but a strategy whose sign-in is not built (upstream-catalog.ts): say so.
        const unbuilt = await notSupported(request.params.connection_id, authorization);
        if (unbuilt) {
          request.log.info(
            { event: "connection_sign_in_refused", connectionId: unbuilt.id, reason: "not_supported" },
            unbuilt.why,
          );
          return deps.signInPageWithError(
            request,
            reply,
            requestId,
            authorization,
            400,
            t(localeOf(request, authorization), "connection.not_supported", {
              provider: unbuilt.displayName,
            }),
          );
        }
        return deps.signInPageWithError(
          request,
          reply,
          requestId,
          authorization,
          400,
          t(localeOf(request, authorization), "connection.not_available"),
        );
      }
      let prepared: Awaited<ReturnType<UpstreamProviders["prepare"]>>;
      try {
        prepared = await providers.prepare(request.log, connection, localeOf(request, authorization));
      } catch (error) {
        if (error instanceof UpstreamRefusal)
          return refusalPage(reply, error, localeOf(request, authorization), requestId);
        throw error;
      }
      // The CSRF cookie is what binds the state to this browser (set now if it has none).
      const browser = signIn.browserBindingOf(signIn.csrfToken(request, reply));
      const nonce = randomToken();
      const codeVerifier = newCodeVerifier();
      const state = await states.create({
        requestId,
        connectionId: connection.id,
        issuer: prepared.issuer,
        nonce,
        codeVerifier,
        browser,
      });
      const location = prepared.authorizationRequest({ state, nonce, codeVerifier });
      request.log.info(
        { event: "connection_sign_in_started", connectionId: connection.id },
        "sign-in sent to provider",
      );
      return reply.code(302).header("location", location).send();
    },
  );

  // ---- callback ---------------------------------------------------------------------------------

  app.get<{ Querystring: Form }>("/auth/connections/callback", pageConfig, (request, reply) =>
    callback(request, reply, request.query ?? {}),
  );

  // response_mode=form_post (Apple and others): the provider's page posts here from its own origin,
  // so this route alone is exempt from the same-origin form rule (form-origin.ts) — and only with a
  // live state of ours. SameSite=Lax cookies do not come with that cross-site POST, so the answer is
  // carried to the GET above by a 303 (a top-level GET carries them), where the state is used up
  // and the browser checked as for any callback.
  app.post<{ Body: Form }>(
    "/auth/connections/callback",
    { config: { ...pageConfig.config, acceptsCrossSitePosts: true } },
    async (request, reply) => {
      const body = request.body ?? {};
      const state = field(body, "state");
      if (!state || !(await states.isLive(state))) {
        // No sign-in to take the language from: the browser's (issue 20).
        const locale = requestLocale(request);
        return refusalPage(
          reply,
          new UpstreamRefusal(
            400,
            t(locale, "connection.expired_title"),
            t(locale, "connection.sign_in_again"),
          ),
          locale,
        );
      }
      const query = new URLSearchParams();
      // `user`: Apple's name of the person, sent only in this POST at the first sign-in.
      for (const name of ["state", "code", "error", "error_description", "iss", "user"]) {
        const value = field(body, name);
        if (value) query.set(name, value.slice(0, 4096));
      }
      return reply.code(303).header("location", `/auth/connections/callback?${query}`).send();
    },
  );

  const callback = async (request: FastifyRequest, reply: FastifyReply, params: Form) => {
    const state = field(params, "state");
    // Used up first, whatever follows: a state answers one callback, good or bad (RFC 9700 §4.7).
    const minted = state ? await states.consume(state) : undefined;
    if (!minted) {
      const locale = requestLocale(request);
      return refusalPage(
        reply,
        new UpstreamRefusal(
          400,
          t(locale, "connection.expired_or_used_title"),
          t(locale, "connection.sign_in_again"),
        ),
        locale,
      );
    }
    const { requestId } = minted;
    // Only the browser that started this sign-in may finish it (RFC 9700 §4.7.1: CSRF on the callback).
    if (minted.browser !== signIn.browserBinding(request)) {
      request.log.info(
        { event: "connection_sign_in_refused", reason: "browser" },
        "callback from another browser",
      );
      const locale = requestLocale(request);
      return refusalPage(
        reply,
        new UpstreamRefusal(
          403,
          t(locale, "connection.other_browser_title"),
          t(locale, "connection.other_browser"),
        ),
        locale,
      );
    }
    // An administrator's test: checked as a sign-in, then only shown (connection-test.ts).
    if (minted.purpose === "test") return connectionTest.finish(request, reply, minted, params);
    const authorization = await services.pending.find(requestId);
    if (!authorization) return deps.expired(reply);
    const locale = localeOf(request, authorization);
    const connection = await usable(minted.connectionId, authorization);
    if (!connection) return refusalPage(reply, optionGone(locale), locale, requestId);
    try {
      const profile = await providers.finish(request.log, connection, minted, params, locale);
      const { user, identity } = await accountFor(request, connection, authorization, profile);
      // Kept with the request so the session it ends in is marked (sessions.create): ext_provider.
      const through = { ...authorization, externalIdentityId: identity.id };
      await services.pending.recordProgress(requestId, through, authorization.signInProgress);
      request.log.info(
        { event: "connection_sign_in", connectionId: connection.id, userId: user.id },
        "signed in through a connection",
      );
      return deps.proceed(request, reply, requestId, through, user, [EXTERNAL_AMR]);
    } catch (error) {
      if (error instanceof EmailProofNeeded)
        return emailProof.start(request, reply, requestId, authorization, connection, error);
      if (error instanceof EmailAddressNeeded)
        return emailProof.ask(request, reply, requestId, authorization, connection, error.profile);
      if (error instanceof UpstreamRefusal) return refusalPage(reply, error, locale, requestId);
      throw error;
    }
  };

  /** The user this profile signs in (found, linked or created), and its external identity. */
  const accountFor = async (
    request: FastifyRequest,
    connection: SignInConnection,
    authorization: AuthorizationRequest,
    profile: UpstreamProfile,
  ): Promise<{ user: User; identity: ExternalIdentityRow }> => {
    const identities = new ExternalIdentitiesStore(services.db);
    const now = services.clock.now();
    const locale = authorization.locale ?? DEFAULT_LOCALE;
    const known = await identities.bySubject(connection.id, profile.subject);
    if (known) return signInKnown(request, connection, authorization, profile, known);

    const vouched = profile.emailVerified && connection.options.is_trusted === true;
    const email = profile.email && !emailProblem(profile.email) ? canonicalEmail(profile.email) : null;
    const existing = email ? await services.users.store.findByEmail(email) : undefined;
    if (existing) {
      // Issue 15: an administrator's account is never taken over by a provider's word, vouched or not.
      if (existing.is_admin === 1) throw administratorRefusal(locale);
      if (existing.is_suspended === 1) {
        throw new UpstreamRefusal(
          409,
          t(locale, "connection.have_account_title"),
          t(locale, "connection.have_account_not_linked", { provider: connection.displayName }),
        );
      }
      const refusal = await organizationRefusal(services.oauth, authorization, existing.id);
      if (refusal) throw cannotSignInHere(locale, refusal);
      // Not vouched for, or an account that never proved the address: its mailbox decides.
      if (!vouched || existing.email_verified !== 1) throw new EmailProofNeeded(existing, profile);
      const identity = await insertIdentity(existing.id, connection, profile, now);
      if (!identity) return retryKnown(request, connection, authorization, profile);
      request.log.info(
        { event: "identity_linked", connectionId: connection.id, userId: existing.id },
        "provider account linked by verified email",
      );
      return { user: await syncProfile(services, connection, existing, profile.claims), identity };
    }

    // A provider that never tells an address (X): the person gives one and proves it first.
    if (!email && providers.asksForEmail(connection.strategy)) throw new EmailAddressNeeded(profile);
    // A new person: self sign-up rules as on the sign-up page (sign-in.routes.ts).
    const account = await createConnectionAccount(services, connection, authorization, profile, {
      email,
      verified: vouched,
    });
    if (!account.created) return retryKnown(request, connection, authorization, profile);
    request.log.info(
      { event: "sign_up", method: "connection", connectionId: connection.id, userId: account.user.id },
      "user created at first sign-in through a connection",
    );
    return account;
  };

  const insertIdentity = async (
    userId: string,
    connection: SignInConnection,
    profile: UpstreamProfile,
    now: number,
  ): Promise<ExternalIdentityRow | undefined> => {
    try {
      return await new ExternalIdentitiesStore(services.db).insert(
        identityOf(userId, connection, profile, now),
      );
    } catch (error) {
      if (uniqueViolation(error)) return undefined;
      throw error;
    }
  };

  const retryKnown = async (
    request: FastifyRequest,
    connection: SignInConnection,
    authorization: AuthorizationRequest,
    profile: UpstreamProfile,
  ) => {
    const known = await new ExternalIdentitiesStore(services.db).bySubject(connection.id, profile.subject);
    if (!known) throw tryAgain(authorization.locale ?? DEFAULT_LOCALE);
    return signInKnown(request, connection, authorization, profile, known);
  };

  const signInKnown = async (
    _request: FastifyRequest,
    connection: SignInConnection,
    authorization: AuthorizationRequest,
    profile: UpstreamProfile,
    known: ExternalIdentityRow,
  ): Promise<{ user: User; identity: ExternalIdentityRow }> => {
    const locale = authorization.locale ?? DEFAULT_LOCALE;
    const user = await services.users.store.findById(known.user_id);
    if (!user || user.is_suspended === 1) {
      throw new UpstreamRefusal(
        403,
        t(locale, "connection.account_cannot_sign_in_title"),
        t(locale, "connection.contact_admin"),
      );
    }
    // An administrator never signs in through a provider, even one linked to the account: the link
    // may predate the promotion (made when linking by address was allowed for the account), and the
    // provider's word would then reach the Management API (docs/security.md).
    if (user.is_admin === 1) throw administratorRefusal(locale);
    const refusal = await organizationRefusal(services.oauth, authorization, user.id);
    if (refusal) throw cannotSignInHere(locale, refusal);
    await new ExternalIdentitiesStore(services.db).recordSignIn(known.id, {
      email: profile.email,
      emailVerified: profile.emailVerified,
      claims: profile.claims,
      now: services.clock.now(),
    });
    return { user: await syncProfile(services, connection, user, profile.claims), identity: known };
  };
}

/** The sign-in's language, kept with its request; the browser's for one begun before languages. */
function localeOf(request: FastifyRequest, authorization: AuthorizationRequest): Locale {
  return authorization.locale ?? requestLocale(request);
}
