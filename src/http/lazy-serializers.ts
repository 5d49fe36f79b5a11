// Response serializers compiled on first use instead of at start-up. The Management API declares a
// response schema per (route, status) — several hundred, mostly error shapes a process rarely
// sends — and Fastify compiles every one of them (fast-json-stringify generates code) before it
// listens: that was about a third of the time to ready and ~13 MB of resident memory. Compiled
// lazily, each costs its few milliseconds once, on the first response that needs it.
import { createRequire } from "node:module";

type Serialize = (data: unknown) => string;
type BuildSerializer = (externalSchemas: unknown, options: unknown) => (route: unknown) => Serialize;

// The very compiler Fastify would load itself, resolved from Fastify's own location.
const SerializerSelector = createRequire(import.meta.resolve("fastify"))(
  "@fastify/fast-json-stringify-compiler",
) as () => BuildSerializer;

/** Fastify's `schemaController` option: the default serializer compiler, deferred per route. */
export const lazySerializers = {
  compilersFactory: {
    buildSerializer(externalSchemas: unknown, options: unknown) {
      const build = SerializerSelector()(externalSchemas, options);
      return (route: unknown): Serialize => {
        let serialize: Serialize | undefined;
        return (data) => {
          serialize ??= build(route);
          return serialize(data);
        };
      };
    },
  },
};
