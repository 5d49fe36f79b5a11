import type { FastifyInstance } from "fastify";

export function registerUsersRoutes(_app: FastifyInstance): void {}
