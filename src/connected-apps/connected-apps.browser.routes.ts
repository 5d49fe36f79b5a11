// The browser side of connecting: the auth URL Latchkey hands out opens here, is sent on to the
// provider, and the provider sends the user back to /connected_apps/callback.
import type { FastifyInstance } from "fastify";
import { errorPage } from "../http/html.js";
import type { Services } from "../services.js";
import { cookieNames, cookieOptions } from "../sign-in/cookies.js";
import { AUTH_URL_LIFETIME_SECONDS, ConnectedAppError } from "./connected-apps.service.js";

type Query = Record<string, string | string[] | undefined>;
const text = (query: Query, name: string) =>
  typeof query[name] === "string" ? (query[name] as string) : undefined;

export function registerConnectedAppsBrowserRoutes(
  app: FastifyInstance,
  services: Services,
  options: { https: boolean },
): void {
  const names = cookieNames(options.https);
  // The state cookie binds the provider's answer to the browser that started (RFC 9700 §4.7).
  const stateCookie = options.https ? "__Host-latchkey_connect" : "latchkey_connect";
  const page = { config: { surface: "page" as const } };
  const fail = async (reply: import("fastify").FastifyReply, error: unknown) => {
    if (!(error instanceof ConnectedAppError)) throw error;
    return reply
      .code(400)
      .type("text/html; charset=utf-8")
      .send(
        errorPage("This connection could not be completed", error.message, await services.business.name()),
      );
  };

  app.get<{ Querystring: Query }>("/connected_apps/start", page, async (request, reply) => {
    const session = await services.sessions.find(request.cookies[names.session]);
    try {
      const { redirect, state } = await services.connectedApps.start(
        text(request.query, "token") ?? "",
        session?.userId,
      );
      reply.setCookie(stateCookie, state, cookieOptions(options.https, AUTH_URL_LIFETIME_SECONDS));
      return reply.code(302).header("location", redirect).send();
    } catch (error) {
      return fail(reply, error);
    }
  });

  app.get<{ Querystring: Query }>("/connected_apps/callback", page, async (request, reply) => {
    try {
      const location = await services.connectedApps.callback({
        state: text(request.query, "state"),
        code: text(request.query, "code"),
        error: text(request.query, "error"),
        browserState: request.cookies[stateCookie],
      });
      reply.clearCookie(stateCookie, cookieOptions(options.https));
      return reply.code(302).header("location", location).send();
    } catch (error) {
      return fail(reply, error);
    }
  });
}
