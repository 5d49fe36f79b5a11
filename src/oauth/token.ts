// The token endpoint (RFC 6749 §3.2): one grant per file, chosen by grant_type.
import { authenticateClient } from "./client-auth.js";
import type { OAuthContext } from "./context.js";
import { OAuthError } from "./errors.js";
import { authorizationCodeGrant } from "./grants/authorization_code.js";
import { clientCredentialsGrant } from "./grants/client_credentials.js";
import { DEVICE_CODE_GRANT_TYPE, deviceCodeGrant } from "./grants/device_code.js";
import { refreshTokenGrant } from "./grants/refresh_token.js";
import type { Params } from "./params.js";
import type { TokenResponse } from "./token-response.js";

export type GrantType = keyof typeof GRANTS;

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
  // One configuration freshness check for the whole request, however many lookups it makes.
  const request = { ...ctx, store: ctx.store.forRequest?.() ?? ctx.store };
  const client = await authenticateClient(request.store, params, authorization);
  const { response, userId } = await GRANTS[grantType as GrantType](request, params, client);
  onIssued?.({ grantType: grantType as GrantType, clientId: client.client.id, userId });
  return response;
}
