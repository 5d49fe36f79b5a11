// Serves the admin dashboard at /admin: its static files (dashboard/public, and the browser code
// tsc compiles into dashboard/dist), /admin/config.json telling it how to sign in, and index.html
// for every other /admin path so the browser-side router owns them (the callback included).
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { managementAudience } from "../management/auth.js";
import { DASHBOARD_DIRECTORY } from "../paths.js";
import type { Services } from "../services.js";
import { findDashboardClientId } from "./dashboard-app.js";
import { registerTryCallbackRoute } from "./try-callback.routes.js";

const PUBLIC_DIR = path.join(DASHBOARD_DIRECTORY, "public");
const CODE_DIR = path.join(DASHBOARD_DIRECTORY, "dist");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

/**
 * Static file names are plain words joined by dots, dashes and single slashes: no `..`, no
 * backslash, no percent-decoding surprises, so a name can never leave its directory.
 */
const FILE_NAME = /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*\.[a-z]{2,4}$/;

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
}

async function load(directory: string, name: string): Promise<StaticFile | undefined> {
  if (!FILE_NAME.test(name)) return undefined;
  const type = TYPES[path.extname(name)];
  if (!type) return undefined;
  const file = path.join(directory, name);
  if (!file.startsWith(directory + path.sep)) return undefined;
  try {
    if (!(await stat(file)).isFile()) return undefined;
    const body = await readFile(file);
    return { body, type, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"` };
  } catch {
    return undefined;
  }
}

function send(request: FastifyRequest, reply: FastifyReply, file: StaticFile): FastifyReply {
  // No content hashes in the names, so the browser revalidates every time (cheap with the ETag)
  // and never runs stale code after an upgrade.
  reply.header("cache-control", "no-cache").header("etag", file.etag).type(file.type);
  if (request.headers["if-none-match"] === file.etag) return reply.code(304).send();
  return reply.send(file.body);
}

function notFound(reply: FastifyReply): FastifyReply {
  return reply.code(404).type("text/plain; charset=utf-8").send("Not found");
}

export function registerDashboardRoutes(app: FastifyInstance, services: Services): void {
  const config = { config: { surface: "page" as const } };
  const issuer = services.oauth.issuer;

  app.get("/admin", config, async (_request, reply) => reply.redirect("/admin/", 301));

  app.get("/admin/config.json", config, async (_request, reply) => {
    const clientId = await findDashboardClientId(services.db, issuer);
    reply.header("cache-control", "no-store");
    if (!clientId) {
      return reply.code(503).send({
        error: "dashboard_unavailable",
        error_description:
          "The dashboard is not registered: ISSUER_URL must use https (or http on localhost). Restart after fixing it.",
      });
    }
    return { issuer, clientId, audience: managementAudience(issuer) };
  });

  registerTryCallbackRoute(app, services);

  app.get<{ Params: { "*": string } }>("/admin/*", config, async (request, reply) => {
    const name = request.params["*"];
    if (name.startsWith("js/")) {
      const file = await load(CODE_DIR, name.slice(3));
      return file ? send(request, reply, file) : notFound(reply);
    }
    if (name !== "index.html") {
      const file = await load(PUBLIC_DIR, name);
      if (file) return send(request, reply, file);
      // A missing asset is a 404; anything else is a page of the dashboard.
      if (path.extname(name)) return notFound(reply);
    }
    const index = await load(PUBLIC_DIR, "index.html");
    if (!index) return notFound(reply);
    return reply.type(index.type).send(index.body);
  });
}
