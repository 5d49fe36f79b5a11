// Management API: Kinde's SCIM directories (/api/v1/directories), listed with page_size +
// starting_after and has_more (default page 50, as Kinde's). The directory's SCIM endpoint itself,
// which the organization's IdP calls, is src/directories/scim.routes.ts.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { requireScope } from "../management/auth.js";
import { ApiError } from "../management/errors.js";
import {
  conflict,
  notFound,
  POST_ERRORS,
  READ_ERRORS,
  WRITE_ERRORS,
} from "../management/responses.schemas.js";
import { ErrorResponse, isoSeconds, MAX_PAGE_SIZE, success } from "../management/schemas.js";
import {
  CreateDirectoryBody,
  DeleteDirectoryResponse,
  DirectoriesResponse,
  DirectoryParams,
  DirectoryResponse,
  ListDirectoriesQuery,
  UpdateDirectoryBody,
} from "./directories.schemas.js";
import { DirectoriesService } from "./directories.service.js";
import type { DirectoryRow } from "./directories.store.js";
import { assignableRoleKeys } from "./scim-group-roles.js";

const TAG = { tags: ["Directories"] };
const DEFAULT_PAGE_SIZE = 50;

/** Kinde answers an unknown org_code on CreateDirectory with 400 ORGANIZATION_NOT_FOUND (not 404). */
class OrganizationNotFoundOnCreate extends ApiError {
  override readonly status = 400;
  constructor() {
    super("ORGANIZATION_NOT_FOUND");
  }
}

const service = (request: FastifyRequest) =>
  new DirectoriesService(request.services.db, request.services.clock);

async function views(request: FastifyRequest, rows: readonly DirectoryRow[]) {
  const store = service(request).store;
  const names = await store.connectionNames(
    rows.flatMap((r) => (r.enterprise_connection_id ? [r.enterprise_connection_id] : [])),
  );
  const issuer = request.services.oauth.issuer;
  return rows.map((row) => ({
    id: row.id,
    directory_name: row.name,
    directory_endpoint_id: row.endpoint_id,
    status: row.status,
    organization_code: row.org_code,
    provider_code: row.provider_code,
    scim_base_url: DirectoriesService.baseUrl(issuer, row),
    enterprise_connection_id: row.enterprise_connection_id,
    assignable_role_keys: assignableRoleKeys(row),
    enterprise_connection_name: row.enterprise_connection_id
      ? (names.get(row.enterprise_connection_id) ?? null)
      : null,
    last_sync_started_at: isoSeconds(row.last_sync_started_at),
    last_sync_completed_at: isoSeconds(row.last_sync_completed_at),
    last_sync_error: row.last_sync_error,
    created_on: isoSeconds(row.created_at),
  }));
}

/** A name an administrator reads: text, not blank, no control characters. */
function directoryName(value: string | undefined): string {
  const name = value?.trim() ?? "";
  if (!name) throw new ApiError("DIRECTORY_NAME_REQUIRED");
  if (/\p{Cc}/u.test(name)) throw new ApiError("INVALID_REQUEST", "directory_name has control characters");
  return name;
}

export function registerDirectoriesRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/directories",
    {
      schema: {
        ...TAG,
        querystring: ListDirectoriesQuery,
        response: { 200: DirectoriesResponse, ...READ_ERRORS },
      },
      config: { scope: "read:scim_directories" },
    },
    async (request) => {
      const { page_size, starting_after, organization_code } = request.query;
      const limit = page_size ?? DEFAULT_PAGE_SIZE;
      if (limit > MAX_PAGE_SIZE) throw new ApiError("PAGE_SIZE_LIMIT_EXCEEDED");
      const page = await service(request).list(
        limit,
        starting_after ?? undefined,
        organization_code ?? undefined,
      );
      if (!page) throw new ApiError("INVALID_REQUEST", "starting_after does not name a directory");
      return { ...success(), has_more: page.hasMore, directories: await views(request, page.rows) };
    },
  );

  api.post(
    "/directories",
    {
      schema: {
        ...TAG,
        body: CreateDirectoryBody,
        response: { 201: DirectoryResponse, ...POST_ERRORS, ...conflict("Directory") },
      },
      config: { scope: "create:scim_directories" },
    },
    async (request, reply) => {
      const { body } = request;
      const orgCode = body.org_code?.trim();
      if (!orgCode) throw new ApiError("ORGANIZATION_REQUIRED");
      const name = directoryName(body.directory_name);
      if (!body.provider_code) throw new ApiError("PROVIDER_CODE_REQUIRED");
      const created = await service(request).create({
        orgCode,
        name,
        providerCode: body.provider_code,
        enterpriseConnectionId: body.enterprise_connection_id ?? null,
      });
      if (!created.ok) {
        switch (created.error) {
          case "invalid_provider":
            throw new ApiError("INVALID_PROVIDER", "Invalid or disabled provider code");
          case "unknown_organization":
            throw new OrganizationNotFoundOnCreate();
          case "no_enterprise_connections":
            throw new ApiError("NO_ENTERPRISE_CONNECTIONS");
          case "enterprise_connection_required":
            throw new ApiError("ENTERPRISE_CONNECTION_REQUIRED");
          case "invalid_enterprise_connection":
            throw new ApiError("INVALID_ENTERPRISE_CONNECTION");
          case "no_home_realm_domains":
            throw new ApiError(
              "INVALID_ENTERPRISE_CONNECTION",
              "The enterprise connection has no home realm domains; add the organization's domains to it " +
                "(options.home_realm_domains) first: a directory provisions only addresses in them",
            );
          case "directory_exists":
            throw new ApiError("DIRECTORY_EXISTS");
        }
      }
      const [view] = await views(request, [created.row]);
      return reply.code(201).send({
        code: "DIRECTORY_CREATED",
        message: "SCIM directory created successfully",
        directory: { ...view!, secret_token: created.token },
      });
    },
  );

  api.get(
    "/directories/:directory_id",
    {
      schema: {
        ...TAG,
        params: DirectoryParams,
        response: { 200: DirectoryResponse, ...READ_ERRORS, ...notFound("Directory") },
      },
      config: { scope: "read:scim_directories" },
    },
    async (request) => {
      const row = await service(request).store.find(request.params.directory_id);
      if (!row) throw new ApiError("DIRECTORY_NOT_FOUND");
      const [view] = await views(request, [row]);
      return { ...success(), directory: view! };
    },
  );

  api.patch(
    "/directories/:directory_id",
    {
      schema: {
        ...TAG,
        params: DirectoryParams,
        body: UpdateDirectoryBody,
        response: { 200: DirectoryResponse, ...WRITE_ERRORS, ...notFound("Directory") },
      },
      config: { scope: "update:scim_directories" },
    },
    async (request) => {
      const { directory_name, assignable_role_keys } = request.body;
      if (directory_name === undefined && assignable_role_keys === undefined)
        throw new ApiError("NO_FIELDS_TO_UPDATE", "At least one field must be provided for update");
      // The directory's groups then give those roles to the members it provisions: what
      // create:organization_user_roles guards, which update:scim_directories alone must not reach.
      if (assignable_role_keys !== undefined)
        requireScope(request, "create:organization_user_roles", "Letting a directory's groups grant roles");
      const updated = await service(request).update(request.params.directory_id, {
        name: directory_name === undefined ? undefined : directoryName(directory_name),
        assignableRoleKeys: assignable_role_keys,
      });
      if (!updated) throw new ApiError("DIRECTORY_NOT_FOUND");
      if ("unknownRoleKeys" in updated)
        throw new ApiError(
          "INVALID_REQUEST",
          `assignable_role_keys: no role has the key ${updated.unknownRoleKeys.slice(0, 5).join(", ")}`,
        );
      const [view] = await views(request, [updated.row]);
      return { code: "DIRECTORY_UPDATED", message: "SCIM directory updated successfully", directory: view! };
    },
  );

  api.post(
    "/directories/:directory_id/rotate_secret_token",
    {
      schema: {
        ...TAG,
        params: DirectoryParams,
        response: {
          200: DirectoryResponse,
          ...POST_ERRORS,
          ...notFound("Directory"),
          409: { ...ErrorResponse, description: "Another request replaced the token at the same time." },
        },
      },
      config: { scope: "update:scim_directories" },
    },
    async (request) => {
      const rotated = await service(request).rotateToken(request.params.directory_id);
      if (!rotated) throw new ApiError("DIRECTORY_NOT_FOUND");
      if ("conflict" in rotated) throw new ApiError("DIRECTORY_TOKEN_CONFLICT");
      const [view] = await views(request, [rotated.row]);
      return {
        code: "DIRECTORY_TOKEN_ROTATED",
        message: "SCIM directory token rotated: the one before no longer works",
        directory: { ...view!, secret_token: rotated.token },
      };
    },
  );

  // Deleting a directory ends its SCIM endpoint and forgets what it provisioned (links, groups);
  // the accounts and their memberships stay: people are removed through SCIM or by an administrator.
  api.delete(
    "/directories/:directory_id",
    {
      schema: {
        ...TAG,
        params: DirectoryParams,
        response: { 200: DeleteDirectoryResponse, ...WRITE_ERRORS, ...notFound("Directory") },
      },
      config: { scope: "delete:scim_directories" },
    },
    async (request) => {
      if (!(await service(request).store.delete(request.params.directory_id)))
        throw new ApiError("DIRECTORY_NOT_FOUND");
      return {
        code: "DIRECTORY_DELETED",
        message: "SCIM directory deleted successfully",
        directory_id: request.params.directory_id,
      };
    },
  );
}
