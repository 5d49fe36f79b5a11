// The peer: `oidc-provider` (a certified OpenID Provider), configured as close to Latchkey's
// client-credentials path as it allows — one confidential client authenticating with
// client_secret_post, RS256 JWT access tokens for a resource indicator (RFC 8707) carrying the same
// scopes, a 2048-bit RSA key. Run by bench/run.ts in its own process; PORT, AUDIENCE, SCOPES,
// CLIENT_ID and CLIENT_SECRET come from the environment.
import { generateKeyPair } from "node:crypto";
import { createServer } from "node:http";
import { promisify } from "node:util";
// oidc-provider ships no type declarations; the surface used here is typed below.
// @ts-expect-error TS7016: no declaration file for "oidc-provider"
import OidcProviderModule from "oidc-provider";

const Provider = OidcProviderModule as new (
  issuer: string,
  configuration: Record<string, unknown>,
) => { callback(): Parameters<typeof createServer>[1] };

const port = Number(process.env.PORT ?? 0);
const issuer = `http://127.0.0.1:${port}`;
const audience = process.env.AUDIENCE ?? `${issuer}/api`;
const scopes = process.env.SCOPES ?? "";
const clientId = process.env.CLIENT_ID ?? "bench-client";
const clientSecret = process.env.CLIENT_SECRET ?? "bench-secret-bench-secret-bench-secret-00";

const { privateKey } = await promisify(generateKeyPair)("rsa", { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: "jwk" }), use: "sig", kid: "bench-key-1", alg: "RS256" };

/** Map storage: oidc-provider's default memory adapter is an LRU that warns at every start. */
function mapAdapter() {
  const store = new Map<string, { payload: Record<string, unknown>; expiresAt: number }>();
  return (model: string) => ({
    async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number) {
      store.set(`${model}:${id}`, {
        payload,
        expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Infinity,
      });
    },
    async find(id: string) {
      const entry = store.get(`${model}:${id}`);
      return entry && entry.expiresAt > Date.now() ? entry.payload : undefined;
    },
    async findByUid() {
      return undefined;
    },
    async findByUserCode() {
      return undefined;
    },
    async consume(id: string) {
      const entry = store.get(`${model}:${id}`);
      if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
    },
    async destroy(id: string) {
      store.delete(`${model}:${id}`);
    },
    async revokeByGrantId() {},
  });
}

const provider = new Provider(issuer, {
  adapter: mapAdapter(),
  jwks: { keys: [jwk] },
  cookies: { keys: ["bench-cookie-key-bench-cookie-key"] },
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: "client_secret_post",
    },
  ],
  scopes: ["openid", ...scopes.split(" ").filter(Boolean)],
  ttl: { ClientCredentials: 86_400 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: scopes,
        audience,
        accessTokenTTL: 86_400,
        accessTokenFormat: "jwt",
        jwt: { sign: { alg: "RS256" } },
      }),
    },
  },
});

const server = createServer(provider.callback());
server.listen(port, "127.0.0.1", () => process.stdout.write(`oidc-provider listening on ${port}\n`));
process.once("SIGTERM", () => server.close(() => process.exit(0)));
