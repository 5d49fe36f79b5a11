// Management API: Kinde's environment variables (/api/v1/environment_variables). Every value is
// sealed at rest; a secret one is answered as null from the moment it is written (Kinde: "Secrets
// are not-readable by you or your team after creation"), and cannot be made readable again.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { ApiError } from "../management/errors.js";
import {
  conflict,
  notFound,
  POST_ERRORS,
  READ_ERRORS,
  WRITE_ERRORS,
} from "../management/responses.schemas.js";
import { isoSeconds, SuccessResponse, success } from "../management/schemas.js";
import {
  CreateVariableBody,
  CreateVariableResponse,
  UpdateVariableBody,
  VariableParams,
  VariableResponse,
  VariablesResponse,
} from "./environment-variables.schemas.js";
import type { EnvironmentVariable } from "./environment-variables.store.js";

const TAG = { tags: ["Environment variables"] };

const view = (variable: EnvironmentVariable) => ({
  id: variable.id,
  key: variable.key,
  value: variable.value,
  is_secret: variable.isSecret,
  created_on: isoSeconds(variable.createdAt),
});

/** A value no shell or .env file could hold is refused rather than stored to surprise later. */
function valueProblem(value: string | undefined): string | undefined {
  return value?.includes("\u0000") ? "value must not contain NUL characters" : undefined;
}

export function registerEnvironmentVariablesRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/environment_variables",
    {
      schema: { ...TAG, response: { 200: VariablesResponse, ...READ_ERRORS } },
      config: { scope: "read:environment_variables" },
    },
    async (request) => ({
      ...success(),
      // Kinde's list takes no paging parameters; every variable fits one answer.
      has_more: false,
      environment_variables: (await request.services.environmentVariables.list()).map(view),
    }),
  );

  api.post(
    "/environment_variables",
    {
      schema: {
        ...TAG,
        body: CreateVariableBody,
        response: { 201: CreateVariableResponse, ...POST_ERRORS, ...conflict("Environment variable") },
      },
      config: { scope: "create:environment_variables" },
    },
    async (request, reply) => {
      const { key, value, is_secret } = request.body;
      const problem = valueProblem(value);
      if (problem) throw new ApiError("INVALID_REQUEST", problem);
      const id = await request.services.environmentVariables.create({
        key,
        value,
        isSecret: is_secret === true,
      });
      if (!id) throw new ApiError("ENVIRONMENT_VARIABLE_EXISTS");
      reply.code(201);
      return { ...success("Environment variable created", "VARIABLE_CREATED"), environment_variable: { id } };
    },
  );

  api.get(
    "/environment_variables/:variable_id",
    {
      schema: {
        ...TAG,
        params: VariableParams,
        response: { 200: VariableResponse, ...READ_ERRORS, ...notFound("Environment variable") },
      },
      config: { scope: "read:environment_variables" },
    },
    async (request) => {
      const variable = await request.services.environmentVariables.find(request.params.variable_id);
      if (!variable) throw new ApiError("ENVIRONMENT_VARIABLE_NOT_FOUND");
      return { ...success(), environment_variable: view(variable) };
    },
  );

  api.patch(
    "/environment_variables/:variable_id",
    {
      schema: {
        ...TAG,
        params: VariableParams,
        body: UpdateVariableBody,
        response: {
          200: SuccessResponse,
          ...WRITE_ERRORS,
          ...notFound("Environment variable"),
          ...conflict("Environment variable"),
        },
      },
      config: { scope: "update:environment_variables" },
    },
    async (request) => {
      const { key, value, is_secret } = request.body;
      if (key === undefined && value === undefined && is_secret === undefined)
        throw new ApiError("NO_FIELDS_TO_UPDATE");
      const problem = valueProblem(value);
      if (problem) throw new ApiError("INVALID_REQUEST", problem);
      const variables = request.services.environmentVariables;
      const current = await variables.find(request.params.variable_id);
      if (!current) throw new ApiError("ENVIRONMENT_VARIABLE_NOT_FOUND");
      if (current.isSecret && is_secret === false)
        throw new ApiError(
          "INVALID_REQUEST",
          "A secret environment variable stays secret; create a new one instead",
        );
      const outcome = await variables.update(current.id, { key, value, isSecret: is_secret });
      if (outcome === "missing") throw new ApiError("ENVIRONMENT_VARIABLE_NOT_FOUND");
      if (outcome === "taken") throw new ApiError("ENVIRONMENT_VARIABLE_EXISTS");
      return success("Environment variable updated", "ENVIRONMENT_VARIABLE_UPDATED");
    },
  );

  api.delete(
    "/environment_variables/:variable_id",
    {
      schema: {
        ...TAG,
        params: VariableParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...notFound("Environment variable") },
      },
      config: { scope: "delete:environment_variables" },
    },
    async (request) => {
      if (!(await request.services.environmentVariables.delete(request.params.variable_id)))
        throw new ApiError("ENVIRONMENT_VARIABLE_NOT_FOUND");
      return success("Environment variable deleted", "ENVIRONMENT_VARIABLE_DELETED");
    },
  );
}
