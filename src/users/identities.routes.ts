// Management API: Kinde's /api/v1/identities/{identity_id} (GetIdentity, UpdateIdentity,
// DeleteIdentity) for the identities a user has at connections' providers (external_identities).
// A user's e-mail and username identities have ids derived from their values (users.http.ts
// identityId) and no row to find them by: they are changed through the user's own operations.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ApiError } from "../management/errors.js";
import { notFound, READ_ERRORS, WRITE_ERRORS } from "../management/responses.schemas.js";
import { SuccessResponse, success } from "../management/schemas.js";
import { ExternalIdentitiesStore, type ExternalIdentityView } from "./external-identities.store.js";
import { findChangeableUser, iso } from "./users.http.js";

const TAG = { tags: ["Identities"] };
const IDENTITY_NOT_FOUND = notFound("Identity");

const IdentityParams = Type.Object({ identity_id: Type.String({ maxLength: 100 }) });
const UpdateIdentityBody = Type.Object({ is_primary: Type.Optional(Type.Boolean()) });
const orNull = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

/** Kinde's `identity` schema. */
const IdentityResponse = Type.Object({
  id: Type.String(),
  type: Type.String(),
  is_confirmed: Type.Boolean(),
  created_on: orNull(Type.String()),
  last_login_on: orNull(Type.String()),
  total_logins: Type.Union([Type.Integer(), Type.Null()]),
  name: Type.String(),
  email: orNull(Type.String()),
  connection_id: orNull(Type.String()),
  is_primary: Type.Union([Type.Boolean(), Type.Null()]),
});

/**
 * An external identity in Kinde's identity shape: its type is the connection's strategy, its name
 * the address the provider gave (else the provider's subject), confirmed when the provider said the
 * address is verified. Never primary: the user's e-mail identity is.
 */
export function externalIdentityView(identity: ExternalIdentityView) {
  return {
    id: identity.id,
    type: identity.strategy,
    is_confirmed: identity.email_verified_by_provider === 1,
    created_on: iso(identity.created_at),
    last_login_on: iso(identity.last_signed_in_at),
    total_logins: identity.total_logins,
    name: identity.email ?? identity.provider_subject,
    email: identity.email,
    connection_id: identity.connection_id as string | null,
    is_primary: false,
  };
}

async function findIdentity(request: FastifyRequest, id: string): Promise<ExternalIdentityView> {
  const identity = await new ExternalIdentitiesStore(request.services.db).find(id);
  if (!identity) throw new ApiError("IDENTITY_NOT_FOUND");
  return identity;
}

export function registerIdentitiesRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/identities/:identity_id",
    {
      schema: {
        ...TAG,
        params: IdentityParams,
        response: { 200: IdentityResponse, ...READ_ERRORS, ...IDENTITY_NOT_FOUND },
      },
      config: { scope: "read:identities" },
    },
    async (request) => externalIdentityView(await findIdentity(request, request.params.identity_id)),
  );

  api.patch(
    "/identities/:identity_id",
    {
      schema: {
        ...TAG,
        params: IdentityParams,
        body: UpdateIdentityBody,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...IDENTITY_NOT_FOUND },
      },
      config: { scope: "update:identities" },
    },
    async (request) => {
      const identity = await findIdentity(request, request.params.identity_id);
      // The same protection as every other change to an administrator's account.
      await findChangeableUser(request, identity.user_id);
      if (request.body.is_primary === undefined) throw new ApiError("NO_FIELDS_TO_UPDATE");
      // Latchkey keeps the user's e-mail identity primary (it is where codes and notices go); an
      // identity at a provider is never the primary one.
      if (request.body.is_primary) {
        throw new ApiError(
          "INVALID_REQUEST",
          "An identity at a connection cannot be made primary: the user's email identity is the primary one",
        );
      }
      return success("Identity successfully updated");
    },
  );

  api.delete(
    "/identities/:identity_id",
    {
      schema: {
        ...TAG,
        params: IdentityParams,
        response: { 200: SuccessResponse, ...READ_ERRORS, ...IDENTITY_NOT_FOUND },
      },
      config: { scope: "delete:identities" },
    },
    async (request) => {
      const identity = await findIdentity(request, request.params.identity_id);
      // Unlinking an administrator's provider account changes how the administrator signs in:
      // only an administrator (the dashboard) may (users.http.ts findChangeableUser).
      await findChangeableUser(request, identity.user_id);
      const deleted = await new ExternalIdentitiesStore(request.services.db).delete(identity.id);
      if (!deleted) throw new ApiError("IDENTITY_NOT_FOUND");
      request.log.info(
        { event: "identity_deleted", userId: identity.user_id, connectionId: identity.connection_id },
        "external identity deleted",
      );
      return success("Identity successfully deleted");
    },
  );
}
