// The Management API's OpenAPI document, generated from the same TypeBox schemas that validate
// requests, served at /api/openapi.json (and /api/v1/openapi.json) with an interactive reference at /api/docs
// (public: it describes, it grants nothing).
//
// Built on first use, not at start-up: loading and registering @fastify/swagger and
// @fastify/swagger-ui (with yaml and @fastify/static) cost 130–270 ms of every start on these
// machines, for pages few processes ever serve. Start-up only records the routes as they are
// added (what @fastify/swagger itself does); the first request for the document or the reference
// builds a separate, never-listening Fastify instance with both plugins and those routes, and the
// reference's requests are answered through its inject().
import type { SwaggerOptions } from "@fastify/swagger";
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from "fastify";

const DOCS_PREFIX = "/api/docs";

// Hop-by-hop or per-response headers the outer reply sets itself.
const NOT_FORWARDED = new Set(["connection", "keep-alive", "transfer-encoding", "date", "content-length"]);

export async function registerOpenApi(app: FastifyInstance, issuer: string): Promise<void> {
  const routes: RouteOptions[] = [];
  const instances: FastifyInstance[] = [];
  let docs: Promise<FastifyInstance> | undefined;
  const docsInstance = () => {
    docs ??= buildDocsInstance(issuer, routes, [...instances, app]).catch((error: unknown) => {
      docs = undefined;
      throw error;
    });
    return docs;
  };
  app.addHook("onClose", (_instance, done) => {
    if (!docs) return done();
    docs
      .then((instance) => instance.close())
      .then(
        () => done(),
        () => done(),
      );
  });

  const document = async () => (await docsInstance()).swagger();
  app.get("/api/openapi.json", { config: { surface: "api" } }, document);
  app.get("/api/v1/openapi.json", { config: { surface: "api" } }, document);
  // The interactive reference (Swagger UI, served from the package: no third-party resources).
  const reference = async (request: FastifyRequest, reply: FastifyReply) => {
    // Asked as GET even for HEAD: Fastify's HEAD route sizes the body and drops it, as it did here.
    const response = await (await docsInstance()).inject({
      method: "GET",
      url: request.url,
      headers: request.headers,
    });
    // A missing asset or page gets this server's own 404, as when the plugin served here.
    if (response.statusCode === 404) return reply.callNotFound();
    if (response.statusCode >= 500) throw new Error(`API reference answered ${response.statusCode}`);
    reply.code(response.statusCode);
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined && !NOT_FORWARDED.has(name)) reply.header(name, value);
    }
    // No body (a redirect, a 304): sent as none, not as an empty octet stream.
    return response.rawPayload.length > 0 ? reply.send(response.rawPayload) : reply.send();
  };
  app.get(DOCS_PREFIX, { config: { surface: "api" } }, reference);
  app.get(`${DOCS_PREFIX}/*`, { config: { surface: "api" } }, reference);

  // Every route added from here on, as @fastify/swagger's onRoute hook would see it (the routes
  // above are not API operations, and the reference instance has its own /api/docs routes).
  app.addHook("onRoute", (route) => {
    routes.push(route);
  });
  app.addHook("onRegister", (instance) => {
    instances.push(instance);
  });
}

function swaggerOptions(issuer: string): SwaggerOptions {
  return {
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
  };
}

/**
 * A Fastify instance that only documents: the recorded routes (same method, URL, schema and
 * config; no handler runs, no schema is compiled), @fastify/swagger over them and Swagger UI.
 */
async function buildDocsInstance(
  issuer: string,
  routes: readonly RouteOptions[],
  instances: readonly FastifyInstance[],
): Promise<FastifyInstance> {
  const [{ default: Fastify }, { default: swagger }, { default: swaggerUi }] = await Promise.all([
    import("fastify"),
    import("@fastify/swagger"),
    import("@fastify/swagger-ui"),
  ]);
  const docs = Fastify({ logger: false });
  docs.setValidatorCompiler(() => () => true);
  docs.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // Shared schemas ($ref targets) of every plugin, then the root's, as @fastify/swagger collects them.
  const shared = new Map<string, unknown>();
  for (const instance of instances) {
    for (const [id, schema] of Object.entries(instance.getSchemas())) shared.set(id, schema);
  }
  for (const schema of shared.values()) docs.addSchema(schema);
  await docs.register(swagger, swaggerOptions(issuer));
  const handler = () => undefined;
  for (const route of routes) {
    if (route.method === "HEAD") continue;
    docs.route({
      method: route.method,
      url: route.url,
      schema: route.schema,
      config: route.config,
      ...(route.links ? { links: route.links } : {}),
      handler,
    } as RouteOptions);
  }
  await docs.register(swaggerUi, {
    routePrefix: DOCS_PREFIX,
    uiConfig: { url: "/api/openapi.json", deepLinking: true, tryItOutEnabled: false },
  });
  await docs.ready();
  return docs;
}
