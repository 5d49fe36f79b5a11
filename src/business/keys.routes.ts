// Management API, a Latchkey extension (Kinde rotates its keys itself): list the signing keys and
// start a rotation, so an administrator can do from the dashboard what `latchkey keys rotate` does.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { POST_ERRORS, READ_ERRORS } from "../management/responses.schemas.js";
import { success } from "../management/schemas.js";
import { DEFAULT_ACTIVATE_IN_SECONDS, rotateSigningKey, signingKeyStatus } from "./signing-keys.js";

const TAG = { tags: ["Signing keys"] };

const iso = (seconds: number | null) => (seconds === null ? null : new Date(seconds * 1000).toISOString());

const SigningKey = Type.Object({
  kid: Type.String(),
  status: Type.Union([Type.Literal("next"), Type.Literal("current"), Type.Literal("retired")]),
  created_on: Type.String({ format: "date-time" }),
  signs_from: Type.String({ format: "date-time" }),
  retired_on: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  expires_on: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
});

const SigningKeysResponse = Type.Object({
  code: Type.String(),
  message: Type.String(),
  signing_keys: Type.Array(SigningKey),
});

/** A query parameter, so the common call needs no body at all (as Kinde's revoke). */
const RotateQuery = Type.Object({
  // Up to a day: long enough for any JWKS cache, short enough to notice a mistake.
  activate_in_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400 })),
});

const RotateResponse = Type.Object({
  code: Type.String(),
  message: Type.String(),
  signing_key: SigningKey,
});

export function registerSigningKeysRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/signing_keys",
    {
      schema: { ...TAG, response: { 200: SigningKeysResponse, ...READ_ERRORS } },
      config: { scope: "read:signing_keys" },
    },
    async (request) => {
      const now = request.services.clock.now();
      const keys = await request.services.oauth.store.listSigningKeys();
      return {
        ...success(),
        signing_keys: keys
          .filter((k) => k.expiresAt === null || k.expiresAt > now)
          .sort((a, b) => b.activeAt - a.activeAt)
          .map((k) => ({
            kid: k.kid,
            status: signingKeyStatus(k, now),
            created_on: iso(k.createdAt)!,
            signs_from: iso(k.activeAt)!,
            retired_on: iso(k.retiredAt),
            expires_on: iso(k.expiresAt),
          })),
      };
    },
  );

  api.post(
    "/signing_keys/rotate",
    {
      schema: {
        ...TAG,
        querystring: RotateQuery,
        response: { 200: RotateResponse, ...POST_ERRORS },
      },
      config: { scope: "create:signing_keys" },
    },
    async (request) => {
      const activateIn = request.query.activate_in_seconds ?? DEFAULT_ACTIVATE_IN_SECONDS;
      const key = await rotateSigningKey(request.services, activateIn);
      request.log.info({ kid: key.kid }, "signing key rotation started");
      const now = request.services.clock.now();
      return {
        ...success("Signing key rotation started"),
        signing_key: {
          kid: key.kid,
          status: signingKeyStatus(key, now),
          created_on: iso(key.createdAt)!,
          signs_from: iso(key.activeAt)!,
          retired_on: iso(key.retiredAt),
          expires_on: iso(key.expiresAt),
        },
      };
    },
  );
}
