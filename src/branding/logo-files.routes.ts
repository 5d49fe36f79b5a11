// The logos, served publicly at a stable path (/logos/<owner>/<type>, owner "environment" or an
// org_code) for the hosted pages and for apps that show them (GET /api/v1/environment's logo URLs).
// ?v=<content hash> names one version: that URL may be cached for good (RFC 9111 §5.2.2,
// immutable: RFC 8246); without it, or with an old one, the browser revalidates against the ETag.
// The content type is the one the bytes were found to be at upload, never the uploader's; nosniff
// (every response, security-headers.ts) stops a browser guessing otherwise; and a sandboxing
// Content-Security-Policy means even an SVG opened on its own runs nothing (CSP3 §6.3.2 sandbox).
import type { FastifyInstance } from "fastify";
import type { Db } from "../storage/database.js";
import { BrandingStore, LOGO_TYPES, type LogoRow, type LogoType } from "./branding.store.js";
import { EXTENSIONS, type LogoContentType } from "./image-type.js";

const OWNER = /^(?:environment|org_[0-9a-z_]{1,60})$/i;
export const LOGO_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

export function registerLogoFileRoutes(app: FastifyInstance, db: Db): void {
  const store = new BrandingStore(db);
  app.get<{ Params: { owner: string; type: string }; Querystring: { v?: unknown } }>(
    "/logos/:owner/:type",
    async (request, reply) => {
      const { owner, type } = request.params;
      const notFound = () =>
        reply
          .code(404)
          .type("text/plain; charset=utf-8")
          .header("cache-control", "no-store")
          .send("No such logo");
      if (!OWNER.test(owner) || !LOGO_TYPES.includes(type as LogoType)) return notFound();
      // The version first: a revalidation is answered 304 without reading up to 1 MiB of bytes.
      const current = await store.fileVersion(owner, type);
      if (!current) return notFound();
      const version = typeof request.query.v === "string" ? request.query.v : undefined;
      const describe = (logo: Pick<LogoRow, "sha256" | "content_type">) =>
        reply
          .header("etag", `"${logo.sha256}"`)
          .header(
            "cache-control",
            version && logo.sha256.startsWith(version) && version.length >= 16
              ? "public, max-age=31536000, immutable"
              : "public, no-cache",
          )
          .header("content-security-policy", LOGO_CSP)
          .header(
            "content-disposition",
            `inline; filename="logo_${type}.${EXTENSIONS[logo.content_type as LogoContentType] ?? "img"}"`,
          );
      if (request.headers["if-none-match"] === `"${current.sha256}"`) {
        describe(current);
        return reply.code(304).send();
      }
      // Read again with the bytes: if the logo was replaced meanwhile, the new one with its own ETag.
      const file = await store.file(owner, type);
      if (!file) return notFound();
      describe(file);
      return reply.type(file.content_type).send(Buffer.from(file.data));
    },
  );
}
