// Numbered, forward-only migrations, applied at start and by `latchkey migrate`. On PostgreSQL,
// Kysely's migrator holds an advisory lock while it runs, so instances starting together migrate
// once; the others wait and then find nothing left to do.
import { type Migration, Migrator } from "kysely";
import type { Logger } from "pino";
import { UsersStore } from "../users/users.store.js";
import type { Db } from "./database.js";
import * as m0001 from "./migrations/0001_foundation.js";
import * as m0002 from "./migrations/0002_oauth.js";
import * as m0003 from "./migrations/0003_management.js";
import * as m0004 from "./migrations/0004_business.js";
import * as m0005 from "./migrations/0005_audit_log.js";
import * as m0006 from "./migrations/0006_connected_apps.js";
import * as m0007 from "./migrations/0007_idempotency_sealed.js";
import * as m0008 from "./migrations/0008_connected_app_lock_owner.js";
import * as m0009 from "./migrations/0009_config_generation.js";
import * as m0010 from "./migrations/0010_organizations.js";
import * as m0011 from "./migrations/0011_organization_connections.js";
import * as m0012 from "./migrations/0012_application_org_code.js";
import * as m0013 from "./migrations/0013_canonical_emails.js";
import * as m0014 from "./migrations/0014_role_and_user_api_scopes.js";
import * as m0015 from "./migrations/0015_dashboard_client_id.js";
import * as m0016 from "./migrations/0016_mail_outbox.js";
import * as m0017 from "./migrations/0017_one_time_codes.js";
import * as m0018 from "./migrations/0018_password_change_required.js";
import * as m0019 from "./migrations/0019_sign_in_methods.js";
import * as m0020 from "./migrations/0020_events_and_webhooks.js";
import * as m0021 from "./migrations/0021_authentication_log.js";
import * as m0022 from "./migrations/0022_sign_in_connections.js";
import * as m0023 from "./migrations/0023_external_identities.js";
import * as m0024 from "./migrations/0024_organization_connection_lists.js";
import * as m0025 from "./migrations/0025_mfa.js";
import * as m0026 from "./migrations/0026_passkey_challenges.js";
import * as m0027 from "./migrations/0027_sms_outbox.js";
import * as m0028 from "./migrations/0028_device_codes.js";
import * as m0029 from "./migrations/0029_invitations_and_api_keys.js";
import * as m0030 from "./migrations/0030_properties.js";
import * as m0031 from "./migrations/0031_connection_tests.js";
import * as m0032 from "./migrations/0032_application_access.js";
import * as m0033 from "./migrations/0033_session_lifetimes_and_activity.js";
import * as m0034 from "./migrations/0034_branding.js";
import * as m0035 from "./migrations/0035_list_indexes.js";
import * as m0037 from "./migrations/0037_audit_log_targets.js";
import * as m0038 from "./migrations/0038_scim_directories.js";
import * as m0039 from "./migrations/0039_subscribers_and_environment_variables.js";
import * as m0041 from "./migrations/0041_system_permissions.js";
import * as m0042 from "./migrations/0042_directory_assignable_roles.js";
import * as m0043 from "./migrations/0043_sign_in_config_cache.js";
import * as m0044 from "./migrations/0044_firebase_signer_key.js";
import * as m0045 from "./migrations/0045_claims_cache.js";
import * as m0046 from "./migrations/0046_bootstrap_client_id.js";

/** Append only: a released migration is never edited, renamed or removed. */
export const MIGRATIONS: Record<string, Migration> = {
  "0001_foundation": m0001,
  "0002_oauth": m0002,
  "0003_management": m0003,
  "0004_business": m0004,
  "0005_audit_log": m0005,
  "0006_connected_apps": m0006,
  "0007_idempotency_sealed": m0007,
  "0008_connected_app_lock_owner": m0008,
  "0009_config_generation": m0009,
  "0010_organizations": m0010,
  "0011_organization_connections": m0011,
  "0012_application_org_code": m0012,
  "0013_canonical_emails": m0013,
  "0014_role_and_user_api_scopes": m0014,
  "0015_dashboard_client_id": m0015,
  "0016_mail_outbox": m0016,
  "0017_one_time_codes": m0017,
  "0018_password_change_required": m0018,
  "0019_sign_in_methods": m0019,
  "0020_events_and_webhooks": m0020,
  "0021_authentication_log": m0021,
  "0022_sign_in_connections": m0022,
  "0023_external_identities": m0023,
  "0024_organization_connection_lists": m0024,
  "0025_mfa": m0025,
  "0026_passkey_challenges": m0026,
  "0027_sms_outbox": m0027,
  "0028_device_codes": m0028,
  "0029_invitations_and_api_keys": m0029,
  "0030_properties": m0030,
  "0031_connection_tests": m0031,
  "0032_application_access": m0032,
  "0033_session_lifetimes_and_activity": m0033,
  "0034_branding": m0034,
  "0035_list_indexes": m0035,
  "0037_audit_log_targets": m0037,
  "0038_scim_directories": m0038,
  "0039_subscribers_and_environment_variables": m0039,
  "0041_system_permissions": m0041,
  "0042_directory_assignable_roles": m0042,
  "0043_sign_in_config_cache": m0043,
  "0044_firebase_signer_key": m0044,
  "0045_claims_cache": m0045,
  "0046_bootstrap_client_id": m0046,
};

/** After 0013 made addresses canonical: say which accounts share a mailbox (never merged silently). */
async function reportEmailDuplicates(db: Db, logger?: Logger): Promise<void> {
  const duplicates = await new UsersStore(db).emailDuplicates();
  if (duplicates.length === 0) return;
  logger?.warn(
    { event: "email_duplicates", accounts: duplicates.map((d) => d.userIds) },
    `${duplicates.length} e-mail address(es) belong to more than one account once written canonically ` +
      "(Unicode forms, internationalised domains, a trailing dot or letter case). Sign-in finds the account " +
      "holding the canonical form. List them with `latchkey users duplicates`, then merge or delete by hand.",
  );
}

export async function migrateToLatest(db: Db, logger?: Logger): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => MIGRATIONS },
    migrationTableName: "latchkey_migration",
    migrationLockTableName: "latchkey_migration_lock",
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  const applied: string[] = [];
  for (const result of results) {
    if (result.status === "Success") {
      applied.push(result.migrationName);
      logger?.info({ migration: result.migrationName }, "applied migration");
    } else if (result.status === "Error") {
      logger?.error({ migration: result.migrationName }, "migration failed; its changes were rolled back");
    }
  }
  if (error) throw error instanceof Error ? error : new Error(String(error));
  if (applied.includes("0013_canonical_emails")) await reportEmailDuplicates(db, logger);
  return applied;
}
