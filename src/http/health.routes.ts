import type { FastifyInstance } from "fastify";
import type { Storage } from "../storage/database.js";

/**
 * Liveness says the process runs; readiness says it can serve (the database answers). A load
 * balancer takes an instance out of rotation while readiness is 503 and back when it recovers.
 */
export function registerHealthRoutes(app: FastifyInstance, storage: Storage): void {
  app.get("/health/live", async (_request, reply) => {
    reply.header("cache-control", "no-store");
    return { status: "ok" };
  });

  app.get("/health/ready", async (request, reply) => {
    reply.header("cache-control", "no-store");
    try {
      await storage.ping();
      return { status: "ready", database: "ok" };
    } catch (error) {
      request.log.warn({ err: error }, "readiness check failed: database unreachable");
      return reply.code(503).send({ status: "unavailable", database: "unreachable" });
    }
  });
}
