// Scope strings (RFC 6749 §3.3) and the OIDC scopes Latchkey understands.

/** `offline` is Kinde's name for the refresh-token scope; `offline_access` is OIDC's (§11). */
export const OIDC_SCOPES = new Set(["openid", "profile", "email", "offline", "offline_access"]);

export function splitScope(scope: string | undefined): string[] {
  return [...new Set((scope ?? "").split(" ").filter(Boolean))];
}

export function joinScope(scopes: Iterable<string>): string {
  return [...scopes].join(" ");
}

export function wantsRefreshToken(scopes: readonly string[]): boolean {
  return scopes.includes("offline") || scopes.includes("offline_access");
}

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
export function isValidScopeString(scope: string): boolean {
  return /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/.test(scope);
}
