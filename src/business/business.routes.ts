import type { FastifyInstance } from "fastify";

export function registerBusinessRoutes(_app: FastifyInstance): void {}
