// Row types of sign-in connections (issue 17): connections, their domains and enablement per
// application and organization, external identities and upstream sign-in states.
import type { Generated } from "kysely";

/** Kinde's connections (issue 17; migration 0022): upstream providers people sign in through. */
export interface SignInConnectionsTable {
  /** `conn_` + 32 hex; the first 12 are the creation time in milliseconds. */
  id: string;
  name: string;
  display_name: string;
  strategy: string;
  /** JSON: the strategy's options, without the client secret and the home-realm domains. */
  options: string;
  /** SecretBox, AAD `sign_in_connection_secret:<id>`. */
  client_secret_sealed: string | null;
  /** An enterprise connection managed by this organization. */
  organization_code: string | null;
  created_at: number;
  updated_at: number;
}

export interface SignInConnectionDomainsTable {
  /** Canonical: IDNA A-labels, lower case, no trailing dot. */
  domain: string;
  connection_id: string;
}

export interface ApplicationSignInConnectionsTable {
  application_id: string;
  connection_id: string;
  created_at: number;
}

export interface OrganizationSignInConnectionsTable {
  org_code: string;
  connection_id: string;
  created_at: number;
}

/** An organization that chose its own sign-in connections (migration 0024; ConnectionsService.enabledFor). */
export interface OrganizationConnectionListsTable {
  org_code: string;
  created_at: number;
}

/** An account at a connection's provider linked to a user (migration 0023). */
export interface ExternalIdentitiesTable {
  id: string;
  user_id: string;
  connection_id: string;
  provider_subject: string;
  email: string | null;
  email_verified_by_provider: number;
  /** JSON object: a bounded copy of the provider's profile claims. */
  claims: string;
  total_logins: number;
  created_at: number;
  last_signed_in_at: number | null;
}

/** A sign-in sent to a provider, keyed by the SHA-256 of its `state` (single use). */
export interface UpstreamSignInStatesTable {
  state_hash: string;
  request_id: string;
  connection_id: string;
  issuer: string;
  nonce: string;
  code_verifier_sealed: string;
  browser: string;
  created_at: number;
  expires_at: number;
  /** 'sign_in', or a connection test's 'test_ticket' / 'test' (migration 0031). */
  purpose: Generated<UpstreamStatePurpose>;
  /** The administrator who asked for a connection test. */
  user_id: string | null;
}

export type UpstreamStatePurpose = "sign_in" | "test_ticket" | "test";
