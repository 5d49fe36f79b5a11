// The SCIM 2.0 service provider of each directory (RFC 7644), at <issuer>/scim/v2/<endpoint_id>,
// which the organization's IdP (Okta, Entra ID …) calls with the directory's bearer token. Its own
// surface: SCIM's error message and content type (application/scim+json), never Kinde's or OAuth's.
// The token is checked before the body is read; a network that keeps presenting wrong tokens is
// answered 429 for a while.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Services } from "../services.js";
import { clientNetwork } from "../sign-in/rate-limit.js";
import { DirectoriesService } from "./directories.service.js";
import { DirectoriesStore, type DirectoryRow } from "./directories.store.js";
import { resourceTypes, schemas, serviceProviderConfig } from "./scim-discovery.js";
import { ScimGroups } from "./scim-groups.js";
import { listResponse, paging, SCIM_CONTENT_TYPE, ScimError } from "./scim-protocol.js";
import { ScimUsers } from "./scim-users.js";

/** A User or Group with every attribute an IdP sends fits easily; a larger body is refused (413). */
export const SCIM_BODY_LIMIT = 64 * 1024;
/** Wrong tokens from one network, per window, before it is refused (429) until the window ends. */
export const FAILED_TOKEN_LIMIT = { max: 30, windowSeconds: 600 } as const;

declare module "fastify" {
  interface FastifyRequest {
    /** The directory a SCIM request authenticated for (scim.routes.ts). */
    scimDirectory: DirectoryRow | null;
  }
}

type Params = { endpointId: string; id?: string };

function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).type(SCIM_CONTENT_TYPE).send(JSON.stringify(body));
}

function sendError(reply: FastifyReply, error: ScimError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return send(reply, error.status, error.toJSON());
}

export async function registerScimRoutes(app: FastifyInstance, services: Services): Promise<void> {
  app.decorateRequest("scimDirectory", null);
  await app.register(
    async (scim) => {
      scim.removeAllContentTypeParsers();
      scim.addContentTypeParser(
        ["application/scim+json", "application/json"],
        { parseAs: "string", bodyLimit: SCIM_BODY_LIMIT },
        scim.getDefaultJsonParser("error", "error"),
      );

      scim.setErrorHandler(async (error: FastifyError | Error, request, reply) => {
        if (error instanceof ScimError) return sendError(reply, error);
        const status = (error as FastifyError).statusCode;
        if (typeof status === "number" && status >= 400 && status < 500)
          return sendError(
            reply,
            new ScimError(status, error.message, status === 400 ? "invalidSyntax" : undefined),
          );
        request.log.error({ err: error }, "unhandled error");
        return sendError(reply, new ScimError(500, "An unexpected error occurred"));
      });
      scim.setNotFoundHandler(async (_request, reply) =>
        sendError(reply, new ScimError(404, "No such SCIM endpoint")),
      );

      scim.addHook("onRequest", async (request, reply) => {
        reply.header("cache-control", "no-store");
        const network = clientNetwork(request.ip);
        const failedKey = `scim-token-failed:ip:${network}`;
        const wait = await services.rateLimiter.retryAfter(failedKey, FAILED_TOKEN_LIMIT);
        if (wait > 0)
          throw new ScimError(429, "Too many requests with a wrong token from this network", undefined, {
            "retry-after": String(wait),
          });
        const { endpointId } = request.params as Params;
        const directory = await new DirectoriesService(services.db, services.clock).authenticate(
          endpointId,
          request.headers.authorization,
        );
        if (!directory) {
          await services.rateLimiter.hit(failedKey, FAILED_TOKEN_LIMIT);
          // RFC 6750 §3: a bearer-token resource answers 401 with a challenge.
          throw new ScimError(401, "The bearer token is not valid for this directory", undefined, {
            "www-authenticate": 'Bearer realm="scim", error="invalid_token"',
          });
        }
        request.scimDirectory = directory;
      });

      const directoryOf = (request: FastifyRequest) => request.scimDirectory as DirectoryRow;
      const baseUrl = (request: FastifyRequest) =>
        DirectoriesService.baseUrl(services.oauth.issuer, directoryOf(request));
      const users = (request: FastifyRequest) =>
        new ScimUsers(services.db, services.clock, directoryOf(request), baseUrl(request));
      const groups = (request: FastifyRequest) =>
        new ScimGroups(services.db, services.clock, directoryOf(request), baseUrl(request));
      const idOf = (request: FastifyRequest) => (request.params as Params).id as string;
      const query = (request: FastifyRequest) => request.query as Record<string, unknown>;
      /** A change arrived: the directory is in use (Kinde's status Active) and synced now. */
      const synced = (request: FastifyRequest) =>
        new DirectoriesStore(services.db).recordSync(directoryOf(request).id, services.clock.now());
      const withoutMembers = (request: FastifyRequest) => {
        const excluded = query(request).excludedAttributes;
        return typeof excluded === "string" && /(^|,)\s*members\s*(,|$)/i.test(excluded);
      };

      scim.get("/ServiceProviderConfig", async (request, reply) =>
        send(reply, 200, serviceProviderConfig(baseUrl(request))),
      );
      scim.get("/ResourceTypes", async (request, reply) => {
        const types = resourceTypes(baseUrl(request));
        return send(reply, 200, listResponse(types, types.length, 1));
      });
      scim.get("/ResourceTypes/:id", async (request, reply) => {
        const found = resourceTypes(baseUrl(request)).find((t) => t.id === idOf(request));
        if (!found) throw new ScimError(404, "No such resource type");
        return send(reply, 200, found);
      });
      scim.get("/Schemas", async (request, reply) => {
        const all = schemas(baseUrl(request));
        return send(reply, 200, listResponse(all, all.length, 1));
      });
      scim.get("/Schemas/:id", async (request, reply) => {
        const found = schemas(baseUrl(request)).find((s) => s.id === idOf(request));
        if (!found) throw new ScimError(404, "No such schema");
        return send(reply, 200, found);
      });

      scim.get("/Users", async (request, reply) => {
        const { startIndex, count } = paging(query(request));
        return send(reply, 200, await users(request).list(query(request).filter, startIndex, count));
      });
      scim.post("/Users", async (request, reply) => {
        const created = await users(request).create(request.body);
        await synced(request);
        reply.header("location", (created.meta as { location: string }).location);
        return send(reply, 201, created);
      });
      scim.get("/Users/:id", async (request, reply) =>
        send(reply, 200, await users(request).get(idOf(request))),
      );
      scim.put("/Users/:id", async (request, reply) => {
        const replaced = await users(request).replace(idOf(request), request.body);
        await synced(request);
        return send(reply, 200, replaced);
      });
      scim.patch("/Users/:id", async (request, reply) => {
        const patched = await users(request).patch(idOf(request), request.body);
        await synced(request);
        return send(reply, 200, patched);
      });
      scim.delete("/Users/:id", async (request, reply) => {
        await users(request).delete(idOf(request));
        await synced(request);
        return reply.code(204).send();
      });

      scim.get("/Groups", async (request, reply) => {
        const { startIndex, count } = paging(query(request));
        const list = await groups(request).list(
          query(request).filter,
          startIndex,
          count,
          !withoutMembers(request),
        );
        return send(reply, 200, list);
      });
      scim.post("/Groups", async (request, reply) => {
        const created = await groups(request).create(request.body);
        await synced(request);
        reply.header("location", (created.meta as { location: string }).location);
        return send(reply, 201, created);
      });
      scim.get("/Groups/:id", async (request, reply) =>
        send(reply, 200, await groups(request).get(idOf(request), !withoutMembers(request))),
      );
      scim.put("/Groups/:id", async (request, reply) => {
        const replaced = await groups(request).replace(idOf(request), request.body);
        await synced(request);
        return send(reply, 200, replaced);
      });
      scim.patch("/Groups/:id", async (request, reply) => {
        const patched = await groups(request).patch(idOf(request), request.body);
        await synced(request);
        return send(reply, 200, patched);
      });
      scim.delete("/Groups/:id", async (request, reply) => {
        await groups(request).delete(idOf(request));
        await synced(request);
        return reply.code(204).send();
      });
    },
    { prefix: "/scim/v2/:endpointId" },
  );
}
