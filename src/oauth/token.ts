// The token endpoint (RFC 6749 §3.2): one grant per file, chosen by grant_type.
import { authenticateClient } from "./client-auth.js";
import type { OAuthContext } from "./context.js";
import { OAuthError } from "./errors.js";
import { authorizationCodeGrant } from "./grants/authorization_code.js";
import { clientCredentialsGrant } from "./grants/client_credentials.js";
import { refreshTokenGrant } from "./grants/refresh_token.js";
import type { Params } from "./params.js";
import type { TokenResponse } from "./token-response.js";

const GRANTS = {
  authorization_code: authorizationCodeGrant,
  refresh_token: refreshTokenGrant,
  client_credentials: clientCredentialsGrant,
} as const;

export async function handleTokenRequest(
  ctx: OAuthContext,
  params: Params,
  authorization: string | undefined,
): Promise<TokenResponse> {
  const grantType = params.require("grant_type");
  if (!Object.hasOwn(GRANTS, grantType)) {
    throw new OAuthError(
      "unsupported_grant_type",
      `The grant type ${grantType.slice(0, 100)} is not supported`,
    );
  }
  const client = await authenticateClient(ctx.store, params, authorization);
  return GRANTS[grantType as keyof typeof GRANTS](ctx, params, client);
}
