// Management API: Kinde's per-application enablement of connections —
// GET /applications/{application_id}/connections, POST/DELETE …/connections/{connection_id}
// (scopes read/create/delete:application_connections). Enabling or disabling follows the
// application rules of connection-guards.ts: the admin dashboard's only by an administrator, a
// stronger application's not by a weaker machine.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { findApplication } from "../applications/find-application.js";
import { ApiError } from "../management/errors.js";
import { notFound, POST_ERRORS, READ_ERRORS, WRITE_ERRORS } from "../management/responses.schemas.js";
import { SuccessResponse, success } from "../management/schemas.js";
import { answering, applicationGuard } from "./connection-guards.js";
import { listed } from "./connections.routes.js";
import {
  ApplicationConnectionParams,
  ApplicationParams,
  ConnectionsResponse,
} from "./connections.schemas.js";

const TAG = { tags: ["Applications"] };
const CONNECTION_NOT_FOUND = notFound("Connection");

export function registerApplicationConnectionsRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/applications/:application_id/connections",
    {
      schema: { ...TAG, params: ApplicationParams, response: { 200: ConnectionsResponse, ...READ_ERRORS } },
      config: { scope: "read:application_connections" },
    },
    async (request) => {
      const application = await findApplication(request, request.params.application_id);
      const connections = await request.services.connections.forApplication(application.id);
      return { ...success(), connections: connections.map(listed), has_more: false };
    },
  );

  api.post(
    "/applications/:application_id/connections/:connection_id",
    {
      schema: {
        ...TAG,
        params: ApplicationConnectionParams,
        response: { 200: SuccessResponse, ...POST_ERRORS, ...CONNECTION_NOT_FOUND },
      },
      config: { scope: "create:application_connections" },
    },
    async (request) => {
      const { application_id, connection_id } = request.params;
      const application = await findApplication(request, application_id);
      await answering(() =>
        request.services.connections.enableForApplication(
          application.id,
          connection_id,
          applicationGuard(request, { enablementScopes: false, changesConnection: false }),
        ),
      );
      return success("Connection successfully enabled");
    },
  );

  api.delete(
    "/applications/:application_id/connections/:connection_id",
    {
      schema: {
        ...TAG,
        params: ApplicationConnectionParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...CONNECTION_NOT_FOUND },
      },
      config: { scope: "delete:application_connections" },
    },
    async (request) => {
      const { application_id, connection_id } = request.params;
      const application = await findApplication(request, application_id);
      const removed = await answering(() =>
        request.services.connections.disableForApplication(
          application.id,
          connection_id,
          applicationGuard(request, { enablementScopes: false, changesConnection: false }),
        ),
      );
      if (!removed)
        throw new ApiError("CONNECTION_NOT_FOUND", "This connection is not enabled for this application");
      return success("Connection successfully removed");
    },
  );
}
