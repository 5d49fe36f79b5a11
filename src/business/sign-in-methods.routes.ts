// Management API: which ways of signing in the hosted pages offer — a password, a code by e-mail
// (Kinde's "email + code"), or both. A Latchkey extension: Kinde's Management API has no field for
// it (its connections API lists social and enterprise strategies only; the built-in methods are set
// in Kinde's dashboard), so it lives beside Kinde's /business under the same scopes.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { ApiError } from "../management/errors.js";
import { READ_ERRORS, WRITE_ERRORS } from "../management/responses.schemas.js";
import { success } from "../management/schemas.js";
import { SignInMethodsBody, SignInMethodsResponse } from "./business.schemas.js";
import { NoSignInMethodError } from "./business.store.js";

const DOCS = {
  tags: ["Business"],
  description:
    "Latchkey extension (not in Kinde's API). Which methods the hosted sign-in page offers: password, " +
    "a 6-digit code by email, or both (the default). At least one stays on. Codes that verify an " +
    "address or reset a password are sent whatever this says.",
};

export function registerSignInMethodsRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/business/sign_in_methods",
    {
      schema: {
        ...DOCS,
        summary: "Get sign-in methods",
        response: { 200: SignInMethodsResponse, ...READ_ERRORS },
      },
      config: { scope: "read:businesses" },
    },
    async (request) => ({
      ...success(),
      sign_in_methods: { ...(await request.services.business.signInMethods()) },
    }),
  );

  api.put(
    "/business/sign_in_methods",
    {
      schema: {
        ...DOCS,
        summary: "Set sign-in methods",
        body: SignInMethodsBody,
        response: { 200: SignInMethodsResponse, ...WRITE_ERRORS },
      },
      config: { scope: "update:businesses" },
    },
    async (request) => {
      try {
        const methods = await request.services.business.setSignInMethods(request.body);
        return { ...success(), sign_in_methods: { ...methods } };
      } catch (error) {
        if (error instanceof NoSignInMethodError) throw new ApiError("INVALID_REQUEST", error.message);
        throw error;
      }
    },
  );
}
