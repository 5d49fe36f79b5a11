// The token endpoint (RFC 6749 §3.2): one grant per file, chosen by grant_type.
import { sha256 } from "../crypto/random.js";
import { authenticateClient } from "./client-auth.js";
import type { OAuthContext } from "./context.js";
import { OAuthError } from "./errors.js";
import { authorizationCodeGrant } from "./grants/authorization_code.js";
import { clientCredentialsGrant } from "./grants/client_credentials.js";
import { DEVICE_CODE_GRANT_TYPE, deviceCodeGrant } from "./grants/device_code.js";
import { refreshTokenGrant } from "./grants/refresh_token.js";
import type { Params } from "./params.js";
import type { CodeForExchange, RefreshTokenForUse } from "./ports.js";
import type { TokenResponse } from "./token-response.js";

export type GrantType = keyof typeof GRANTS;

/** The token endpoint's read of the code or refresh token presented, started before the grant. */
export interface Redeemed {
  code?: Promise<CodeForExchange | undefined>;
  refreshToken?: Promise<RefreshTokenForUse | undefined>;
}

const GRANTS = {
  authorization_code: authorizationCodeGrant,
  refresh_token: refreshTokenGrant,
  client_credentials: clientCredentialsGrant,
  [DEVICE_CODE_GRANT_TYPE]: deviceCodeGrant,
} as const;

/** What a successful token request issued, for the authentication log: whose, never the tokens. */
export interface IssuedGrant {
  grantType: GrantType;
  clientId: string;
  /** null for client_credentials. */
  userId: string | null;
}

/** `onIssued` hears of each success (after the grant's transaction has committed), never of a failure. */
export async function handleTokenRequest(
  ctx: OAuthContext,
  params: Params,
  authorization: string | undefined,
  onIssued?: (issued: IssuedGrant) => void,
): Promise<TokenResponse> {
  const grantType = params.require("grant_type");
  if (!Object.hasOwn(GRANTS, grantType)) {
    throw new OAuthError(
      "unsupported_grant_type",
      `The grant type ${grantType.slice(0, 100)} is not supported`,
    );
  }
  // One configuration freshness check for the whole request, however many lookups it makes: for a
  // code or a refresh token, the read that finds it (started now, before the client is
  // authenticated, which it does not depend on; its findings are judged only after).
  const redeemed = redeemedRead(ctx, grantType, params);
  const generation = (redeemed.code ?? redeemed.refreshToken)?.then((found) => found?.configGeneration);
  const request = { ...ctx, store: ctx.store.forRequest?.(generation) ?? ctx.store };
  const client = await authenticateClient(request.store, params, authorization);
  const { response, userId } = await GRANTS[grantType as GrantType](request, params, client, redeemed);
  onIssued?.({ grantType: grantType as GrantType, clientId: client.client.id, userId });
  return response;
}

/**
 * The code's or refresh token's read, started at once; none for the other grants or when the
 * parameter is missing or malformed (the grant refuses that itself, after client authentication).
 */
function redeemedRead(ctx: OAuthContext, grantType: string, params: Params): Redeemed {
  const present = (name: string) => {
    try {
      return params.get(name);
    } catch {
      return undefined;
    }
  };
  // Awaited by the grant, or never when the client is refused first: not an unhandled rejection.
  const started = <T>(read: Promise<T>) => {
    read.catch(() => {});
    return read;
  };
  const code = grantType === "authorization_code" ? present("code") : undefined;
  if (code !== undefined) return { code: started(ctx.store.readCodeForExchange(sha256(code))) };
  const refreshToken = grantType === "refresh_token" ? present("refresh_token") : undefined;
  if (refreshToken !== undefined)
    return { refreshToken: started(ctx.store.readRefreshTokenForUse(sha256(refreshToken))) };
  return {};
}
