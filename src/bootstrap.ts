// Makes a fresh installation usable and scriptable (idempotent, run at every start): the business,
// a signing key, the Management API with every Kinde scope, an M2M application authorised for it,
// the admin dashboard's front-end application, and an administrator. Instances starting together
// serialise on an advisory lock.
import { sql } from "kysely";
import type { Clock } from "./clock.js";
import { type Config, ConfigError } from "./config/config.js";
import type { SecretBox } from "./crypto/secret-box.js";
import { ensureDashboardApplication } from "./dashboard/dashboard-app.js";
import { MANAGEMENT_API_SCOPES } from "./management/scopes.js";
import { createServices } from "./services.js";
import type { Storage } from "./storage/database.js";
import { passwordProblem } from "./users/password-policy.js";

export interface BootstrapResult {
  /** Set only when this start generated the Management API credentials: print them once. */
  generatedManagementClient?: { clientId: string; clientSecret: string };
  /**
   * Set when BOOTSTRAP_ADMIN_EMAIL names an account that exists and is not an administrator: it was
   * left as it is (the operator promotes it with `latchkey admins grant`), and the start says why.
   */
  adminNotCreated?: { userId: string };
}

export const MANAGEMENT_API_NAME = "Latchkey Management API";
export const BOOTSTRAP_APPLICATION_NAME = "Latchkey Management (bootstrap)";

export async function bootstrap(
  storage: Storage,
  secretBox: SecretBox,
  config: Pick<Config, "issuerUrl" | "bootstrap">,
  clock?: Clock,
): Promise<BootstrapResult> {
  return storage.db.transaction().execute(async (trx) => {
    if (storage.dialect === "postgres")
      await sql`select pg_advisory_xact_lock(hashtext('latchkey-bootstrap'))`.execute(trx);
    const services = createServices({ db: trx, secretBox, issuer: config.issuerUrl, clock });
    const result: BootstrapResult = {};

    await services.business.ensure();
    await services.keys.ensureSigningKey();

    // The Management API's audience follows ISSUER_URL (Kinde: `<domain>/api`, COMPAT.md §2.2).
    const audience = `${config.issuerUrl}/api`;
    let api = await services.apis.store.findManagementApi();
    if (!api)
      api = await services.apis.create({ name: MANAGEMENT_API_NAME, audience, isManagementApi: true });
    else if (api.audience !== audience) {
      await trx.updateTable("apis").set({ audience }).where("id", "=", api.id).execute();
    }
    await services.apis.ensureScopes(api.id, MANAGEMENT_API_SCOPES);
    // The admin dashboard at /admin signs administrators in as a front-end application.
    await ensureDashboardApplication(services, config.issuerUrl, api.id);

    const { m2mClientId, m2mClientSecret, adminEmail, adminPassword } = config.bootstrap;
    let clientId: string | undefined;
    if (m2mClientId && m2mClientSecret) {
      const existing = await services.applications.store.findById(m2mClientId);
      if (!existing) {
        await services.applications.create({
          id: m2mClientId,
          secret: m2mClientSecret,
          type: "m2m",
          name: BOOTSTRAP_APPLICATION_NAME,
        });
      } else if (services.applications.revealSecret(existing) !== m2mClientSecret) {
        await services.applications.rotateSecret(m2mClientId, m2mClientSecret);
      }
      clientId = m2mClientId;
    } else {
      const authorized = await trx
        .selectFrom("api_applications")
        .innerJoin("applications", "applications.id", "api_applications.application_id")
        .select("applications.id")
        .where("api_applications.api_id", "=", api.id)
        .where("applications.type", "=", "m2m")
        .executeTakeFirst();
      if (!authorized) {
        const created = await services.applications.create({ type: "m2m", name: BOOTSTRAP_APPLICATION_NAME });
        clientId = created.application.id;
        result.generatedManagementClient = { clientId, clientSecret: created.secret! };
        await trx.updateTable("business").set({ bootstrap_client_id: clientId }).execute();
      } else {
        // While still authorised, the generated bootstrap application keeps every scope as new
        // versions add some (an administrator who deauthorised it is not overruled). Known by its
        // stored id, never by its name: any machine allowed to rename applications could take
        // that (migration 0046).
        const bootstrapApp = await trx
          .selectFrom("business")
          .innerJoin("api_applications", "api_applications.application_id", "business.bootstrap_client_id")
          .select("api_applications.application_id as id")
          .where("api_applications.api_id", "=", api.id)
          .executeTakeFirst();
        clientId = bootstrapApp?.id;
      }
    }
    if (clientId) {
      await services.apis.authorizeApplication(api.id, clientId);
      await services.apis.grantScopes(api.id, clientId);
    }

    // Bootstrap creates the administrator; it never promotes an account it did not create. Whoever
    // signed up with this address (after the administrator was deleted, or before the variable was
    // set) chose the password, so promoting it would hand them the installation.
    if (adminEmail && adminPassword) {
      const existing = await services.users.store.findByEmail(adminEmail);
      // The same rules as every other chosen password (long enough, not on the breach list), judged
      // only when the password is about to become the administrator's: when the account exists the
      // variable is unused, and a stale value must not stop an upgrade. Thrown, the error rolls
      // back this transaction and stops the start (exit 78, src/cli.ts), naming only the problem.
      const problem = existing ? undefined : passwordProblem(adminPassword);
      if (problem) {
        throw new ConfigError([
          {
            key: "BOOTSTRAP_ADMIN_PASSWORD",
            problem: `${problem} It would create the administrator ${adminEmail}: choose another.`,
          },
        ]);
      }
      if (!existing)
        await services.users.create({
          email: adminEmail,
          password: adminPassword,
          isAdmin: true,
          emailVerified: true,
        });
      else if (existing.is_admin !== 1) result.adminNotCreated = { userId: existing.id };
    }
    return result;
  });
}

export function managementCredentialsBanner(
  issuer: string,
  credentials: { clientId: string; clientSecret: string },
): string {
  return [
    "",
    "================================================================================",
    " Latchkey generated Management API credentials (shown once, not logged):",
    `   client id:     ${credentials.clientId}`,
    `   client secret: ${credentials.clientSecret}`,
    `   token:  POST ${issuer}/oauth2/token  grant_type=client_credentials`,
    `           audience=${issuer}/api`,
    " Set BOOTSTRAP_M2M_CLIENT_ID / BOOTSTRAP_M2M_CLIENT_SECRET to choose your own.",
    "================================================================================",
    "",
  ].join("\n");
}
