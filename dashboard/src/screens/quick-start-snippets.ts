// The quick starts' code, without the DOM (so tests compile each snippet against the SDKs, see
// tests/dashboard/quick-starts.test.ts): for each SDK people use with Kinde, the code that connects
// it to this application, with its real values (domain = the issuer, client ID, first callback and
// logout URLs). The client secret is never written into a snippet: it stays in an environment
// variable. Which SDKs are offered follows the application's kind — a back-end app gets the server
// SDKs, a front-end app the PKCE ones, a machine-to-machine app the client-credentials call.
export interface QuickStartApplication {
  type: string;
  client_id: string;
}

export interface QuickStartValues {
  /** The issuer: what Kinde's SDKs call the domain. */
  domain: string;
  clientId: string;
  callback: string;
  logout: string;
}

export interface QuickStart {
  /** The tab's label. */
  label: string;
  /** The npm package the snippet uses. */
  sdk: string;
  /** What to do with it, one sentence. */
  lead: string;
  code: string;
}

/** The environment variable every snippet reads the secret from (never the secret itself). */
export const SECRET_ENV = "KINDE_CLIENT_SECRET";

const NEXTJS_CALLBACK_PATH = "/api/auth/kinde_callback";

/** `X`'s origin, or X unchanged when it is not a URL (a placeholder). */
function originOf(url: string): string {
  return URL.canParse(url) ? new URL(url).origin : url;
}

/** openid-client refuses http issuers unless told: only for local development. */
function insecureOption(domain: string): string {
  return domain.startsWith("http:")
    ? "\n  { execute: [client.allowInsecureRequests] }, // http: local development only"
    : "";
}

function typescriptSdk(type: string, v: QuickStartValues): QuickStart {
  if (type === "m2m") {
    return {
      label: "TypeScript SDK",
      sdk: "@kinde-oss/kinde-typescript-sdk",
      lead: "Get an access token for one of your APIs with the client credentials grant.",
      code: `import { createKindeServerClient, GrantType } from "@kinde-oss/kinde-typescript-sdk";

const client = createKindeServerClient(GrantType.CLIENT_CREDENTIALS, {
  authDomain: "${v.domain}",
  clientId: "${v.clientId}",
  clientSecret: process.env.${SECRET_ENV}!,
  logoutRedirectURL: "${v.domain}",
  audience: "https://api.example.com", // an API this app is authorised for
});

const token = await client.getToken(sessionManager);`,
    };
  }
  const grant = type === "spa" ? "PKCE" : "AUTHORIZATION_CODE";
  return {
    label: "TypeScript SDK",
    sdk: "@kinde-oss/kinde-typescript-sdk",
    lead: "Any Node.js server: send people to sign in, then finish on your callback route.",
    code: `import { createKindeServerClient, GrantType } from "@kinde-oss/kinde-typescript-sdk";

const kinde = createKindeServerClient(GrantType.${grant}, {
  authDomain: "${v.domain}",
  clientId: "${v.clientId}",${type === "reg" ? `\n  clientSecret: process.env.${SECRET_ENV}!,` : ""}
  redirectURL: "${v.callback}",
  logoutRedirectURL: "${v.logout}",
});

// Send people to sign in, then finish on your callback route:
const signInUrl = await kinde.login(sessionManager);
await kinde.handleRedirectToApp(sessionManager, new URL(requestUrl));`,
  };
}

function openidClient(type: string, v: QuickStartValues): QuickStart {
  const insecure = insecureOption(v.domain);
  if (type === "m2m") {
    return {
      label: "openid-client",
      sdk: "openid-client",
      lead: "Any OpenID Connect client works through discovery; this is the client credentials call.",
      code: `import * as client from "openid-client";

const config = await client.discovery(
  new URL("${v.domain}"),
  "${v.clientId}",
  process.env.${SECRET_ENV},${insecure ? `\n  undefined,${insecure}` : ""}
);
const tokens = await client.clientCredentialsGrant(config, {
  audience: "https://api.example.com",
});`,
    };
  }
  const credentials =
    type === "reg"
      ? `\n  process.env.${SECRET_ENV},${insecure ? `\n  undefined,${insecure}` : ""}`
      : `\n  undefined,\n  client.None(),${insecure}`;
  return {
    label: "openid-client",
    sdk: "openid-client",
    lead: "Any OpenID Connect client works through discovery; this is the certified openid-client.",
    code: `import * as client from "openid-client";

const config = await client.discovery(
  new URL("${v.domain}"),
  "${v.clientId}",${credentials}
);
const verifier = client.randomPKCECodeVerifier();
const signInUrl = client.buildAuthorizationUrl(config, {
  redirect_uri: "${v.callback}",
  scope: "openid profile email offline",
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: "S256",
});
// On ${v.callback}:
const tokens = await client.authorizationCodeGrant(config, new URL(requestUrl), {
  pkceCodeVerifier: verifier,
});`,
  };
}

/**
 * Kinde's Next.js SDK derives its callback from KINDE_SITE_URL (`<site>/api/auth/kinde_callback`,
 * handleAuth) and reads everything else from these variables.
 */
function nextjs(v: QuickStartValues): QuickStart {
  const fits = v.callback.endsWith(NEXTJS_CALLBACK_PATH);
  const site = fits ? v.callback.slice(0, -NEXTJS_CALLBACK_PATH.length) : originOf(v.callback);
  return {
    label: "Next.js",
    sdk: "@kinde-oss/kinde-auth-nextjs",
    lead: `Put these in .env.local and add the route handler.${fits ? "" : ` The SDK signs in at ${site}${NEXTJS_CALLBACK_PATH}: add that callback URL above.`}`,
    code: `# .env.local
KINDE_CLIENT_ID=${v.clientId}
KINDE_CLIENT_SECRET= # the client secret from Credentials above
KINDE_ISSUER_URL=${v.domain}
KINDE_SITE_URL=${site}
KINDE_POST_LOGOUT_REDIRECT_URL=${v.logout}
KINDE_POST_LOGIN_REDIRECT_URL=${site}

// app/api/auth/[kindeAuth]/route.ts
import { handleAuth } from "@kinde-oss/kinde-auth-nextjs/server";

export const GET = handleAuth();`,
  };
}

function express(v: QuickStartValues): QuickStart {
  const site = originOf(v.callback);
  return {
    label: "Express",
    sdk: "@kinde-oss/kinde-node-express",
    lead: "setupKinde adds the sign-in, callback and sign-out routes to your Express app.",
    code: `import express from "express";
import { GrantType, getUser, protectRoute, setupKinde } from "@kinde-oss/kinde-node-express";

const app = express();
setupKinde(
  {
    grantType: GrantType.AUTHORIZATION_CODE,
    issuerBaseUrl: "${v.domain}",
    clientId: "${v.clientId}",
    secret: process.env.${SECRET_ENV},
    siteUrl: "${site}",
    redirectUrl: "${v.callback}",
    postLogoutRedirectUrl: "${v.logout}",
    unAuthorisedUrl: "${site}/unauthorised",
  },
  app,
);

app.get("/profile", protectRoute, getUser, (req, res) => res.json(req.user));`,
  };
}

function react(v: QuickStartValues): QuickStart {
  return {
    label: "React",
    sdk: "@kinde-oss/kinde-auth-react",
    lead: "Wrap your app in KindeProvider; useKindeAuth gives login, logout and the user.",
    code: `import { KindeProvider, useKindeAuth } from "@kinde-oss/kinde-auth-react";

root.render(
  <KindeProvider
    clientId="${v.clientId}"
    domain="${v.domain}"
    redirectUri="${v.callback}"
    logoutUri="${v.logout}"
  >
    <App />
  </KindeProvider>,
);

function App() {
  const { login, logout, isAuthenticated, user } = useKindeAuth();
  return isAuthenticated
    ? <button onClick={() => logout()}>Sign out {user?.email}</button>
    : <button onClick={() => login()}>Sign in</button>;
}`,
  };
}

function javascript(v: QuickStartValues): QuickStart {
  return {
    label: "JavaScript",
    sdk: "@kinde-oss/kinde-auth-pkce-js",
    lead: "Plain JavaScript in the browser, no framework.",
    code: `import createKindeClient from "@kinde-oss/kinde-auth-pkce-js";

const kinde = await createKindeClient({
  client_id: "${v.clientId}",
  domain: "${v.domain}",
  redirect_uri: "${v.callback}",
  logout_uri: "${v.logout}",
});

document.getElementById("sign-in").addEventListener("click", () => kinde.login());
const user = kinde.getUser();`,
  };
}

function curl(v: QuickStartValues): QuickStart {
  return {
    label: "curl",
    sdk: "curl",
    lead: "The same call from a shell, to see the token.",
    code: `curl -s ${v.domain}/oauth2/token \\
  -d grant_type=client_credentials \\
  -d client_id=${v.clientId} \\
  -d client_secret="$${SECRET_ENV}" \\
  -d audience=https://api.example.com`,
  };
}

/** The quick starts for an application of `type`, in the order the tabs show them. */
export function quickStarts(type: string, values: QuickStartValues): QuickStart[] {
  if (type === "m2m") return [typescriptSdk(type, values), openidClient(type, values), curl(values)];
  if (type === "spa")
    return [react(values), javascript(values), typescriptSdk(type, values), openidClient(type, values)];
  return [nextjs(values), express(values), typescriptSdk(type, values), openidClient(type, values)];
}

export function quickStartValues(
  domain: string,
  application: QuickStartApplication,
  callbacks: string[],
  logouts: string[],
): QuickStartValues {
  return {
    domain,
    clientId: application.client_id,
    callback: callbacks[0] ?? "https://app.example.com/callback",
    logout: logouts[0] ?? "https://app.example.com/",
  };
}
