// /account/passkeys (issue 22): a person lists, adds, renames and removes their own passkeys. Every
// request, reading included, needs the account pages' own sign-in (AccountSignIn.access: made for
// the account pages, within the last 15 minutes, with the second factor the account owns — ASVS
// 3.7.1: re-authenticate before changing how one signs in); without one the browser goes to the
// account pages' sign-in (/account/sign-in, which runs every step asked and comes back here). Forms carry the
// hosted pages' CSRF token; the passkey's ceremony is bound to the session that asked for it.

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AccountSignIn } from "../account/account-sign-in.js";
import { BrandingStore } from "../branding/branding.store.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { type NoValues, t } from "../i18n/catalogue.js";
import { requestLocale } from "../i18n/locale.js";
import { pagePasskeyRefusal } from "../i18n/problems.js";
import { withSecondFactor } from "../mfa/policy.js";
import type { Services } from "../services.js";
import { BrowserSignIn, type Form, field } from "../sign-in/browser-sign-in.js";
import { clientNetwork } from "../sign-in/rate-limit.js";
import type { BrowserSession } from "../sign-in/sessions.js";
import type { User } from "../users/users.store.js";
import { accountPasskeysPage } from "./account-passkeys-pages.js";
import { PASSKEY_OPTIONS_LIMIT } from "./passkey-sign-in.routes.js";

const RETURN = "/account/passkeys";
const SIGN_IN_AGAIN = `/account/sign-in?return=${encodeURIComponent(RETURN)}`;

const DONE: Record<string, NoValues> = {
  added: "account_passkeys.added",
  renamed: "account_passkeys.renamed",
  removed: "account_passkeys.removed",
};

interface Fresh {
  session: BrowserSession;
  user: User;
}

export function registerAccountPasskeyRoutes(
  app: FastifyInstance,
  services: Services,
  options: { https: boolean; secretBox: SecretBox },
): void {
  const signIn = new BrowserSignIn(services, { https: options.https, secretBox: options.secretBox });
  const page = { config: { surface: "page" as const } };
  const { passkeys } = services;
  // From the configuration cache, as on the sign-in pages (sign-in.routes.ts).
  const brandingStore = new BrandingStore(services.db);

  const accountSignIn = new AccountSignIn(services, signIn, options.secretBox, options.https);

  /**
   * The signed-in person, by the account pages' own rule (AccountSignIn.access): a session that
   * signed in to the account pages (so the authorization endpoint's rules applied to it, a
   * connection's admission included), recently, with the second factor its account owns.
   */
  const fresh = async (request: FastifyRequest): Promise<Fresh | undefined> => {
    const access = await accountSignIn.access(request);
    if (access.kind !== "signed_in" || !access.fresh || access.user.is_suspended === 1) return undefined;
    return { session: access.session, user: access.user };
  };

  const toSignIn = (reply: FastifyReply) => reply.code(303).header("location", SIGN_IN_AGAIN).send();

  const render = async (
    request: FastifyRequest,
    reply: FastifyReply,
    { user }: Fresh,
    /** The notice or error: a catalogue key (no values), or a message already in words. */
    shown: { status?: number; notice?: NoValues; error?: NoValues | { text: string } } = {},
  ) => {
    const locale = requestLocale(request);
    const error =
      shown.error && (typeof shown.error === "string" ? t(locale, shown.error) : shown.error.text);
    return reply
      .code(shown.status ?? 200)
      .type("text/html; charset=utf-8")
      .send(
        accountPasskeysPage({
          businessName: await services.business.name(),
          brand: await brandingStore.brand(),
          csrf: signIn.csrfToken(request, reply),
          locale,
          passkeys: await passkeys.store.list(user.id),
          enabled: (await passkeys.policyFor(user.id)) !== "off",
          notice: shown.notice && t(locale, shown.notice),
          error,
        }),
      );
  };

  /** A form's signed-in person, or undefined with the reply sent (403 without CSRF, or sign in again). */
  const forChange = async (request: FastifyRequest<{ Body: Form }>, reply: FastifyReply) => {
    const signedIn = await fresh(request);
    if (!signedIn) {
      await toSignIn(reply);
      return undefined;
    }
    if (!signIn.csrfValid(request, request.body)) {
      await render(request, reply, signedIn, {
        status: 403,
        error: "form.session_expired",
      });
      return undefined;
    }
    return signedIn;
  };

  app.get<{ Querystring: { done?: string } }>(RETURN, page, async (request, reply) => {
    const signedIn = await fresh(request);
    if (!signedIn) return reply.code(302).header("location", SIGN_IN_AGAIN).send();
    const done = request.query.done;
    return render(request, reply, signedIn, { notice: done ? DONE[done] : undefined });
  });

  const json = (reply: FastifyReply, status: number, body: Record<string, unknown>) =>
    reply.code(status).header("cache-control", "no-store").type("application/json").send(body);

  app.post<{ Body: Form }>(`${RETURN}/options`, page, async (request, reply) => {
    const signedIn = await fresh(request);
    if (!signedIn || !signIn.csrfValid(request, request.body))
      return json(reply, 400, { error: "Sign in again to add a passkey. Reload the page." });
    const { user, session } = signedIn;
    if ((await passkeys.policyFor(user.id)) === "off")
      return json(reply, 403, { error: "Passkeys are turned off here." });
    // Each answer writes a challenge: the sign-in pages' ceiling per network applies here too.
    const verdict = await services.rateLimiter.consume(
      `passkey-options:ip:${clientNetwork(request.ip)}`,
      PASSKEY_OPTIONS_LIMIT,
    );
    if (!verdict.allowed) {
      reply.header("retry-after", String(verdict.resetIn));
      return json(reply, 429, { error: "Too many attempts from your network. Try again later." });
    }
    const name = [user.given_name, user.family_name].filter(Boolean).join(" ");
    const options = await passkeys.registrationOptions(
      { id: user.id, email: user.email, displayName: name },
      { sessionId: session.id },
      (await services.business.name()) || "Latchkey",
    );
    if (!options) return json(reply, 409, { error: "You have as many passkeys as an account can hold." });
    return json(reply, 200, { options });
  });

  app.post<{ Body: Form }>(RETURN, page, async (request, reply) => {
    const signedIn = await forChange(request, reply);
    if (!signedIn) return reply;
    const { user, session } = signedIn;
    if ((await passkeys.policyFor(user.id)) === "off")
      return render(request, reply, signedIn, { status: 403, error: "account_passkeys.off" });
    const saved = await passkeys.register(
      user.id,
      field(request.body, "response"),
      { sessionId: session.id },
      { name: field(request.body, "name"), source: "user" },
    );
    if (!saved.ok)
      return render(request, reply, signedIn, {
        status: saved.status,
        error: { text: pagePasskeyRefusal(requestLocale(request), saved.message) },
      });
    // The ceremony proved the new passkey (RFC 8176: hwk device-bound, swk synced).
    const value = saved.passkey.deviceType === "multiDevice" ? "swk" : "hwk";
    await services.sessions.recordProof(session.id, withSecondFactor(session.amr, [value]));
    request.log.info(
      { event: "passkey_added", userId: user.id, passkeyId: saved.passkey.id },
      "passkey added",
    );
    return reply.code(303).header("location", `${RETURN}?done=added`).send();
  });

  app.post<{ Body: Form; Params: { id: string } }>(`${RETURN}/:id/rename`, page, async (request, reply) => {
    const signedIn = await forChange(request, reply);
    if (!signedIn) return reply;
    const renamed = await passkeys.rename(signedIn.user.id, request.params.id, field(request.body, "name"));
    if (!renamed)
      return render(request, reply, signedIn, { status: 400, error: "account_passkeys.name_needed" });
    return reply.code(303).header("location", `${RETURN}?done=renamed`).send();
  });

  app.post<{ Body: Form; Params: { id: string } }>(`${RETURN}/:id/remove`, page, async (request, reply) => {
    const signedIn = await forChange(request, reply);
    if (!signedIn) return reply;
    const { user, session } = signedIn;
    const removed = await passkeys.remove(user.id, request.params.id, {
      keepSessionId: session.id,
      source: "user",
    });
    if (!removed) return render(request, reply, signedIn, { status: 404, error: "account_passkeys.gone" });
    request.log.info({ event: "passkey_removed", userId: user.id, passkeyId: removed.id }, "passkey removed");
    return reply.code(303).header("location", `${RETURN}?done=removed`).send();
  });
}
