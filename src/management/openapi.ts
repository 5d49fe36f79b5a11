// The Management API's OpenAPI document, generated from the same TypeBox schemas that validate
// requests, served at /api/openapi.json (and /api/v1/openapi.json) with an interactive reference at /api/docs
// (public: it describes, it grants nothing).
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
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
      // swagger-ui's own routes and the document aliases are not API operations.
      const transformed = { ...(schema ?? {}), ...(documented ? {} : { hide: true }) } as Record<
        string,
        unknown
      >;
      const scope = (route.config as { scope?: string } | undefined)?.scope;
      if (scope) transformed["x-scope"] = scope;
      return { schema: transformed as typeof schema, url };
    },
  });
  const document = async () => app.swagger();
  app.get("/api/openapi.json", { config: { surface: "api" } }, document);
  app.get("/api/v1/openapi.json", { config: { surface: "api" } }, document);
  // The interactive reference (Swagger UI, served from the package: no third-party resources).
  await app.register(swaggerUi, {
    routePrefix: "/api/docs",
    uiConfig: { url: "/api/openapi.json", deepLinking: true, tryItOutEnabled: false },
  });
}
