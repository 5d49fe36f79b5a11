// Management API: API keys for customers' APIs (Kinde's /api/v1/api_keys), listed with page_size +
// starting_after and has_more (default page 50, as Kinde's), and the public verification a
// customer's API calls with a key its caller presented.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ApiError } from "../management/errors.js";
import { notFound, POST_ERRORS, READ_ERRORS, WRITE_ERRORS } from "../management/responses.schemas.js";
import { isoSeconds, MAX_PAGE_SIZE, SuccessResponse, success } from "../management/schemas.js";
import { clientNetwork } from "../sign-in/rate-limit.js";
import {
  ApiKeyParams,
  ApiKeyResponse,
  ApiKeysResponse,
  CreateApiKeyBody,
  CreateApiKeyResponse,
  ListApiKeysQuery,
  RotateApiKeyResponse,
  VerifyApiKeyBody,
  VerifyApiKeyResponse,
} from "./api-keys.schemas.js";
import { ApiKeysService, keyPrefix } from "./api-keys.service.js";
import type { ApiKeyRow, KeyScope } from "./api-keys.store.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** A Management API operation anyone may call, without a token (management.plugin.ts). */
    public?: boolean;
  }
}

const TAG = { tags: ["API Keys"] };
const DEFAULT_PAGE_SIZE = 50;
/** Every verification from one network, and the failed ones (keys that are not keys), per window. */
export const VERIFY_LIMIT = { max: 600, windowSeconds: 60 } as const;
export const FAILED_VERIFY_LIMIT = { max: 30, windowSeconds: 600 } as const;

const service = (request: FastifyRequest) => new ApiKeysService(request.services.db, request.services.clock);

function keyView(row: ApiKeyRow, scopes: readonly KeyScope[]) {
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    status: row.status,
    key_prefix: keyPrefix(row),
    key_suffix: row.key_suffix,
    created_on: isoSeconds(row.created_at),
    last_verified_on: isoSeconds(row.last_verified_at),
    last_verified_ip: row.last_verified_ip,
    created_by: row.created_by,
    api_ids: [row.api_id],
    scopes: scopes.map((s) => s.key),
  };
}

/** Who is making a key, as the list names them: the administrator, or the calling application. */
async function creatorName(request: FastifyRequest): Promise<string | null> {
  const { caller, services } = request;
  if (!caller) return null;
  if (caller.userId) {
    const user = await services.users.store.findById(caller.userId);
    const name = [user?.given_name, user?.family_name].filter(Boolean).join(" ");
    return name || user?.email || null;
  }
  return (await services.applications.store.findById(caller.clientId))?.name ?? null;
}

async function findKey(request: FastifyRequest, id: string): Promise<ApiKeyRow> {
  const row = await service(request).store.find(id);
  if (!row) throw new ApiError("API_KEY_NOT_FOUND");
  return row;
}

export function registerApiKeysRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/api_keys",
    {
      schema: { ...TAG, querystring: ListApiKeysQuery, response: { 200: ApiKeysResponse, ...READ_ERRORS } },
      config: { scope: "read:api_keys" },
    },
    async (request) => {
      const { page_size, starting_after, key_type, status, user_id, org_code } = request.query;
      const limit = page_size ?? DEFAULT_PAGE_SIZE;
      if (limit > MAX_PAGE_SIZE) throw new ApiError("PAGE_SIZE_LIMIT_EXCEEDED");
      const keys = service(request);
      const page = await keys.list(
        {
          type: key_type ?? undefined,
          status: status ?? undefined,
          userId: user_id ?? undefined,
          orgCode: org_code ?? undefined,
        },
        limit,
        starting_after ?? undefined,
      );
      if (!page) throw new ApiError("INVALID_REQUEST", "starting_after does not name an API key");
      const scopes = await keys.store.scopes(page.rows.map((r) => r.id));
      return {
        ...success(),
        has_more: page.hasMore,
        api_keys: page.rows.map((row) => keyView(row, scopes.get(row.id) ?? [])),
      };
    },
  );

  api.post(
    "/api_keys",
    {
      schema: {
        ...TAG,
        body: CreateApiKeyBody,
        response: {
          201: CreateApiKeyResponse,
          ...POST_ERRORS,
          ...notFound("API, scope, user or organization"),
        },
      },
      config: { scope: "create:api_keys" },
    },
    async (request, reply) => {
      const { body } = request;
      const name = body.name.trim();
      if (!name || /\p{Cc}/u.test(name))
        throw new ApiError("INVALID_REQUEST", "name must be text, not blank, without control characters");
      const created = await service(request).create({
        name,
        type: body.type,
        apiId: body.api_id,
        scopeIds: body.scope_ids ?? [],
        userId: body.user_id ?? null,
        orgCode: body.org_code ?? null,
        createdBy: await creatorName(request),
      });
      if (!created.ok) {
        switch (created.error) {
          case "owner":
            throw new ApiError(
              "INVALID_REQUEST",
              "A user key names user_id only, an organization key org_code only, an environment key neither",
            );
          case "unknown_api":
            throw new ApiError("API_NOT_FOUND");
          case "management_api":
            throw new ApiError(
              "MANAGEMENT_API_PROTECTED",
              "API keys are for your own APIs, not the Management API",
            );
          case "unknown_scope":
            throw new ApiError("SCOPE_NOT_FOUND", `The API has no scope ${created.scopeId}`);
          case "unknown_user":
            throw new ApiError("USER_NOT_FOUND");
          case "unknown_organization":
            throw new ApiError("ORGANIZATION_NOT_FOUND");
        }
      }
      return reply.code(201).send({
        message: "API key created",
        code: "API_KEY_CREATED",
        api_key: { id: created.row.id, key: created.key },
      });
    },
  );

  api.get(
    "/api_keys/:key_id",
    {
      schema: {
        ...TAG,
        params: ApiKeyParams,
        response: { 200: ApiKeyResponse, ...READ_ERRORS, ...notFound("API key") },
      },
      config: { scope: "read:api_keys" },
    },
    async (request) => {
      const row = await findKey(request, request.params.key_id);
      const scopes = await service(request).store.scopes([row.id]);
      return {
        ...success(),
        api_key: {
          ...keyView(row, scopes.get(row.id) ?? []),
          verification_count: row.verification_count,
          organization_id: row.org_code,
          user_id: row.user_id,
        },
      };
    },
  );

  api.put(
    "/api_keys/:key_id",
    {
      schema: {
        ...TAG,
        params: ApiKeyParams,
        response: { 201: RotateApiKeyResponse, ...WRITE_ERRORS, ...notFound("API key") },
      },
      config: { scope: "update:api_keys" },
    },
    async (request, reply) => {
      const key = await service(request).rotate(request.params.key_id);
      if (!key) throw new ApiError("API_KEY_NOT_FOUND");
      return reply.code(201).send({
        code: "API_KEY_ROTATED",
        message: "API key rotated successfully",
        api_key: { id: request.params.key_id, key },
      });
    },
  );

  api.delete(
    "/api_keys/:key_id",
    {
      schema: {
        ...TAG,
        params: ApiKeyParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...notFound("API key") },
      },
      config: { scope: "delete:api_keys" },
    },
    async (request) => {
      if (!(await service(request).store.delete(request.params.key_id)))
        throw new ApiError("API_KEY_NOT_FOUND");
      return success("API key deleted");
    },
  );

  // Public, as Kinde's: the customer's API calls it with the key its own caller presented, and has no
  // token of ours. Limited per calling network instead: every call, and more tightly the calls with
  // a key that is not one (a failure is counted after it; concurrent guesses may pass the limit by
  // the handful in flight, never by more). A key that is not live is a 401, never a 200 with
  // is_valid false: an API that only looks at the status cannot let it through.
  api.post(
    "/api_keys/verify",
    {
      schema: {
        ...TAG,
        security: [],
        body: VerifyApiKeyBody,
        response: { 200: VerifyApiKeyResponse, ...POST_ERRORS },
      },
      config: { public: true },
    },
    async (request, reply) => {
      const { rateLimiter } = request.services;
      const network = clientNetwork(request.ip);
      const limited = (retryAfter: number) =>
        new ApiError("TOO_MANY_REQUESTS", "Too many API key verifications from this network", {
          "retry-after": String(retryAfter),
          "ratelimit-reset": String(retryAfter),
        });
      const all = await rateLimiter.consume(`api-key-verify:ip:${network}`, VERIFY_LIMIT);
      if (!all.allowed) throw limited(all.resetIn);
      const failedKey = `api-key-verify-failed:ip:${network}`;
      const wait = await rateLimiter.retryAfter(failedKey, FAILED_VERIFY_LIMIT);
      if (wait > 0) throw limited(wait);
      const outcome = await service(request).verify(request.body.api_key, request.ip);
      if (!outcome.ok) {
        await rateLimiter.hit(failedKey, FAILED_VERIFY_LIMIT);
        throw new ApiError("API_KEY_INVALID");
      }
      const { row, scopes } = outcome;
      return reply.send({
        code: "API_KEY_VERIFIED",
        message: "API key verified",
        is_valid: true,
        key_id: row.id,
        status: row.status,
        scopes: scopes.map((s) => s.key),
        org_code: row.org_code,
        user_id: row.user_id,
        last_verified_on: isoSeconds(row.last_verified_at),
        verification_count: row.verification_count,
        api_ids: [row.api_id],
      });
    },
  );
}
