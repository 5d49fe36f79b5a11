// The Management API's OpenAPI document, generated from the same TypeBox schemas that validate
// requests, served at /api/v1/openapi.json (public: it describes, it grants nothing).
import swagger from "@fastify/swagger";
import type { FastifyInstance } from "fastify";

export async function registerOpenApi(app: FastifyInstance, issuer: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Latchkey Management API",
        version: "1",
        description:
          "Kinde-compatible Management API. Authenticate with a bearer access token obtained by the client_credentials " +
          `grant for audience ${issuer}/api; each operation requires the scope named in its x-scope.`,
      },
      servers: [{ url: issuer }],
      components: {
        securitySchemes: { kindeBearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      },
      security: [{ kindeBearerAuth: [] }],
    },
    transform: ({ schema, url, route }) => {
      const documented = url.startsWith("/api/v1/") && url !== "/api/v1/openapi.json";
      const transformed = { ...(schema ?? {}), ...(documented ? {} : { hide: true }) } as Record<
        string,
        unknown
      >;
      const scope = (route.config as { scope?: string } | undefined)?.scope;
      if (scope) transformed["x-scope"] = scope;
      return { schema: transformed as typeof schema, url };
    },
  });
  app.get("/api/v1/openapi.json", { config: { surface: "api" } }, async () => app.swagger());
}
