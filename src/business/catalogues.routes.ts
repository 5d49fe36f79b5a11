// Management API: Kinde's catalogues of industries and timezones (src/business/catalogues.ts).
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { READ_ERRORS } from "../management/responses.schemas.js";
import { SuccessResponse, success } from "../management/schemas.js";
import { industries, timezones } from "./catalogues.js";

const Entries = Type.Array(Type.Object({ key: Type.String(), name: Type.String() }));

export function registerCataloguesRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/industries",
    {
      schema: {
        tags: ["Industries"],
        summary: "Get industries",
        response: {
          200: Type.Object({ ...SuccessResponse.properties, industries: Entries }),
          ...READ_ERRORS,
        },
      },
      config: { scope: "read:industries" },
    },
    async () => ({ ...success(), industries: [...industries] }),
  );

  api.get(
    "/timezones",
    {
      schema: {
        tags: ["Timezones"],
        summary: "Get timezones",
        response: { 200: Type.Object({ ...SuccessResponse.properties, timezones: Entries }), ...READ_ERRORS },
      },
      config: { scope: "read:timezones" },
    },
    async (request) => ({
      ...success(),
      timezones: [...timezones(new Date(request.services.clock.now() * 1000))],
    }),
  );
}
