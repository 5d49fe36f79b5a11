// Management API, Latchkey's extension: POST /connections/{connection_id}/test — the single-use link
// with which an administrator signs in once through a connection and sees the claims its provider
// sends, with nothing linked, created or signed in (sign-in/connection-test.ts does the round trip).
// Administrators only, like making a connection trusted (connection-guards.ts): the page shows
// what a provider says about whoever signs in, and a machine holding update:connections has no
// browser to open it in anyway.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { ApiError } from "../management/errors.js";
import { notFound, POST_ERRORS } from "../management/responses.schemas.js";
import { CONNECTION_TEST_PATH } from "../sign-in/connection-test.js";
import { SIGN_IN_STRATEGIES } from "../sign-in/upstream-providers.js";
import { TestTickets, UPSTREAM_STATE_LIFETIME_SECONDS } from "../sign-in/upstream-state.js";
import { ConnectionParams } from "./connections.schemas.js";

const TestConnectionResponse = Type.Object({
  code: Type.String(),
  message: Type.String(),
  /** Opens the test in a browser: Latchkey's page, which sends it on to the provider. */
  authorization_url: Type.String(),
  /** Seconds the link works for (once). */
  expires_in: Type.Integer(),
});

export function registerConnectionTestRoute(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.post(
    "/connections/:connection_id/test",
    {
      schema: {
        tags: ["Connections"],
        summary: "Test a connection (Latchkey): a single-use link to sign in once and see the claims",
        params: ConnectionParams,
        response: { 200: TestConnectionResponse, ...POST_ERRORS, ...notFound("Connection") },
      },
      config: { scope: "update:connections" },
    },
    async (request) => {
      const userId = request.caller?.userId;
      if (userId === undefined)
        throw new ApiError(
          "FORBIDDEN",
          "Only an administrator, in the dashboard, may test a connection: the test shows what the provider says about whoever signs in",
        );
      const { services } = request;
      const connection = await services.connections.find(request.params.connection_id);
      if (!connection) throw new ApiError("CONNECTION_NOT_FOUND");
      if (!SIGN_IN_STRATEGIES.has(connection.strategy))
        throw new ApiError(
          "STRATEGY_NOT_SUPPORTED",
          `Signing in through ${connection.strategy} is not supported yet, so there is nothing to test`,
        );
      const ticket = await new TestTickets(services.db, services.clock).create({
        connectionId: connection.id,
        userId,
      });
      request.log.info(
        { event: "connection_test_issued", connectionId: connection.id, userId },
        "connection test link issued",
      );
      return {
        code: "OK",
        message: "Open authorization_url in a browser to sign in once through the connection",
        authorization_url: `${services.oauth.issuer}${CONNECTION_TEST_PATH}?ticket=${ticket}`,
        expires_in: UPSTREAM_STATE_LIFETIME_SECONDS,
      };
    },
  );
}
