/** The token endpoint's success body (RFC 6749 §5.1), `token_type` spelled as Kinde does. */
export interface TokenResponse {
  access_token: string;
  token_type: "bearer";
  expires_in: number;
  scope: string;
  id_token?: string;
  refresh_token?: string;
}

/** A grant's outcome: the response, and whose tokens they are (the authentication log's user). */
export interface GrantResult {
  response: TokenResponse;
  /** null for client_credentials: the application acts for itself. */
  userId: string | null;
}
