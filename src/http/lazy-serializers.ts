// Response serializers compiled on first use instead of at start-up. The Management API declares a
// response schema per (route, status) — several hundred, mostly error shapes a process rarely
// sends — and Fastify compiles every one of them (fast-json-stringify generates code) before it
// listens: that was about a third of the time to ready and ~13 MB of resident memory. Compiled
// lazily, each costs its few milliseconds once, on the first response that needs it.
import { createRequire } from "node:module";
import type { FastifyServerOptions } from "fastify";

type Serialize = (data: unknown) => string;
type BuildSerializer = (externalSchemas: unknown, options: unknown) => (route: unknown) => Serialize;
type BuildValidator = (externalSchemas: unknown, options: unknown) => (route: unknown) => unknown;
/** Fastify's type for it: overloads for Ajv and JTD that a pass-through cannot spell. */
type ValidatorFactory = NonNullable<
  NonNullable<NonNullable<FastifyServerOptions["schemaController"]>["compilersFactory"]>["buildValidator"]
>;

// The very compilers Fastify would load itself, resolved from Fastify's own location — and loaded
// only when first needed: fast-json-stringify and @fastify/ajv-compiler each bring ajv with them
// (~100 ms of start-up together), and every route that validates sets its own compiler
// (management/validation.ts), so the default validator is not even used today.
const requireFromFastify = (id: string) => createRequire(import.meta.resolve("fastify"))(id) as unknown;
let serializerSelector: (() => BuildSerializer) | undefined;
let validatorSelector: (() => BuildValidator) | undefined;

/**
 * Fastify's `schemaController` option: the default serializer compiler, deferred per route, and
 * the default (Ajv) validator compiler, loaded when a route first needs it.
 *
 * Supplying buildValidator marks the root's validator as custom, which only changes one thing in
 * Fastify: a `headers` schema is handed to the compiler as written instead of with lower-cased
 * property names. Write header schemas in lower case (as Node delivers the headers).
 */
export const lazySerializers = {
  compilersFactory: {
    buildSerializer(externalSchemas: unknown, options: unknown) {
      let build: ((route: unknown) => Serialize) | undefined;
      return (route: unknown): Serialize => {
        let serialize: Serialize | undefined;
        return (data) => {
          if (serialize === undefined) {
            serializerSelector ??= requireFromFastify(
              "@fastify/fast-json-stringify-compiler",
            ) as () => BuildSerializer;
            build ??= serializerSelector()(externalSchemas, options);
            serialize = build(route);
          }
          return serialize(data);
        };
      };
    },
    buildValidator: ((externalSchemas: unknown, options: unknown) => {
      let compile: ((route: unknown) => unknown) | undefined;
      return (route: unknown) => {
        validatorSelector ??= requireFromFastify("@fastify/ajv-compiler") as () => BuildValidator;
        compile ??= validatorSelector()(externalSchemas, options);
        return compile(route);
      };
    }) as unknown as ValidatorFactory,
  },
};
