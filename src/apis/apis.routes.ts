import type { FastifyInstance } from "fastify";

export function registerApisRoutes(_app: FastifyInstance): void {}
