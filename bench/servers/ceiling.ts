// The reference ceiling: a bare Fastify server that does nothing but the unavoidable work of each
// scenario — a small JSON body, a pre-serialized JWKS / discovery document, one RS256 signature
// over the same claims Latchkey puts in a machine token (node:crypto on libuv's pool, the
// cheapest way Node signs, and a 2048-bit key like Latchkey's), or one argon2id verification with
// Latchkey's parameters. Latchkey's rows are read as
// ratios of these. Run by bench/run.ts in its own process: PORT, ISSUER, AUDIENCE, SCOPES (space
// separated) and PASSWORD come from the environment.
import { generateKeyPairSync, randomUUID, sign } from "node:crypto";
import formbody from "@fastify/formbody";
import { hash, verify } from "@node-rs/argon2";
import Fastify from "fastify";
import { discoveryDocument } from "../../src/oauth/discovery.js";

const port = Number(process.env.PORT ?? 0);
const issuer = process.env.ISSUER ?? `http://127.0.0.1:${port}`;
const audience = process.env.AUDIENCE ?? `${issuer}/api`;
const scope = process.env.SCOPES ?? "";
const password = process.env.PASSWORD ?? "correct horse battery staple";

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const kid = "0123456789abcdef";
const jwks = JSON.stringify({
  keys: [{ ...publicKey.export({ format: "jwk" }), kid, use: "sig", alg: "RS256" }],
});
const header = Buffer.from(JSON.stringify({ alg: "RS256", kid, typ: "JWT" })).toString("base64url");
const discovery = JSON.stringify(discoveryDocument(issuer));
const passwordHash = await hash(password, { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 });
const scp = scope.split(" ").filter(Boolean);

const app = Fastify();
await app.register(formbody);

app.get("/health", async () => ({ status: "ok" }));
app.get("/json", async () => ({ status: "ok" }));
app.get("/.well-known/jwks", async (_request, reply) =>
  reply.type("application/json; charset=utf-8").send(jwks),
);
app.get("/.well-known/openid-configuration", async (_request, reply) =>
  reply.type("application/json; charset=utf-8").send(discovery),
);
app.post<{ Body: Record<string, string> }>("/token", async (request) => {
  const clientId = request.body?.client_id ?? "client";
  const iat = Math.floor(Date.now() / 1000);
  const claims = {
    aud: [audience],
    azp: clientId,
    gty: ["client_credentials"],
    scope,
    scp,
    v: "2",
    iss: issuer,
    iat,
    exp: iat + 86_400,
    jti: randomUUID(),
  };
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  const signature = await new Promise<Buffer>((resolve, reject) =>
    sign("sha256", Buffer.from(input), privateKey, (error, result) =>
      error ? reject(error) : resolve(result),
    ),
  );
  return {
    access_token: `${input}.${signature.toString("base64url")}`,
    token_type: "bearer",
    expires_in: 86_400,
    scope,
  };
});
app.post<{ Body: Record<string, string> }>("/verify", async (request, reply) => {
  const ok = await verify(passwordHash, request.body?.password ?? "");
  return reply.code(ok ? 200 : 401).send({ ok });
});

await app.listen({ port, host: "127.0.0.1" });
process.stdout.write(`ceiling listening on ${port}\n`);
process.once("SIGTERM", () => void app.close().then(() => process.exit(0)));
