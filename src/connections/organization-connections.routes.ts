// Management API: Kinde's per-organization enablement of connections —
// GET /organizations/{organization_code}/connections, POST/DELETE …/connections/{connection_id}
// (scopes read/create/delete:organization_connections). An organization that enables connections
// of its own narrows what its sign-in offers to those, from the first one on and for good: disabling
// its last leaves it none, not the application's (ConnectionsService.enabledFor); a connection an
// organization manages can be enabled only for that organization. The list answers Latchkey's
// has_own_connection_list, so a reader can tell "none offered" from "never chose".
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { ApiError } from "../management/errors.js";
import { notFound, POST_ERRORS, READ_ERRORS, WRITE_ERRORS } from "../management/responses.schemas.js";
import { SuccessResponse, success } from "../management/schemas.js";
import { findOrganization } from "../organizations/organizations.routes.js";
import { answering } from "./connection-guards.js";
import { listed } from "./connections.routes.js";
import {
  OrganizationConnectionParams,
  OrganizationConnectionsResponse,
  OrganizationParams,
} from "./connections.schemas.js";

const TAG = { tags: ["Organizations"] };
const NOT_FOUND = notFound("Organization or connection");

export function registerOrganizationConnectionsRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/organizations/:organization_code/connections",
    {
      schema: {
        ...TAG,
        params: OrganizationParams,
        response: { 200: OrganizationConnectionsResponse, ...READ_ERRORS, ...notFound("Organization") },
      },
      config: { scope: "read:organization_connections" },
    },
    async (request) => {
      const org = await findOrganization(request, request.params.organization_code);
      const connections = await request.services.connections.forOrganization(org.code);
      return {
        ...success(),
        connections: connections.map(listed),
        has_more: false,
        has_own_connection_list: await request.services.connections.hasOwnList(org.code),
      };
    },
  );

  api.post(
    "/organizations/:organization_code/connections/:connection_id",
    {
      schema: {
        ...TAG,
        params: OrganizationConnectionParams,
        response: { 200: SuccessResponse, ...POST_ERRORS, ...NOT_FOUND },
      },
      config: { scope: "create:organization_connections" },
    },
    async (request) => {
      const org = await findOrganization(request, request.params.organization_code);
      await answering(() =>
        request.services.connections.enableForOrganization(org.code, request.params.connection_id),
      );
      return success("Connection successfully enabled");
    },
  );

  api.delete(
    "/organizations/:organization_code/connections/:connection_id",
    {
      schema: {
        ...TAG,
        params: OrganizationConnectionParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...NOT_FOUND },
      },
      config: { scope: "delete:organization_connections" },
    },
    async (request) => {
      const org = await findOrganization(request, request.params.organization_code);
      const removed = await answering(() =>
        request.services.connections.disableForOrganization(org.code, request.params.connection_id),
      );
      if (!removed)
        throw new ApiError("CONNECTION_NOT_FOUND", "This connection is not enabled for this organization");
      return success("Connection successfully removed");
    },
  );
}
