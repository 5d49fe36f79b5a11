// Row types of organization invitations and of API keys for customers' APIs (issue 19).
import type { Generated } from "kysely";

/** An invitation into an organization (0029; src/invitations/): the code is kept as its SHA-256. */
export interface OrganizationInvitationsTable {
  id: string;
  code_hash: string;
  org_code: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  is_sent: Generated<number>;
  created_at: number;
  expires_at: number;
  accepted_at: number | null;
  accepted_by: string | null;
  revoked_at: number | null;
}

export interface OrganizationInvitationRolesTable {
  invitation_id: string;
  role_id: string;
}

export type ApiKeyType = "user" | "organization" | "environment";
export type ApiKeyStatus = "active" | "inactive" | "revoked";

/** A key for a customer's API (0029; src/api-keys/): found by `lookup`, checked against key_hash. */
export interface ApiKeysTable {
  id: string;
  name: string;
  type: ApiKeyType;
  status: Generated<ApiKeyStatus>;
  lookup: string;
  key_hash: string;
  key_suffix: string;
  api_id: string;
  user_id: string | null;
  org_code: string | null;
  created_by: string | null;
  created_at: number;
  rotated_at: number | null;
  last_verified_at: number | null;
  last_verified_ip: string | null;
  verification_count: Generated<number>;
}

export interface ApiKeyScopesTable {
  api_key_id: string;
  scope_id: string;
}
