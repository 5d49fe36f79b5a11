// Row types of SCIM directories (migration 0038; src/directories/).
import type { Generated } from "kysely";

/** Kinde's directory status values. */
export type DirectoryStatus = "Pending" | "Validating" | "Active" | "Inactive" | "Error";

export interface ScimDirectoriesTable {
  /** `directory_` + 32 hex. */
  id: string;
  /** `ksde_` + 32 hex: the last segment of the SCIM base URL. */
  endpoint_id: string;
  name: string;
  provider_code: string;
  org_code: string;
  enterprise_connection_id: string | null;
  /** SHA-256 of the bearer token; the token itself was shown once. */
  token_hash: string;
  status: Generated<DirectoryStatus>;
  created_at: number;
  updated_at: number;
  last_sync_started_at: number | null;
  last_sync_completed_at: number | null;
  last_sync_error: string | null;
  /** JSON array of the role keys this directory's groups may grant (migration 0042); none by default. */
  assignable_role_keys: Generated<string>;
}

export interface ScimUsersTable {
  directory_id: string;
  /** The Latchkey user, whose id is also the SCIM id. */
  user_id: string;
  user_name: string;
  /** userName lower-cased: unique per directory (RFC 7643 §4.1.1, caseExact false). */
  user_name_key: string;
  external_id: string | null;
  active: Generated<number>;
  /** JSON: the other attributes as the IdP sent them (name, emails, …). */
  resource: string;
  /** 1 when the directory created the account (SCIM DELETE then deletes it). */
  created_account: Generated<number>;
  version: Generated<number>;
  created_at: number;
  updated_at: number;
}

export interface ScimGroupsTable {
  id: string;
  directory_id: string;
  display_name: string;
  display_name_key: string;
  external_id: string | null;
  version: Generated<number>;
  created_at: number;
  updated_at: number;
}

export interface ScimGroupMembersTable {
  group_id: string;
  user_id: string;
}
