// Which requested scopes a user's access token carries. OIDC scopes (openid, profile, email,
// offline…) concern the user's own data and pass as asked. An API scope passes only when the user
// holds it: through a role they have in the organization the grant signed into (Kinde's role
// scopes) or given to them directly in that organization (Kinde's organization-user API scopes);
// an administrator also holds the Management API scopes granted to the application they sign in
// to (the dashboard, which bootstrap grants every one). The rest are dropped — RFC 6749 §3.3 lets
// the server issue a narrower scope than requested, and the token response's `scope` says which.
//
// Evaluated when the code is exchanged and again at every refresh, within the scope the grant was
// issued: taking a scope away (from the role, or the role from the user) shows on the next
// refresh, and a refresh never carries a scope the sign-in was not issued (RFC 6749 §6).
// Machine-to-machine tokens do not come here: they carry the scopes granted to the application.
import type { OAuthStore, UserRecord } from "./ports.js";
import { OIDC_SCOPES } from "./scopes.js";

export async function heldUserScopes(
  store: OAuthStore,
  input: {
    user: UserRecord;
    clientId: string;
    orgCode: string | null;
    audience: readonly string[];
    scopes: readonly string[];
  },
): Promise<string[]> {
  const asked = input.scopes.filter((s) => !OIDC_SCOPES.has(s));
  // Nothing to look up (the common case, and the benchmarked refresh path): no statement at all.
  if (asked.length === 0) return [...input.scopes];
  const byAudience = await store.heldScopes({
    userId: input.user.id,
    orgCode: input.orgCode,
    audiences: input.audience,
    keys: asked,
    ...(input.user.isAdmin ? { adminClientId: input.clientId } : {}),
  });
  const apis = [...byAudience.values()];
  // A token names all its audiences, so each of its scopes must hold for every one of them: held
  // on at least one requested API, and on every requested API that defines it (as for machine
  // tokens, client_credentials.ts) — never "held on A" read as "held on B".
  const held = new Set(
    asked.filter(
      (key) =>
        apis.some((api) => api.held.has(key)) &&
        apis.every((api) => !api.defined.has(key) || api.held.has(key)),
    ),
  );
  return input.scopes.filter((s) => OIDC_SCOPES.has(s) || held.has(s));
}
