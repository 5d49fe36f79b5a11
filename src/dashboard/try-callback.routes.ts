// GET /admin/try-callback: where a "Try sign-in" comes back (applications/try-sign-in.ts). The
// ticket is checked (ours, unexpired, this browser's) and used up, then Latchkey redeems the code
// itself — the only party that can: the token endpoint never admits this callback — and shows the
// ID and access tokens' claims. The tokens are not shown, stored or logged: a try asks for no
// refresh token, and the page is no-store.

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { decodeJwt, type JWTPayload } from "jose";
import {
  TRY_CALLBACK_PATH,
  TRY_TICKET_LIFETIME_SECONDS,
  TrySignInTickets,
  tryCookieName,
} from "../applications/try-sign-in.js";
import { html, page, type SafeHtml } from "../http/html.js";
import { OAuthError } from "../oauth/errors.js";
import { authorizationCodeGrant } from "../oauth/grants/authorization_code.js";
import { Params } from "../oauth/params.js";
import type { Services } from "../services.js";

type Query = Record<string, string | string[] | undefined>;

/** One text value of the query, or undefined (repeated or absent). */
function one(query: Query, name: string): string | undefined {
  const value = query[name];
  return typeof value === "string" && value.length <= 4096 ? value : undefined;
}

function claimRows(claims: JWTPayload): SafeHtml {
  const rows = Object.entries(claims)
    .slice(0, 80)
    .map(([name, value]) => {
      const text = typeof value === "string" ? value : JSON.stringify(value);
      return html`<tr><th scope="row">${name.slice(0, 100)}</th><td>${text.slice(0, 2000)}</td></tr>`;
    });
  return html`${rows}`;
}

function claimsTable(caption: string, claims: JWTPayload): SafeHtml {
  return html`<div class="claims" role="region" aria-label="${caption}" tabindex="0"><table>
<caption>${caption}</caption>
<thead><tr><th scope="col">Claim</th><th scope="col">Value</th></tr></thead>
<tbody>${claimRows(claims)}</tbody>
</table></div>`;
}

export function registerTryCallbackRoute(app: FastifyInstance, services: Services): void {
  const config = { config: { surface: "page" as const } };
  const cookie = tryCookieName(services.oauth.issuer.startsWith("https:"));

  const show = (reply: FastifyReply, status: number, title: string, body: SafeHtml) =>
    reply
      .code(status)
      .header("cache-control", "no-store")
      .header("referrer-policy", "no-referrer")
      .type("text/html; charset=utf-8")
      .send(page({ title, body: html`<h1>${title}</h1>${body}` }));

  const refuse = (reply: FastifyReply, status: number, message: string, applicationId?: string) =>
    show(
      reply,
      status,
      "Try sign-in did not work",
      html`<p class="error" role="alert">${message}</p>
<p><a href="${applicationId ? `/admin/applications/${encodeURIComponent(applicationId)}` : "/admin/applications"}">Back to the dashboard</a>, and start Try sign-in again from the application's page.</p>`,
    );

  app.get<{ Querystring: Query }>(
    TRY_CALLBACK_PATH,
    config,
    async (request: FastifyRequest<{ Querystring: Query }>, reply) => {
      const tickets = services.oauth.trySignIn;
      if (!(tickets instanceof TrySignInTickets)) return refuse(reply, 404, "Try sign-in is off.");
      const query = request.query ?? {};
      const presented = request.cookies[cookie];
      // The cookie has done its work whatever happens next: one ticket, one callback.
      reply.clearCookie(cookie, { path: "/" });
      const ticket = tickets.open(one(query, "state"));
      if (!ticket)
        return refuse(reply, 400, "This sign-in result is not one Latchkey started, or it has expired.");
      if (!tickets.sameBrowser(ticket, presented))
        return refuse(
          reply,
          400,
          "This sign-in was started in another browser, or its result was already shown.",
          ticket.clientId,
        );
      // Single use across instances: one conditional upsert only the first caller wins (rate-limit.ts).
      const use = await services.rateLimiter.consume(`try-sign-in:${ticket.id}`, {
        max: 1,
        windowSeconds: 2 * TRY_TICKET_LIFETIME_SECONDS,
      });
      if (!use.allowed) return refuse(reply, 400, "This sign-in result was already used.", ticket.clientId);
      const client = await services.oauth.store.findClient(ticket.clientId);
      if (!client) return refuse(reply, 404, "The application no longer exists.");
      const error = one(query, "error");
      if (error) {
        const description = one(query, "error_description");
        return refuse(
          reply,
          400,
          `The sign-in ended with ${error}${description ? `: ${description}` : ""}.`,
          client.id,
        );
      }
      let response: { id_token?: string; access_token: string };
      try {
        // Latchkey redeems the code as the authorization server: the client is this application, with
        // the try callback admitted for this one exchange (never through /oauth2/token).
        const result = await authorizationCodeGrant(
          services.oauth,
          new Params({
            code: one(query, "code"),
            redirect_uri: tickets.callbackUrl,
            code_verifier: ticket.verifier,
          }),
          {
            client: { ...client, callbackUrls: [...client.callbackUrls, tickets.callbackUrl] },
            method: "none",
          },
        );
        response = result.response;
      } catch (failure) {
        if (failure instanceof OAuthError)
          return refuse(reply, 400, `Latchkey refused the code: ${failure.description}.`, client.id);
        throw failure;
      }
      const idClaims = response.id_token ? decodeJwt(response.id_token) : undefined;
      // OIDC Core §3.1.3.7: the ID token is for this application and this request.
      const audience = Array.isArray(idClaims?.aud) ? idClaims.aud : [idClaims?.aud];
      if (!idClaims || idClaims.nonce !== ticket.nonce || !audience.includes(client.id))
        return refuse(reply, 400, "The ID token was not for this try.", client.id);
      const accessClaims = decodeJwt(response.access_token);
      // Nothing of a try outlives its page: the access token, never shown, is revoked (RFC 7009
      // §2.2: introspection and userinfo refuse it from now on), as a try asks for no refresh token.
      if (typeof accessClaims.jti === "string" && typeof accessClaims.exp === "number")
        await services.oauth.store.revokeAccessToken(
          { jti: accessClaims.jti, clientId: client.id, expiresAt: accessClaims.exp },
          services.clock.now(),
        );
      request.log.info(
        { event: "try_sign_in_shown", clientId: client.id, userId: ticket.userId },
        "try sign-in shown",
      );
      return show(
        reply,
        200,
        `Signed in to ${client.name}`,
        html`<p>The sign-in worked: this is what ${client.name} would receive for ${String(idClaims.email ?? idClaims.sub)}.</p>
${claimsTable("ID token claims", idClaims)}
${claimsTable("Access token claims", accessClaims)}
<p class="hint">Latchkey exchanged the code itself and kept nothing: the tokens are not shown or stored. You are now signed in to Latchkey as this person in this browser; the dashboard keeps your administrator session in this tab.</p>
<p><a href="/admin/applications/${encodeURIComponent(client.id)}">Back to ${client.name}</a></p>`,
      );
    },
  );
}
