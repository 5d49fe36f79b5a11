// Row types of applications' access roles (issue 19, migration 0032).

/** A role allowed to sign in to an application while its access control is on. */
export interface ApplicationAccessRolesTable {
  application_id: string;
  role_id: string;
  created_at: number;
}
