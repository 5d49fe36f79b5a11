// Request and response shapes of Kinde's /api/v1/environment_variables.
import { Type } from "@sinclair/typebox";
import { SuccessResponse } from "../management/schemas.js";

// Kinde: key at most 128 characters, value at most 2048. Names as a shell or a .env file takes them.
const Key = Type.String({ minLength: 1, maxLength: 128, pattern: "^[A-Za-z_][A-Za-z0-9_]*$" });
const Value = Type.String({ maxLength: 2048 });

export const EnvironmentVariable = Type.Object({
  id: Type.String(),
  key: Type.String(),
  value: Type.Union([Type.String(), Type.Null()], { description: "null for a secret variable" }),
  is_secret: Type.Boolean(),
  created_on: Type.String(),
});

export const VariableParams = Type.Object({ variable_id: Type.String({ maxLength: 100 }) });

export const CreateVariableBody = Type.Object({
  key: Key,
  value: Value,
  is_secret: Type.Optional(Type.Boolean()),
});

export const UpdateVariableBody = Type.Object({
  key: Type.Optional(Key),
  value: Type.Optional(Value),
  is_secret: Type.Optional(Type.Boolean()),
});

export const VariablesResponse = Type.Object({
  ...SuccessResponse.properties,
  has_more: Type.Boolean(),
  environment_variables: Type.Array(EnvironmentVariable),
});

export const VariableResponse = Type.Object({
  ...SuccessResponse.properties,
  environment_variable: EnvironmentVariable,
});

export const CreateVariableResponse = Type.Object({
  ...SuccessResponse.properties,
  environment_variable: Type.Object({ id: Type.String() }),
});
