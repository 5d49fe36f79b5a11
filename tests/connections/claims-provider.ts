// A small OpenID provider whose ID tokens say whatever the test sets in `person` (sub, e-mail,
// names, picture …), for the connection options that act on those claims. /authorize answers at
// once (no login page): a test plays the browser with UserAgent, or drives Chromium through it.
// Discovery, JWKS and an RS256-signed ID token with the request's nonce and `iss` in the
// authorization response (RFC 9207) are real, so Latchkey validates everything as for any provider.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

type Json = Record<string, unknown>;

export interface ClaimsProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The claims of the next ID token besides iss, aud, nonce, iat and exp (sub included). */
  person: Json;
  /** Plays the browser at the provider: the callback URL it sends back to (code, state, iss). */
  authorize(authorizationUrl: URL): Promise<URL>;
  close(): Promise<void>;
}

export async function startClaimsProvider(person: Json): Promise<ClaimsProvider> {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "claims-1", alg: "RS256", use: "sig" };
  const codes = new Map<string, { nonce: string; person: Json }>();
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const issuer = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  const provider: ClaimsProvider = {
    issuer,
    clientId: `claims-${randomBytes(4).toString("hex")}`,
    clientSecret: randomBytes(24).toString("base64url"),
    person,
    async authorize(authorizationUrl) {
      const response = await fetch(authorizationUrl, { redirect: "manual" });
      await response.text();
      return new URL(response.headers.get("location") ?? "about:blank");
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const json = (response: ServerResponse, status: number, body: unknown) =>
    response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  server.on("request", async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", issuer);
    if (url.pathname === "/.well-known/openid-configuration")
      return json(response, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ["code"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["RS256"],
        authorization_response_iss_parameter_supported: true,
      });
    if (url.pathname === "/jwks") return json(response, 200, { keys: [jwk] });
    if (url.pathname === "/authorize") {
      if (url.searchParams.get("client_id") !== provider.clientId) return json(response, 400, {});
      const code = randomBytes(16).toString("hex");
      // The person as they are when they sign in (a later change is a later sign-in's).
      codes.set(code, { nonce: url.searchParams.get("nonce") ?? "", person: { ...provider.person } });
      const back = new URL(url.searchParams.get("redirect_uri") ?? "");
      back.searchParams.set("code", code);
      back.searchParams.set("state", url.searchParams.get("state") ?? "");
      back.searchParams.set("iss", issuer);
      return response.writeHead(302, { location: back.href }).end();
    }
    if (url.pathname === "/token" && request.method === "POST") {
      let raw = "";
      for await (const chunk of request) raw += chunk;
      const code = new URLSearchParams(raw).get("code") ?? "";
      const minted = codes.get(code);
      codes.delete(code);
      if (!minted) return json(response, 400, { error: "invalid_grant" });
      const now = Math.floor(Date.now() / 1000);
      const idToken = await new SignJWT({ ...minted.person, nonce: minted.nonce })
        .setProtectedHeader({ alg: "RS256", kid: "claims-1" })
        .setIssuer(issuer)
        .setAudience(provider.clientId)
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(privateKey);
      return json(response, 200, { access_token: "at", token_type: "Bearer", id_token: idToken });
    }
    response.writeHead(404).end();
  });
  return provider;
}
