// Management API: Kinde's Connections — GET/POST /connections, GET/PATCH/PUT/DELETE
// /connections/{connection_id} — with Kinde's scopes, shapes and statuses (create answers 201).
// Paging is Kinde's second style: starting_after / ending_before by id, with has_more. The client
// secret is write-only. GET of one connection also answers its options (without the secret),
// whether a secret is set, its organization and the applications it is enabled for: Latchkey's
// additions, so that a configuration can be read back and edited.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { ApiError } from "../management/errors.js";
import {
  conflict,
  notFound,
  POST_ERRORS,
  READ_ERRORS,
  WRITE_ERRORS,
} from "../management/responses.schemas.js";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, SuccessResponse, success } from "../management/schemas.js";
import { answering, applicationGuard } from "./connection-guards.js";
import { registerConnectionTestRoute } from "./connection-test.routes.js";
import {
  ConnectionParams,
  ConnectionResponse,
  ConnectionsResponse,
  CreateConnectionBody,
  CreateConnectionResponse,
  ListConnectionsQuery,
  ReplaceConnectionBody,
  UpdateConnectionBody,
} from "./connections.schemas.js";
import { CONNECTION_ID, type SignInConnection } from "./connections.service.js";
import type { ConnectionOptionsInput } from "./strategies.js";

const TAG = { tags: ["Connections"] };
const CONNECTION_NOT_FOUND = notFound("Connection");
const DOMAIN_TAKEN = conflict("A connection with this home realm domain");

/** Kinde's list item: id, name, display_name, strategy. */
export const listed = (c: SignInConnection) => ({
  id: c.id,
  name: c.name,
  display_name: c.displayName,
  strategy: c.strategy,
});

/** A name as stored: trimmed and not blank (a sign-in button labelled "  " tells nobody anything). */
function trimmed(field: string, value: string): string {
  const text = value.trim();
  if (!text) throw new ApiError("INVALID_REQUEST", `${field} must not be blank`);
  if (/\p{Cc}/u.test(text))
    throw new ApiError("INVALID_REQUEST", `${field} must not contain control characters`);
  return text;
}

/** The body's options as the service takes them (the request schema checked every field's type). */
const optionsOf = (options: object | undefined): ConnectionOptionsInput =>
  ({ ...options }) as ConnectionOptionsInput;

function cursor(name: string, value: string | null | undefined): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (!CONNECTION_ID.test(value)) throw new ApiError("INVALID_REQUEST", `${name} is not a connection id`);
  return value;
}

export function registerConnectionsRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  registerConnectionTestRoute(app);

  api.get(
    "/connections",
    {
      schema: {
        ...TAG,
        querystring: ListConnectionsQuery,
        response: { 200: ConnectionsResponse, ...READ_ERRORS },
      },
      config: { scope: "read:connections" },
    },
    async (request) => {
      const limit = request.query.page_size ?? DEFAULT_PAGE_SIZE;
      if (limit > MAX_PAGE_SIZE) throw new ApiError("PAGE_SIZE_LIMIT_EXCEEDED");
      const startingAfter = cursor("starting_after", request.query.starting_after);
      const endingBefore = cursor("ending_before", request.query.ending_before);
      const domain = request.query.home_realm_domain;
      const page = await answering(() =>
        request.services.connections.list({
          limit,
          startingAfter,
          endingBefore,
          domain: domain === null || domain === undefined || domain === "" ? undefined : domain,
        }),
      );
      return { ...success(), connections: page.connections.map(listed), has_more: page.hasMore };
    },
  );

  api.post(
    "/connections",
    {
      schema: {
        ...TAG,
        body: CreateConnectionBody,
        response: { 201: CreateConnectionResponse, ...POST_ERRORS, ...DOMAIN_TAKEN },
      },
      config: { scope: "create:connections" },
    },
    async (request, reply) => {
      const body = request.body;
      const created = await answering(() =>
        request.services.connections.create(
          {
            name: trimmed("name", body.name),
            displayName: trimmed("display_name", body.display_name),
            strategy: body.strategy,
            organizationCode: body.organization_code ?? null,
            options: optionsOf(body.options),
            enabledApplications: body.enabled_applications,
          },
          applicationGuard(request, { enablementScopes: true, changesConnection: false }),
        ),
      );
      return reply
        .code(201)
        .send({ ...success("Connection successfully created"), connection: { id: created.id } });
    },
  );

  api.get(
    "/connections/:connection_id",
    {
      schema: {
        ...TAG,
        params: ConnectionParams,
        response: { 200: ConnectionResponse, ...READ_ERRORS, ...CONNECTION_NOT_FOUND },
      },
      config: { scope: "read:connections" },
    },
    async (request) => {
      const connections = request.services.connections;
      const connection = await connections.find(request.params.connection_id);
      if (!connection) throw new ApiError("CONNECTION_NOT_FOUND");
      return {
        ...success(),
        connection: {
          ...listed(connection),
          options: { ...connection.options, home_realm_domains: connection.homeRealmDomains },
          has_client_secret: connection.hasClientSecret,
          organization_code: connection.organizationCode,
          enabled_applications: await connections.enabledApplications(connection.id),
        },
      };
    },
  );

  api.patch(
    "/connections/:connection_id",
    {
      schema: {
        ...TAG,
        params: ConnectionParams,
        body: UpdateConnectionBody,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...CONNECTION_NOT_FOUND, ...DOMAIN_TAKEN },
      },
      config: { scope: "update:connections" },
    },
    async (request) => {
      const body = request.body;
      if (
        [body.name, body.display_name, body.options, body.enabled_applications].every((v) => v === undefined)
      )
        throw new ApiError("NO_FIELDS_TO_UPDATE");
      await answering(() =>
        request.services.connections.update(
          request.params.connection_id,
          {
            name: body.name === undefined ? undefined : trimmed("name", body.name),
            displayName:
              body.display_name === undefined ? undefined : trimmed("display_name", body.display_name),
            options: body.options === undefined ? undefined : optionsOf(body.options),
            enabledApplications: body.enabled_applications,
          },
          applicationGuard(request, { enablementScopes: true, changesConnection: true }),
        ),
      );
      return success("Connection successfully updated");
    },
  );

  api.put(
    "/connections/:connection_id",
    {
      schema: {
        ...TAG,
        params: ConnectionParams,
        body: ReplaceConnectionBody,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...CONNECTION_NOT_FOUND, ...DOMAIN_TAKEN },
      },
      config: { scope: "update:connections" },
    },
    async (request) => {
      const body = request.body;
      await answering(() =>
        request.services.connections.replace(
          request.params.connection_id,
          {
            name: trimmed("name", body.name),
            displayName: trimmed("display_name", body.display_name),
            options: optionsOf(body.options),
            enabledApplications: body.enabled_applications,
          },
          applicationGuard(request, { enablementScopes: true, changesConnection: true }),
        ),
      );
      return success("Connection successfully replaced");
    },
  );

  api.delete(
    "/connections/:connection_id",
    {
      schema: {
        ...TAG,
        params: ConnectionParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...CONNECTION_NOT_FOUND },
      },
      config: { scope: "delete:connections" },
    },
    async (request) => {
      // Deleting disables it everywhere: delete:connections is the scope for that, but the
      // applications it leaves must still be ones the caller may change.
      const deleted = await answering(() =>
        request.services.connections.delete(
          request.params.connection_id,
          applicationGuard(request, { enablementScopes: false, changesConnection: true }),
        ),
      );
      if (!deleted) throw new ApiError("CONNECTION_NOT_FOUND");
      return success("Connection successfully deleted");
    },
  );
}
