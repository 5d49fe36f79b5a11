// Management API validation with TypeBox's own compiler. JSON bodies are checked exactly: no type
// coercion, so `{"name": 5}` or `{"applications": {"id": "…"}}` is a 400 instead of being quietly
// turned into "5" or a one-item array (Fastify's default Ajv coerces). Query strings and path
// parameters arrive as text, so there numbers and booleans are converted ("10" → 10) first.
import type { TSchema } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import type { FastifySchemaCompiler } from "fastify";

/** What a union accepts, in words: "string or null", "\"scopes\" or \"\" or null". */
function alternatives(schema: TSchema): string[] {
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as TSchema[]).flatMap(alternatives);
  if (schema.const !== undefined) return [JSON.stringify(schema.const)];
  return [typeof schema.type === "string" ? schema.type : "value"];
}

// Fastify types a route's compiler by the whole route schema; at run time it gets one part's schema.
export const managementValidator: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  // Bodies name every field they accept: an unknown field is a mistake to report, not to drop.
  const check = TypeCompiler.Compile((httpPart === "body" ? closed(schema as TSchema) : schema) as TSchema);
  const convert = httpPart !== "body";
  return (input: unknown) => {
    const data = convert ? convertText(schema as TSchema, input) : input;
    if (check.Check(data)) return { value: data };
    const first = check.Errors(data).First();
    const where = `${httpPart ?? "request"}${first?.path ?? ""}`;
    const message = !first
      ? "is not valid"
      : Array.isArray(first.schema.anyOf)
        ? `Expected ${alternatives(first.schema).join(" or ")}`
        : first.message;
    return { error: new Error(`${where}: ${message}`) };
  };
};

/** The JSON types a schema admits, looking through unions (Optional/nullable). */
function typesOf(schema: TSchema): Set<string> {
  if (Array.isArray(schema.anyOf))
    return new Set((schema.anyOf as TSchema[]).flatMap((s) => [...typesOf(s)]));
  return new Set(typeof schema.type === "string" ? [schema.type] : []);
}

/**
 * Converts a query string's or path's text values to the numbers and booleans its schema expects,
 * only when the text is exactly such a value ("10", "true"): "1.5" stays text and fails an integer.
 */
function convertText(schema: TSchema, input: unknown): unknown {
  const properties = schema.properties as Record<string, TSchema> | undefined;
  if (!properties || typeof input !== "object" || input === null) return input;
  const output: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  for (const [name, value] of Object.entries(output)) {
    const property = properties[name];
    if (!property || typeof value !== "string") continue;
    const types = typesOf(property);
    if ((types.has("integer") || types.has("number")) && /^-?\d{1,15}$/.test(value))
      output[name] = Number(value);
    else if (types.has("number") && /^-?\d{1,15}\.\d{1,15}$/.test(value)) output[name] = Number(value);
    else if (types.has("boolean") && (value === "true" || value === "false")) output[name] = value === "true";
  }
  return output;
}

/** A copy of `schema` in which every object schema refuses properties it does not declare. */
function closed(schema: TSchema): TSchema {
  if (Array.isArray(schema)) return schema.map(closed) as unknown as TSchema;
  if (schema === null || typeof schema !== "object") return schema;
  const copy: Record<string | symbol, unknown> = {};
  for (const key of Reflect.ownKeys(schema)) {
    const value = (schema as unknown as Record<string | symbol, unknown>)[key];
    copy[key] = value !== null && typeof value === "object" ? closed(value as TSchema) : value;
  }
  if (copy.type === "object" && copy.properties && copy.additionalProperties === undefined) {
    copy.additionalProperties = false;
  }
  return copy as unknown as TSchema;
}
