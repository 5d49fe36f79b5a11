// Management API, a Latchkey extension: which scopes of an API an application holds. Kinde can
// grant (POST) and withdraw (DELETE) them one by one but offers no way to read them back, which an
// administrator needs to see before changing anything.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { ApiError } from "../management/errors.js";
import { notFound, READ_ERRORS } from "../management/responses.schemas.js";
import { success } from "../management/schemas.js";

const Id = Type.String({ minLength: 1, maxLength: 100 });

const GrantedScopesResponse = Type.Object({
  code: Type.String(),
  message: Type.String(),
  /** False when the application is not authorised for the API (it then holds no scope). */
  is_authorized: Type.Boolean(),
  scopes: Type.Array(Type.Object({ id: Type.String(), key: Type.String() })),
});

export function registerApplicationScopesRoutes(app: FastifyInstance): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    "/apis/:api_id/applications/:application_id/scopes",
    {
      schema: {
        tags: ["APIs"],
        params: Type.Object({ api_id: Id, application_id: Id }),
        response: { 200: GrantedScopesResponse, ...READ_ERRORS, ...notFound("API") },
      },
      config: { scope: "read:apis" },
    },
    async (request) => {
      const { api_id, application_id } = request.params;
      const { apis, applications } = request.services;
      const found = await apis.store.findById(api_id);
      if (!found) throw new ApiError("API_NOT_FOUND");
      if (!(await applications.store.findById(application_id))) throw new ApiError("APPLICATION_NOT_FOUND");
      const isAuthorized = await apis.store.isAuthorized(found.id, application_id);
      const granted = isAuthorized
        ? await apis.store.grantedScopes(application_id, [found.audience])
        : new Set();
      const scopes = (await apis.store.scopes(found.id)).filter((s) => granted.has(s.key));
      return {
        ...success(),
        is_authorized: isAuthorized,
        scopes: scopes.map((s) => ({ id: s.id, key: s.key })),
      };
    },
  );
}
