// Management API: a user's passkeys, for administrators (issue 22: "credentials listed and
// removable by the user and by administrators"). Kinde's specification has no such operations, so
// these are Latchkey extensions beside Kinde's user MFA ones, under the same scopes (a passkey is a
// factor of the account): GET /api/v1/users/{user_id}/passkeys, DELETE …/passkeys/{passkey_id}.
// Removing one signs the user out everywhere and records passkey.removed (PasskeysService.remove).
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { sourceOfCaller } from "../events/events.js";
import { ApiError } from "../management/errors.js";
import { notFound, READ_ERRORS, WRITE_ERRORS } from "../management/responses.schemas.js";
import { isoSeconds, nullable, SuccessResponse, success } from "../management/schemas.js";
import { findChangeableUser, findUser } from "../users/users.http.js";
import type { Passkey } from "./passkeys.store.js";

const USERS = { tags: ["Users"] };
const Id = Type.String({ minLength: 1, maxLength: 100 });
const NOT_FOUND = notFound("User or passkey");

const PasskeyItem = Type.Object({
  id: Type.String(),
  name: Type.String(),
  created_on: Type.String({ format: "date-time" }),
  last_used_on: nullable(Type.String({ format: "date-time" })),
  device_type: Type.String({ description: "singleDevice (device-bound) or multiDevice (synced)" }),
  is_backed_up: Type.Boolean(),
  transports: Type.Array(Type.String()),
});

const PasskeysResponse = Type.Object({ ...SuccessResponse.properties, passkeys: Type.Array(PasskeyItem) });

function passkeyBody(passkey: Passkey) {
  return {
    id: passkey.id,
    name: passkey.name,
    created_on: isoSeconds(passkey.createdAt),
    last_used_on: passkey.lastUsedAt === null ? null : isoSeconds(passkey.lastUsedAt),
    device_type: passkey.deviceType,
    is_backed_up: passkey.backedUp,
    transports: passkey.transports,
  };
}

export function registerPasskeysManagementRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/users/:user_id/passkeys",
    {
      schema: {
        ...USERS,
        summary: "List a user's passkeys",
        description: "Latchkey extension: the user's passkeys (WebAuthn credentials), oldest first.",
        params: Type.Object({ user_id: Id }),
        response: { 200: PasskeysResponse, ...READ_ERRORS, ...NOT_FOUND },
      },
      config: { scope: "read:user_mfa" },
    },
    async (request) => {
      const user = await findUser(request, request.params.user_id);
      const passkeys = await request.services.passkeys.store.list(user.id);
      return { ...success(), passkeys: passkeys.map(passkeyBody) };
    },
  );

  api.delete(
    "/users/:user_id/passkeys/:passkey_id",
    {
      schema: {
        ...USERS,
        summary: "Remove a user's passkey",
        description:
          "Latchkey extension: removes the passkey and signs the user out everywhere (passkey.removed).",
        params: Type.Object({ user_id: Id, passkey_id: Id }),
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...NOT_FOUND },
      },
      config: { scope: "delete:user_mfa" },
    },
    async (request) => {
      // A machine may not take an administrator's credentials away (as for MFA resets).
      const user = await findChangeableUser(request, request.params.user_id);
      const removed = await request.services.passkeys.remove(user.id, request.params.passkey_id, {
        source: sourceOfCaller(request.caller),
      });
      if (!removed) throw new ApiError("PASSKEY_NOT_FOUND");
      return success("Passkey removed");
    },
  );
}
