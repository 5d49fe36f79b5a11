// One local server that behaves like X, Discord, Facebook, Bitbucket and Patreon (plain OAuth 2.0
// with their user APIs) and like Slack, LinkedIn, Twitch and Xero (OpenID providers found through
// discovery), each with the quirks Latchkey must meet: X refuses a token request without the right
// PKCE code_verifier or without HTTP Basic; Patreon and Facebook answer only the fields asked for;
// Facebook wants appsecret_proof; Twitch puts the address in the ID token only on a claims request.
// Tests point Latchkey at it with CONNECTION_PROVIDERS_FILE (overridesFor).
import { createHash, createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

type Json = Record<string, unknown>;

/** What the next answers say about the person; a test sets it before each sign-in. */
export interface Person {
  id?: string;
  name?: string;
  username?: string;
  email?: string;
  /** The provider's word on the address (Discord's verified, Patreon's is_email_verified, OIDC's). */
  verified?: boolean;
  /** Bitbucket's /2.0/user/emails entries. */
  emails?: Json[];
}

interface Code {
  provider: string;
  nonce: string;
  clientId: string;
  challenge: string;
  method: string;
  claims: string;
}

export interface Programmable {
  origin: string;
  person: Person;
  /** Token requests each provider refused, with why (X's PKCE and Basic checks among them). */
  refusals: { provider: string; why: string }[];
  /** The last authorization request's query, per provider. */
  authorizations: Map<string, URLSearchParams>;
  /** The user API requests' URLs, per provider. */
  userApiCalls: Map<string, URL[]>;
  close(): Promise<void>;
}

/** The OpenID providers this server plays, by their path (the issuer is origin + path). */
const OIDC = { slack: "/slack", linkedin: "/linkedin/oauth", twitch: "/twitch/oauth2", xero: "/xero" };

/** CONNECTION_PROVIDERS_FILE's content pointing every strategy played here at `origin`. */
export function overridesFor(origin: string): Json {
  return {
    "oauth2:twitter": {
      authorizationUrl: `${origin}/x/i/oauth2/authorize`,
      tokenUrl: `${origin}/x/2/oauth2/token`,
      userUrl: `${origin}/x/2/users/me`,
    },
    "oauth2:discord": {
      authorizationUrl: `${origin}/discord/oauth2/authorize`,
      tokenUrl: `${origin}/discord/api/oauth2/token`,
      userUrl: `${origin}/discord/api/users/@me`,
    },
    "oauth2:facebook": {
      authorizationUrl: `${origin}/facebook/dialog/oauth`,
      tokenUrl: `${origin}/facebook/oauth/access_token`,
      userUrl: `${origin}/facebook/me`,
    },
    "oauth2:bitbucket": {
      authorizationUrl: `${origin}/bitbucket/site/oauth2/authorize`,
      tokenUrl: `${origin}/bitbucket/site/oauth2/access_token`,
      userUrl: `${origin}/bitbucket/2.0/user`,
      emailsUrl: `${origin}/bitbucket/2.0/user/emails`,
    },
    "oauth2:patreon": {
      authorizationUrl: `${origin}/patreon/oauth2/authorize`,
      tokenUrl: `${origin}/patreon/api/oauth2/token`,
      userUrl: `${origin}/patreon/api/oauth2/v2/identity`,
    },
    "oauth2:slack": { issuer: `${origin}${OIDC.slack}` },
    "oauth2:linkedin": { issuer: `${origin}${OIDC.linkedin}` },
    "oauth2:twitch": { issuer: `${origin}${OIDC.twitch}` },
    "oauth2:xero": { issuer: `${origin}${OIDC.xero}` },
  };
}

/** The client secret every connection of the tests is created with. */
export const CLIENT_SECRET = "s3cret";
const ACCESS_TOKEN = "at-of-the-person";

export async function startProgrammable(): Promise<Programmable> {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  const codes = new Map<string, Code>();
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const origin = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  const p: Programmable = {
    origin,
    person: {},
    refusals: [],
    authorizations: new Map(),
    userApiCalls: new Map(),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const json = (response: ServerResponse, status: number, body: unknown) =>
    response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  const refuse = (response: ServerResponse, provider: string, why: string) => {
    p.refusals.push({ provider, why });
    return json(response, 400, { error: "invalid_request", error_description: why });
  };

  const idToken = (issuer: string, code: Code, claims: Json) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ nonce: code.nonce, ...claims })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(issuer)
      .setSubject(p.person.id ?? "person-1")
      .setAudience(code.clientId)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(privateKey);
  };

  /** The OpenID provider's token answer: what each puts in its ID token. */
  const oidcTokens = async (provider: keyof typeof OIDC, code: Code) => {
    const person = p.person;
    const issuer = `${origin}${OIDC[provider]}`;
    const address = { email: person.email, email_verified: person.verified };
    let claims: Json;
    if (provider === "twitch") {
      // The address only when the claims request names it (Twitch's documented behaviour).
      const asked = (JSON.parse(code.claims || "{}") as { id_token?: Json }).id_token ?? {};
      claims = { preferred_username: person.username };
      if ("email" in asked) claims.email = person.email;
      if ("email_verified" in asked) claims.email_verified = person.verified;
    } else if (provider === "xero") {
      // Xero's ID token: an address, no email_verified.
      claims = { email: person.email, given_name: person.name, xero_userid: person.id };
    } else if (provider === "slack") {
      claims = { ...address, name: person.name, "https://slack.com/team_id": "T0001" };
    } else {
      claims = { ...address, given_name: person.name };
    }
    return {
      access_token: ACCESS_TOKEN,
      token_type: "Bearer",
      id_token: await idToken(issuer, code, claims),
    };
  };

  server.on("request", async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", origin);
    const route = url.pathname;
    const provider = route.split("/")[1] ?? "";
    const person = p.person;
    if (route === "/jwks") return json(response, 200, { keys: [jwk] });

    const oidc = (Object.entries(OIDC) as [keyof typeof OIDC, string][]).find(
      ([, path]) => route === `${path}/.well-known/openid-configuration`,
    );
    if (oidc) {
      const issuer = `${origin}${oidc[1]}`;
      return json(response, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${origin}/jwks`,
        response_types_supported: ["code"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["RS256"],
        // Slack, LinkedIn and Twitch take the client's secret in the body only.
        ...(oidc[0] === "xero" ? {} : { token_endpoint_auth_methods_supported: ["client_secret_post"] }),
        ...(oidc[0] === "twitch" ? { claims_parameter_supported: true } : {}),
      });
    }

    if (/\/(authorize|dialog\/oauth)$/.test(route)) {
      p.authorizations.set(provider, url.searchParams);
      const code = `code-${Math.random().toString(16).slice(2)}`;
      codes.set(code, {
        provider,
        nonce: url.searchParams.get("nonce") ?? "",
        clientId: url.searchParams.get("client_id") ?? "",
        challenge: url.searchParams.get("code_challenge") ?? "",
        method: url.searchParams.get("code_challenge_method") ?? "",
        claims: url.searchParams.get("claims") ?? "",
      });
      const back = new URL(url.searchParams.get("redirect_uri")!);
      back.searchParams.set("code", code);
      back.searchParams.set("state", url.searchParams.get("state") ?? "");
      return response.writeHead(302, { location: back.href }).end();
    }

    if (/\/(token|access_token)$/.test(route) && request.method === "POST") {
      let raw = "";
      for await (const chunk of request) raw += chunk;
      const form = new URLSearchParams(raw);
      const code = codes.get(form.get("code") ?? "");
      codes.delete(form.get("code") ?? "");
      if (!code || code.provider !== provider) return json(response, 400, { error: "invalid_grant" });
      const basic = request.headers.authorization?.startsWith("Basic ")
        ? Buffer.from(request.headers.authorization.slice(6), "base64").toString()
        : undefined;
      if (provider === "x") {
        // X: a confidential client authenticates with HTTP Basic, and PKCE is not optional.
        if (basic !== `${code.clientId}:${CLIENT_SECRET}`)
          return refuse(response, provider, "no Basic credentials");
        const verifier = form.get("code_verifier");
        if (!verifier || code.method !== "S256")
          return refuse(response, provider, "code_verifier and an S256 challenge are required");
        if (createHash("sha256").update(verifier).digest("base64url") !== code.challenge)
          return refuse(response, provider, "the code_verifier does not match the challenge");
      }
      const oidc = (Object.entries(OIDC) as [keyof typeof OIDC, string][]).find(([, path]) =>
        route.startsWith(`${path}/`),
      );
      if (oidc) {
        if (oidc[0] !== "xero" && form.get("client_secret") !== CLIENT_SECRET)
          return refuse(response, provider, "client_secret_post expected");
        return json(response, 200, await oidcTokens(oidc[0], code));
      }
      return json(response, 200, { access_token: ACCESS_TOKEN, token_type: "bearer", expires_in: 3600 });
    }

    // The user APIs: each refuses a request without the access token.
    if (request.headers.authorization !== `Bearer ${ACCESS_TOKEN}`) return json(response, 401, {});
    p.userApiCalls.set(provider, [...(p.userApiCalls.get(provider) ?? []), url]);
    if (route === "/x/2/users/me") {
      const fields = url.searchParams.get("user.fields")?.split(",") ?? [];
      return json(response, 200, {
        data: {
          id: person.id,
          name: person.name,
          username: person.username,
          ...(fields.includes("profile_image_url") ? { profile_image_url: "https://pbs.x.test/p.png" } : {}),
        },
      });
    }
    if (route === "/discord/api/users/@me")
      return json(response, 200, {
        id: person.id,
        username: person.username,
        global_name: person.name,
        avatar: "a1b2c3",
        email: person.email,
        verified: person.verified,
      });
    if (route === "/facebook/me") {
      // Apps set to "Require App Secret" refuse a call without the token's HMAC.
      const proof = createHmac("sha256", CLIENT_SECRET).update(ACCESS_TOKEN).digest("hex");
      if (url.searchParams.get("appsecret_proof") !== proof)
        return json(response, 400, { error: { type: "GraphMethodException", message: "appsecret_proof" } });
      const fields = url.searchParams.get("fields")?.split(",") ?? ["id", "name"];
      const all: Json = { id: person.id, name: person.name, email: person.email, first_name: person.name };
      return json(response, 200, Object.fromEntries(Object.entries(all).filter(([k]) => fields.includes(k))));
    }
    if (route === "/bitbucket/2.0/user")
      return json(response, 200, {
        uuid: person.id,
        account_id: "557058:abc",
        display_name: person.name,
        nickname: person.username,
        links: { avatar: { href: "https://bitbucket.test/avatar.png" } },
      });
    if (route === "/bitbucket/2.0/user/emails")
      return json(response, 200, {
        pagelen: 10,
        page: 1,
        size: person.emails?.length ?? 0,
        values: person.emails ?? [],
      });
    if (route === "/patreon/api/oauth2/v2/identity") {
      // JSON:API: the attributes named in fields[user], and nothing else.
      const fields = url.searchParams.get("fields[user]")?.split(",") ?? [];
      const all: Json = { email: person.email, full_name: person.name, is_email_verified: person.verified };
      return json(response, 200, {
        data: {
          id: person.id,
          type: "user",
          attributes: Object.fromEntries(Object.entries(all).filter(([k]) => fields.includes(k))),
        },
        links: { self: `https://www.patreon.test/api/oauth2/v2/user/${person.id}` },
      });
    }
    response.writeHead(404).end();
  });
  return p;
}
