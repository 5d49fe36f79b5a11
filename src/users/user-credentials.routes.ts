// Management API: a user's credentials and sign-in state — password, identities and sessions
// (Kinde's /api/v1/users/{user_id}/password, /identities and /sessions). Every change goes through
// findChangeableUser: an administrator's credentials are out of reach of machine tokens.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { sourceOfCaller } from "../events/events.js";
import { ApiError } from "../management/errors.js";
import {
  conflict,
  notFound,
  POST_ERRORS,
  READ_ERRORS,
  WRITE_ERRORS,
} from "../management/responses.schemas.js";
import { SuccessResponse, success } from "../management/schemas.js";
import { ExternalIdentitiesStore } from "./external-identities.store.js";
import { externalIdentityView, registerIdentitiesRoutes } from "./identities.routes.js";
import { passwordProblem } from "./passwords.js";
import { storedHashOf } from "./stored-hash.js";
import {
  findChangeableUser,
  findUser,
  identitiesOf,
  identityId,
  identityValue,
  iso,
  takenConflict,
  unsupportedIdentity,
} from "./users.http.js";
import {
  CreateIdentityBody,
  CreateIdentityResponse,
  IdentitiesQuery,
  IdentitiesResponse,
  SessionsResponse,
  SetPasswordBody,
  UserIdParams,
} from "./users.schemas.js";

const TAG = { tags: ["Users"] };
const USER_NOT_FOUND = notFound("User");

/** Sessions listed per user; beyond this `has_more` is true (Kinde's operation has no paging). */
const MAX_SESSIONS = 500;

export function registerUserCredentialsRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  registerIdentitiesRoutes(app);

  api.put(
    "/users/:user_id/password",
    {
      schema: {
        ...TAG,
        params: UserIdParams,
        body: SetPasswordBody,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...USER_NOT_FOUND },
      },
      config: { scope: "update:user_passwords" },
    },
    async (request) => {
      const { users } = request.services;
      const user = await findChangeableUser(request, request.params.user_id);
      const body = request.body;
      // Kinde's is_temporary_password: the user must choose their own at the next sign-in.
      const temporary = body.is_temporary_password === true;
      if (body.password !== undefined) {
        if (body.hashed_password !== undefined)
          throw new ApiError("INVALID_REQUEST", "Send either password or hashed_password, not both");
        const problem = passwordProblem(body.password);
        if (problem)
          throw new ApiError("INVALID_PASSWORD", `The password does not meet the requirements. ${problem}`);
        await users.setPassword(user.id, body.password, { temporary });
        return success("User password successfully set");
      }
      if (body.hashed_password === undefined)
        throw new ApiError("INVALID_REQUEST", "hashed_password (or password) is required");
      // Each format's parameters as Kinde's SetUserPassword describes them (stored-hash.ts).
      const { hashing_method, password: _plain, is_temporary_password: _temporary, ...hash } = body;
      const stored = storedHashOf(hashing_method, { ...hash, hashed_password: body.hashed_password });
      if ("problem" in stored) throw new ApiError(stored.code, stored.problem);
      await users.setPasswordHash(user.id, stored.hash, { temporary });
      return success("User password successfully set");
    },
  );

  api.get(
    "/users/:user_id/identities",
    {
      schema: {
        ...TAG,
        params: UserIdParams,
        querystring: IdentitiesQuery,
        response: { 200: IdentitiesResponse, ...READ_ERRORS, ...USER_NOT_FOUND },
      },
      config: { scope: "read:user_identities" },
    },
    async (request) => {
      const user = await findUser(request, request.params.user_id);
      const { starting_after, ending_before } = request.query;
      if (starting_after && ending_before) {
        throw new ApiError("INVALID_REQUEST", "Only one of starting_after or ending_before may be specified");
      }
      let identities = identitiesOf(user).map((i) => ({
        id: identityId(user.id, i.type, i.value),
        type: i.type as string,
        // A username needs no confirmation; an email is confirmed when it was verified.
        is_confirmed: i.type === "email" ? user.email_verified === 1 : true,
        created_on: iso(user.created_at),
        // Latchkey signs in with email and password only: the email identity carries the sign-ins.
        last_login_on: i.type === "email" ? iso(user.last_signed_in_at) : null,
        total_logins: i.type === "email" ? user.total_sign_ins : 0,
        name: i.value,
        email: i.type === "email" ? i.value : null,
        connection_id: null as string | null,
        is_primary: true,
      }));
      // Then the accounts at connections' providers, oldest first (external-identities.store.ts).
      const external = await new ExternalIdentitiesStore(request.services.db).ofUser(user.id);
      identities = [...identities, ...external.map(externalIdentityView)];
      const cursor = starting_after ?? ending_before;
      if (cursor) {
        const at = identities.findIndex((i) => i.id === cursor);
        if (at < 0) throw new ApiError("INVALID_REQUEST", "No identity of this user has that id");
        identities = starting_after ? identities.slice(at + 1) : identities.slice(0, at);
      }
      return { ...success(), identities, has_more: false };
    },
  );

  api.post(
    "/users/:user_id/identities",
    {
      schema: {
        ...TAG,
        params: UserIdParams,
        body: CreateIdentityBody,
        response: {
          201: CreateIdentityResponse,
          ...POST_ERRORS,
          ...USER_NOT_FOUND,
          ...conflict("The identity"),
        },
      },
      config: { scope: "create:user_identities" },
    },
    async (request, reply) => {
      const user = await findChangeableUser(request, request.params.user_id);
      const { type } = request.body;
      if (type !== "email" && type !== "username") throw unsupportedIdentity(type);
      const value = identityValue(type, request.body.value);
      let added: boolean;
      try {
        added = await request.services.users.addIdentity(
          user.id,
          type,
          value,
          sourceOfCaller(request.caller),
        );
      } catch (error) {
        takenConflict(error);
      }
      if (!added) {
        throw new ApiError(
          "IDENTITY_EXISTS",
          `This user already has an ${type} identity; Latchkey keeps one ${type} per user`,
        );
      }
      return reply.code(201).send({
        ...success("Identity successfully created"),
        identity: { id: identityId(user.id, type, value) },
      });
    },
  );

  api.get(
    "/users/:user_id/sessions",
    {
      schema: {
        ...TAG,
        params: UserIdParams,
        response: { 200: SessionsResponse, ...READ_ERRORS, ...USER_NOT_FOUND },
      },
      config: { scope: "read:user_sessions" },
    },
    async (request) => {
      const { users, clock } = request.services;
      const user = await findUser(request, request.params.user_id);
      const rows = await users.store.liveSessions(user.id, clock.now(), MAX_SESSIONS + 1);
      const clients = rows.length > 0 ? await users.store.sessionClients(user.id) : new Map<string, string>();
      return {
        ...success(),
        has_more: rows.length > MAX_SESSIONS,
        sessions: rows.slice(0, MAX_SESSIONS).map((s) => ({
          user_id: s.user_id,
          org_code: null,
          client_id: clients.get(s.id) ?? null,
          expires_on: iso(s.expires_at)!,
          session_id: s.id,
          started_on: iso(s.created_at)!,
          // Sessions are not re-authenticated in place: last seen = started, same address and agent.
          updated_on: iso(s.auth_time)!,
          connection_id: null,
          last_ip_address: s.ip_address,
          last_user_agent: s.user_agent,
          initial_ip_address: s.ip_address,
          initial_user_agent: s.user_agent,
        })),
      };
    },
  );

  api.delete(
    "/users/:user_id/sessions",
    {
      schema: {
        ...TAG,
        params: UserIdParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...USER_NOT_FOUND },
      },
      config: { scope: "delete:user_sessions" },
    },
    async (request) => {
      const user = await findChangeableUser(request, request.params.user_id);
      await request.services.users.revokeSessions(user.id);
      return success("User sessions successfully invalidated");
    },
  );
}
