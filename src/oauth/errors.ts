// OAuth 2.0 / OIDC error vocabulary (RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1,
// OIDC Core §3.1.2.6, RFC 8628 §3.5). The protocol core throws these; routes turn them into JSON bodies or
// redirect parameters.

export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "invalid_scope"
  | "access_denied"
  | "unsupported_response_type"
  | "server_error"
  | "temporarily_unavailable"
  | "login_required"
  | "interaction_required"
  | "consent_required"
  | "request_not_supported"
  | "request_uri_not_supported"
  | "invalid_token"
  | "insufficient_scope"
  | "unsupported_token_type"
  | "invalid_target"
  // RFC 8628 §3.5: the token endpoint's answers to a device polling for its user's decision.
  | "authorization_pending"
  | "slow_down"
  | "expired_token";

export class OAuthError extends Error {
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    readonly status = defaultStatus(error),
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(`${error}: ${description}`);
    this.name = "OAuthError";
  }

  toJSON(): { error: OAuthErrorCode; error_description: string } {
    // RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
    return {
      error: this.error,
      error_description: this.description.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, ""),
    };
  }
}

function defaultStatus(error: OAuthErrorCode): number {
  switch (error) {
    case "invalid_client":
    case "invalid_token":
      return 401;
    case "insufficient_scope":
      return 403;
    case "server_error":
      return 500;
    case "temporarily_unavailable":
      return 503;
    default:
      return 400;
  }
}
