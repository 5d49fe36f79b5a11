// /device: the verification page of the device authorization grant (RFC 8628 §3.3, Kinde's
// `verification_uri`). A signed-in person (device-sign-in.ts) types the code the device shows — or
// arrives with it from `verification_uri_complete` — sees which application asks and for what,
// and approves or denies; the device hears the answer at its next poll (grants/device_code.ts).
//
// Every form carries the hosted pages' double-submit CSRF token and, being page routes, passes
// form-origin.ts's Fetch Metadata check. Looking a code up is counted before it is made, per
// account and per network (§5.1: user codes are short enough to guess without a limit).
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { BrandingStore } from "../branding/branding.store.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { errorPage } from "../http/html.js";
import { type NoValues, t, wait as waitWords } from "../i18n/catalogue.js";
import { type Locale, requestLocale } from "../i18n/locale.js";
import {
  deviceOrganization,
  findDeviceRequest,
  normalizeUserCode,
  type PendingDeviceRequest,
  recordDeviceDecision,
} from "../oauth/device.js";
import { splitScope } from "../oauth/scopes.js";
import type { Services } from "../services.js";
import { BrowserSignIn, type Form, field } from "./browser-sign-in.js";
import { deviceConfirmPage, deviceDonePage, deviceEntryPage, deviceSignInAgainPage } from "./device-pages.js";
import { type DeviceAccess, DeviceSignIn } from "./device-sign-in.js";
import { callbackQuery } from "./first-party-sign-in.js";
import { clientNetwork } from "./rate-limit.js";
import type { SignInPolicy } from "./steps.js";

/** Codes looked up per account: a person mistypes a few; a guesser needs billions. */
export const DEVICE_CODE_LIMITS = {
  perUser: { max: 20, windowSeconds: 15 * 60 },
  perNetwork: { max: 60, windowSeconds: 15 * 60 },
} as const;

type SignedIn = Extract<DeviceAccess, { kind: "signed_in" }>;

export function registerDeviceRoutes(
  app: FastifyInstance,
  services: Services,
  options: {
    https: boolean;
    secretBox: SecretBox;
    signInDailyLimitPerAddress?: number;
    policy: SignInPolicy;
  },
): void {
  const signIn = new BrowserSignIn(services, options);
  const deviceSignIn = new DeviceSignIn(services, signIn, options.https, options.policy);
  const page = { config: { surface: "page" as const } };
  // From the configuration cache, as on the sign-in pages (sign-in.routes.ts): no query per page.
  const brandingStore = new BrandingStore(services.db);

  const html = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).header("cache-control", "no-store").type("text/html; charset=utf-8").send(body);
  /** An error page in the request's language: `message` already in it, or a catalogue key. */
  const problem = async (
    reply: FastifyReply,
    status: number,
    title: NoValues,
    /** Words already written, in `locale` when they name one (the page then speaks it). */
    message: NoValues | { text: string; locale?: Locale },
  ) => {
    const locale = (typeof message === "object" ? message.locale : undefined) ?? requestLocale(reply.request);
    const text = typeof message === "string" ? t(locale, message) : message.text;
    return html(
      reply,
      status,
      errorPage(t(locale, title), text, await services.business.name(), locale, await brandingStore.brand()),
    );
  };

  /** Off to sign in, back at /device (with the code, when it is well-formed) afterwards. */
  const toSignIn = async (
    reply: FastifyReply,
    typed: string,
    status: 302 | 303,
    fresh?: { orgCode: string | null; loginHint?: string },
  ) => {
    const code = normalizeUserCode(typed);
    const returnTo = code ? `/device?user_code=${code.slice(0, 4)}-${code.slice(4)}` : "/device";
    const sent = await deviceSignIn.start(reply, { returnTo, status, fresh });
    return sent ?? problem(reply, 503, "device.unavailable_title", "device.unavailable_message");
  };

  /** This browser's signed-in person, or undefined once the browser is sent to sign in. */
  const signedIn = async (
    request: FastifyRequest,
    reply: FastifyReply,
    typed: string,
    status: 302 | 303,
  ): Promise<SignedIn | undefined> => {
    const access = await deviceSignIn.access(request);
    if (access.kind === "signed_in") return access;
    await toSignIn(reply, typed, status);
    return undefined;
  };

  const expired = (reply: FastifyReply) =>
    problem(reply, 403, "device.expired_title", "device.expired_message");

  const common = async (request: FastifyRequest, reply: FastifyReply, access: SignedIn) => ({
    businessName: await services.business.name(),
    csrf: signIn.csrfToken(request, reply),
    email: access.user.email ?? access.user.username ?? access.user.id,
    locale: requestLocale(request),
    brand: await brandingStore.brand(),
  });

  /**
   * The request behind a typed code, counted first (so parallel guesses cannot slip past); a reply
   * already sent (429) when over a limit.
   */
  const lookUp = async (
    request: FastifyRequest,
    reply: FastifyReply,
    access: SignedIn,
    typed: string,
  ): Promise<{ found?: PendingDeviceRequest; sent?: FastifyReply }> => {
    const limiter = services.rateLimiter;
    const verdicts = await Promise.all([
      limiter.consume(`device-code:user:${access.user.id}`, DEVICE_CODE_LIMITS.perUser),
      limiter.consume(`device-code:ip:${clientNetwork(request.ip)}`, DEVICE_CODE_LIMITS.perNetwork),
    ]);
    const blocked = verdicts.filter((v) => !v.allowed);
    if (blocked.length > 0) {
      const wait = Math.max(...blocked.map((v) => v.resetIn));
      reply.header("retry-after", String(wait));
      return {
        sent: await html(
          reply,
          429,
          deviceEntryPage({
            ...(await common(request, reply, access)),
            value: typed.slice(0, 32),
            error: t(requestLocale(request), "device.too_many", {
              wait: waitWords(requestLocale(request), wait),
            }),
          }),
        ),
      };
    }
    return { found: await findDeviceRequest(services.oauth, typed) };
  };

  const notFound = async (request: FastifyRequest, reply: FastifyReply, access: SignedIn, typed: string) =>
    html(
      reply,
      400,
      deviceEntryPage({
        ...(await common(request, reply, access)),
        value: typed.slice(0, 32),
        error: t(requestLocale(request), "device.not_found"),
      }),
    );

  const confirm = async (
    request: FastifyRequest,
    reply: FastifyReply,
    access: SignedIn,
    found: PendingDeviceRequest,
  ) =>
    html(
      reply,
      200,
      deviceConfirmPage({
        ...(await common(request, reply, access)),
        userCode: found.userCode,
        applicationName: found.client.name,
        scopes: splitScope(found.code.scope),
        audiences: found.code.audience,
      }),
    );

  /** The page for a typed code: what it asks to approve, or why there is nothing to approve. */
  const show = async (request: FastifyRequest, reply: FastifyReply, access: SignedIn, typed: string) => {
    const { found, sent } = await lookUp(request, reply, access, typed);
    if (sent) return sent;
    return found ? confirm(request, reply, access, found) : notFound(request, reply, access, typed);
  };

  app.get<{ Querystring: { user_code?: unknown } }>("/device", page, async (request, reply) => {
    const typed = typeof request.query.user_code === "string" ? request.query.user_code : "";
    const access = await signedIn(request, reply, typed, 302);
    if (!access) return reply;
    if (typed === "") return html(reply, 200, deviceEntryPage(await common(request, reply, access)));
    return show(request, reply, access, typed);
  });

  app.post<{ Body: Form }>("/device", page, async (request, reply) => {
    const typed = field(request.body, "user_code");
    if (!signIn.csrfValid(request, request.body)) return expired(reply);
    const access = await signedIn(request, reply, typed, 303);
    if (!access) return reply;
    return show(request, reply, access, typed);
  });

  app.post<{ Body: Form }>("/device/decision", page, async (request, reply) => {
    const typed = field(request.body, "user_code");
    const decision = field(request.body, "decision");
    if (!signIn.csrfValid(request, request.body)) return expired(reply);
    if (decision !== "approve" && decision !== "deny")
      return problem(reply, 400, "device.choose_title", "device.expired_message");
    const access = await signedIn(request, reply, typed, 303);
    if (!access) return reply;
    const { found, sent } = await lookUp(request, reply, access, typed);
    if (sent) return sent;
    if (!found) return notFound(request, reply, access, typed);
    const { user, session } = access;
    const businessName = await services.business.name();
    const applicationName = found.client.name;
    const locale = requestLocale(request);

    if (decision === "deny") {
      // Saying no needs no more proof than the session: it only takes a chance away.
      await recordDeviceDecision(services.oauth, typed, { approve: false, userId: user.id });
      request.log.info(
        { event: "device_denied", userId: user.id, clientId: found.client.id },
        "device denied",
      );
      const brand = await brandingStore.brand();
      return html(
        reply,
        200,
        deviceDonePage({ businessName, approved: false, applicationName, locale, brand }),
      );
    }
    const entered = await deviceOrganization(services.oauth, user.id);
    if ("refused" in entered) {
      return problem(
        reply,
        403,
        "device.refused_title",
        entered.refused === "suspended" ? "device.org_suspended" : "device.no_org",
      );
    }
    // As a silent sign-in to the device's application would be judged (device-sign-in.ts).
    if (!(await deviceSignIn.admits(access, found.client.id, entered.orgCode))) {
      return html(
        reply,
        200,
        deviceSignInAgainPage({
          ...(await common(request, reply, access)),
          userCode: found.userCode,
          applicationName,
        }),
      );
    }
    const recorded = await recordDeviceDecision(services.oauth, typed, {
      approve: true,
      userId: user.id,
      orgCode: entered.orgCode,
      authTime: session.authTime,
    });
    if (!recorded) return notFound(request, reply, access, typed);
    request.log.info(
      { event: "device_approved", userId: user.id, clientId: found.client.id },
      "device approved",
    );
    // The organization the device is now signed into brands the answer (RFC 8628 gives the request none).
    const brand = await brandingStore.brand(entered.orgCode ?? undefined);
    return html(reply, 200, deviceDonePage({ businessName, approved: true, applicationName, locale, brand }));
  });

  // A new proof for this session (the "sign in again" page): prompt=login, under the organization
  // the approval would enter, so its second-factor policy is the one the sign-in pages apply.
  app.post<{ Body: Form }>("/device/sign-in", page, async (request, reply) => {
    const typed = field(request.body, "user_code");
    if (!signIn.csrfValid(request, request.body)) return expired(reply);
    const access = await signedIn(request, reply, typed, 303);
    if (!access) return reply;
    const entered = await deviceOrganization(services.oauth, access.user.id);
    const orgCode = "refused" in entered ? null : entered.orgCode;
    return toSignIn(reply, typed, 303, { orgCode, loginHint: access.user.email ?? undefined });
  });

  app.get<{ Querystring: Record<string, unknown> }>("/device/callback", page, async (request, reply) => {
    const outcome = await deviceSignIn.callback(request, reply, callbackQuery(request.query));
    if (!outcome.ok)
      return problem(reply, 400, "device.incomplete_title", {
        text: outcome.message,
        locale: outcome.locale,
      });
    return reply.code(302).header("location", outcome.returnTo).send();
  });
}
