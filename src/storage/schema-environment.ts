// Row types of Kinde's subscribers and environment variables (issue 19, migration 0039).

/** Someone who asked to hear from the business (src/subscribers/); not an account. */
export interface SubscribersTable {
  id: string;
  email: string;
  first_name: string;
  last_name: string | null;
  name_key: string;
  created_at: number;
}

/** A value kept beside the environment (src/environment-variables/), always sealed. */
export interface EnvironmentVariablesTable {
  id: string;
  key: string;
  value_sealed: string;
  is_secret: number;
  created_at: number;
  updated_at: number;
}
