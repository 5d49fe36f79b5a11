// The token endpoint (RFC 6749 §3.2): one grant per file, chosen by grant_type.
import { sha256 } from "../crypto/random.js";
import { type AuthenticatedClient, presentedClient, verifyClient } from "./client-auth.js";
import type { OAuthContext } from "./context.js";
import { OAuthError } from "./errors.js";
import { authorizationCodeGrant } from "./grants/authorization_code.js";
import { clientCredentialsGrant } from "./grants/client_credentials.js";
import { DEVICE_CODE_GRANT_TYPE, deviceCodeGrant } from "./grants/device_code.js";
import { refreshTokenGrant } from "./grants/refresh_token.js";
import type { Params } from "./params.js";
import type { CodeForExchange, Redemption, RefreshTokenForUse } from "./ports.js";
import type { TokenResponse } from "./token-response.js";

export type GrantType = keyof typeof GRANTS;

/** The token endpoint's read of the code or refresh token presented, started before the grant. */
export interface Redeemed {
  code?: Promise<Redemption<CodeForExchange>>;
  refreshToken?: Promise<Redemption<RefreshTokenForUse>>;
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
  // The client's credentials, as presented: a request without well-formed ones is refused here,
  // before it makes the database do anything.
  const presented = presentedClient(params, authorization);
  // One configuration freshness check for the whole request, however many lookups it makes: for a
  // code or a refresh token, the read that finds it (started now, as the client's lookup needs the
  // reading; what it found is judged only after the client is authenticated).
  const redeemed = redeemedRead(ctx, grantType, params);
  const read = redeemed.code ?? redeemed.refreshToken;
  const request = {
    ...ctx,
    store: ctx.store.forRequest?.(read?.then((redemption) => redemption.configGeneration)) ?? ctx.store,
  };
  let client: AuthenticatedClient;
  try {
    client = await verifyClient(request.store, presented);
  } catch (error) {
    // Refused: the read started for this request ends before the answer goes out, so a refused
    // caller leaves no database work behind it.
    await read?.catch(() => {});
    throw error;
  }
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
  // Awaited by the grant or, when the client is refused, before the refusal; a failure is never an
  // unhandled rejection, whatever path the request takes.
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
