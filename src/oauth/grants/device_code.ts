// grant_type=urn:ietf:params:oauth:grant-type:device_code (RFC 8628 §3.4-3.5).
import { randomUUID } from "node:crypto";
import { sha256 } from "../../crypto/random.js";
import { accessRefusal } from "../access-control.js";
import type { AuthenticatedClient } from "../client-auth.js";
import type { OAuthContext } from "../context.js";
import { OAuthError } from "../errors.js";
import type { Params } from "../params.js";
import { joinScope, splitScope } from "../scopes.js";
import type { GrantResult } from "../token-response.js";
import { heldUserScopes } from "../user-scopes.js";
import { recordUserTokens, signUserTokens } from "./issue-user-tokens.js";

export const DEVICE_CODE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code";

export async function deviceCodeGrant(
  ctx: OAuthContext,
  params: Params,
  { client }: AuthenticatedClient,
): Promise<GrantResult> {
  if (client.type !== "device") {
    throw new OAuthError("unauthorized_client", "Only device applications may use the device code grant");
  }
  const deviceCode = params.require("device_code");

  // The transaction commits the recorded poll (and, on replay, the revocation) even when the
  // request then fails; a failure that must leave the code as it was throws inside and rolls back.
  const outcome = await ctx.devices.transaction(async ({ devices, oauth: store }) => {
    const now = ctx.clock.now();
    const polled = await devices.poll(sha256(deviceCode), now);
    if (!polled) return { error: new OAuthError("invalid_grant", "The device code is invalid") };
    const { code, slowedDown } = polled;
    // §3.4: the code was issued to this client; another client's poll must not move its interval.
    if (code.clientId !== client.id) {
      throw new OAuthError("invalid_grant", "The device code was issued to another client");
    }
    if (code.status === "consumed") {
      // Single use (§3.5 lists no second success): a code coming back after its tokens were issued
      // was copied or replayed, so what it produced is revoked, as for authorization codes.
      if (code.grantId) await store.revokeGrant(code.grantId, now, "device code reused");
      return { error: new OAuthError("invalid_grant", "The device code has already been used") };
    }
    // §3.5 expired_token: the device must start over with a new request.
    if (code.expiresAt <= now)
      return { error: new OAuthError("expired_token", "The device code has expired") };
    // §3.5 access_denied: the person said no; polling must stop.
    if (code.status === "denied")
      return { error: new OAuthError("access_denied", "The user denied the authorization request") };
    // §3.5 slow_down: polled sooner than the interval allows; the interval grew by 5 s (recorded).
    if (slowedDown)
      return {
        error: new OAuthError(
          "slow_down",
          `Polling too fast: wait at least ${code.pollInterval} seconds between requests`,
        ),
      };
    // §3.5 authorization_pending: nobody has decided yet.
    if (code.status === "pending" || code.userId === null)
      return {
        error: new OAuthError("authorization_pending", "The user has not yet completed the authorization"),
      };

    const user = await store.findUser(code.userId);
    if (!user || user.suspended) return { error: new OAuthError("invalid_grant", "The user cannot sign in") };
    // §3.5 access_denied: the application admits only holders of its access roles (access-control.ts).
    const refused = await accessRefusal(store, client, user.id, code.orgCode);
    if (refused) return { error: new OAuthError("access_denied", refused) };
    // Only the API scopes the user holds in the organization approved for (user-scopes.ts).
    const scope = joinScope(
      await heldUserScopes(store, {
        user,
        clientId: client.id,
        orgCode: code.orgCode,
        audience: code.audience,
        scopes: splitScope(code.scope),
      }),
    );
    // The grant belongs to no browser session: signing out of the browser that approved does not
    // sign the device out (signing out everywhere, or revoking the grant, does).
    const grant = {
      id: randomUUID(),
      clientId: client.id,
      userId: user.id,
      sessionId: null,
      scope,
      audience: code.audience,
      authTime: code.authTime ?? now,
      createdAt: now,
      revokedAt: null,
      orgCode: code.orgCode,
    };
    // Single use: one conditional write from approved to consumed; a concurrent poll loses here.
    if (!(await devices.consume(code.deviceCodeHash, grant.id, now)))
      return { error: new OAuthError("invalid_grant", "The device code has already been used") };
    await store.createGrant(grant);
    const recorded = await recordUserTokens(ctx, store, { client, user, grant, scope, nonce: null });
    // The organization must still take the user now, not only when they approved.
    if (grant.orgCode && recorded.claims.access.org_code !== grant.orgCode) {
      await store.revokeGrant(grant.id, now, "organization not available");
      return { error: new OAuthError("invalid_grant", "The user can no longer sign into this organization") };
    }
    return { recorded };
  });
  if ("error" in outcome) throw outcome.error;
  return signUserTokens(ctx, outcome.recorded);
}
