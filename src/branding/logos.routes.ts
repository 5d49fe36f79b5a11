// Management API: logos of the environment (Kinde's /api/v1/environment/logos) and of
// organizations (/api/v1/organizations/{org_code}/logos), Kinde's paths, scopes and shapes. Uploads
// are multipart/form-data with one file part named "logo" (Kinde's AddLogo/AddOrganizationLogo):
// @fastify/multipart is registered for these routes alone, in their own plugin context, with
// limits that bound every part of a hostile body. What the file is comes from its bytes
// (image-type.ts); it is stored in the database and served by logo-files.routes.ts.
import { createHash } from "node:crypto";
import multipart from "@fastify/multipart";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ApiError } from "../management/errors.js";
import { notFound, READ_ERRORS, WRITE_ERRORS } from "../management/responses.schemas.js";
import { SuccessResponse, success } from "../management/schemas.js";
import { findOrganization } from "../organizations/organizations.routes.js";
import { BrandingStore, ENVIRONMENT_OWNER, type LogoType, logoPath } from "./branding.store.js";
import { EXTENSIONS, sniffLogo } from "./image-type.js";

/** Largest logo accepted: far above any page logo, far below what a page should ever load. */
export const MAX_LOGO_BYTES = 1024 * 1024;

const LogoTypeParam = Type.Union([Type.Literal("dark"), Type.Literal("light")], {
  description: "The type of logo.",
});
const EnvironmentLogoParams = Type.Object({ type: LogoTypeParam });
const OrganizationLogoParams = Type.Object({
  org_code: Type.String({ minLength: 1, maxLength: 100 }),
  type: LogoTypeParam,
});
const OrgCodeParams = Type.Object({ org_code: Type.String({ minLength: 1, maxLength: 100 }) });

const EnvironmentLogosResponse = Type.Object({
  code: Type.String(),
  logos: Type.Array(Type.Object({ type: Type.String(), file_name: Type.String() })),
  message: Type.String(),
});
const OrganizationLogosResponse = Type.Object({
  code: Type.String(),
  logos: Type.Array(Type.Object({ type: Type.String(), file_name: Type.String(), path: Type.String() })),
  message: Type.String(),
});

const UPLOAD = {
  consumes: ["multipart/form-data"],
  description:
    'multipart/form-data with one file part named "logo": PNG, JPEG, GIF, WebP, ICO or SVG (without script), at most 1 MiB. The type is read from the file\'s bytes.',
};
const NO_LOGO = { 204: { type: "null", description: "No logo found to delete" } };

/** A file name fit to show back: its last path segment, printable, at most 100 characters. */
function fileName(given: string | undefined, extension: string, type: LogoType): string {
  const base = (given ?? "")
    .split(/[\\/]/)
    .pop()!
    .replace(/[\p{Cc}\p{Cf}"<>]/gu, "")
    .trim()
    .slice(0, 100);
  return base || `logo_${type}.${extension}`;
}

/** The one "logo" file of the request, checked and stored for `owner`. */
async function receiveLogo(
  request: FastifyRequest,
  owner: string,
  orgCode: string | null,
  type: LogoType,
): Promise<void> {
  if (!request.isMultipart())
    throw new ApiError(
      "UNSUPPORTED_MEDIA_TYPE",
      'Send the logo as multipart/form-data, in a file part named "logo"',
    );
  let data: Buffer | undefined;
  let given: string | undefined;
  // Every part is read (the limits bound them): one file named "logo", nothing else counts, and a
  // second file is refused rather than silently dropped (FilesLimitError, 413, past the first).
  for await (const part of request.parts()) {
    if (part.type !== "file") continue;
    if (part.fieldname !== "logo" || data)
      throw new ApiError("INVALID_REQUEST", 'Send exactly one file, in a part named "logo"');
    // Over the limit, toBuffer() fails with 413 (RequestFileTooLargeError), answered in Kinde's shape.
    data = await part.toBuffer();
    given = part.filename;
  }
  if (!data) throw new ApiError("INVALID_REQUEST", 'The logo must be sent as a file part named "logo"');
  const sniffed = sniffLogo(data);
  if ("problem" in sniffed) throw new ApiError("INVALID_REQUEST", sniffed.problem);
  await new BrandingStore(request.services.db).putLogo({
    owner,
    type,
    org_code: orgCode,
    content_type: sniffed.type,
    file_name: fileName(given, EXTENSIONS[sniffed.type], type),
    sha256: createHash("sha256").update(data).digest("hex"),
    data,
    created_at: request.services.clock.now(),
  });
}

export async function registerLogosRoutes(app: FastifyInstance): Promise<void> {
  await app.register(async (scope) => {
    await scope.register(multipart, {
      limits: {
        fileSize: MAX_LOGO_BYTES,
        files: 1,
        fields: 10,
        fieldSize: 1024,
        parts: 11,
        headerPairs: 20,
        fieldNameSize: 100,
      },
    });
    const api = scope.withTypeProvider<TypeBoxTypeProvider>();
    const environmentTag = { tags: ["Environments"] };
    const organizationTag = { tags: ["Organizations"] };

    api.get(
      "/environment/logos",
      {
        schema: { ...environmentTag, response: { 200: EnvironmentLogosResponse, ...READ_ERRORS } },
        config: { scope: "read:environments" },
      },
      async (request) => {
        const logos = await new BrandingStore(request.services.db).logos([ENVIRONMENT_OWNER]);
        return { ...success(), logos: logos.map((l) => ({ type: l.type, file_name: l.file_name })) };
      },
    );

    api.put(
      "/environment/logos/:type",
      {
        schema: {
          ...environmentTag,
          ...UPLOAD,
          params: EnvironmentLogoParams,
          response: { 200: SuccessResponse, ...WRITE_ERRORS },
        },
        config: { scope: "update:environments" },
      },
      async (request) => {
        await receiveLogo(request, ENVIRONMENT_OWNER, null, request.params.type);
        return success("Logo successfully updated");
      },
    );

    api.delete(
      "/environment/logos/:type",
      {
        schema: {
          ...environmentTag,
          params: EnvironmentLogoParams,
          response: { 200: SuccessResponse, ...NO_LOGO, ...WRITE_ERRORS },
        },
        config: { scope: "update:environments" },
      },
      async (request, reply) => {
        const deleted = await new BrandingStore(request.services.db).deleteLogo(
          ENVIRONMENT_OWNER,
          request.params.type,
        );
        if (!deleted) return reply.code(204).send();
        return success("Logo successfully deleted");
      },
    );

    api.get(
      "/organizations/:org_code/logos",
      {
        schema: {
          ...organizationTag,
          params: OrgCodeParams,
          response: { 200: OrganizationLogosResponse, ...READ_ERRORS, ...notFound("Organization") },
        },
        config: { scope: "read:organizations" },
      },
      async (request) => {
        const org = await findOrganization(request, request.params.org_code);
        const logos = await new BrandingStore(request.services.db).logos([org.code]);
        return {
          ...success(),
          logos: logos.map((l) => ({ type: l.type, file_name: l.file_name, path: logoPath(l) })),
        };
      },
    );

    api.post(
      "/organizations/:org_code/logos/:type",
      {
        schema: {
          ...organizationTag,
          ...UPLOAD,
          params: OrganizationLogoParams,
          response: { 200: SuccessResponse, ...WRITE_ERRORS, ...notFound("Organization") },
        },
        config: { scope: "update:organizations" },
      },
      async (request) => {
        const org = await findOrganization(request, request.params.org_code);
        await receiveLogo(request, org.code, org.code, request.params.type);
        return success("Organization logo successfully updated");
      },
    );

    api.delete(
      "/organizations/:org_code/logos/:type",
      {
        schema: {
          ...organizationTag,
          params: OrganizationLogoParams,
          response: { 200: SuccessResponse, ...NO_LOGO, ...WRITE_ERRORS, ...notFound("Organization") },
        },
        config: { scope: "update:organizations" },
      },
      async (request, reply) => {
        const org = await findOrganization(request, request.params.org_code);
        const deleted = await new BrandingStore(request.services.db).deleteLogo(
          org.code,
          request.params.type,
        );
        if (!deleted) return reply.code(204).send();
        return success("Organization logo successfully deleted");
      },
    );
  });
}
