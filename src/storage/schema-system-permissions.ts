// Row types of Kinde's system permissions (issue 19, migration 0041; src/system-permissions/).

/** The fixed catalogue (catalogue.ts): ids derived from the key, seeded by the migration. */
export interface SystemPermissionsTable {
  id: string;
  key: string;
  name: string;
  description: string;
}

/** Which system permissions a role gives its holders in the organization they hold it in. */
export interface RoleSystemPermissionsTable {
  role_id: string;
  system_permission_id: string;
}
