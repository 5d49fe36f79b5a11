// Operator commands that act on the database directly: create applications, APIs and users,
// rotate signing keys. Each prints JSON on stdout so scripts can read it.
import { parseArgs } from "node:util";
import type { Logger } from "pino";
import { APPLICATION_TYPES, InvalidUrlError } from "../applications/applications.service.js";
import { rotateSigningKey } from "../business/signing-keys.js";
import { type Config, loadConfig } from "../config/config.js";
import { loadMasterKey } from "../crypto/master-key.js";
import { resealAll } from "../crypto/reseal.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { verifyMasterKey } from "../crypto/verify-master-key.js";
import { createLogger } from "../logging.js";
import { isPublicClient } from "../oauth/client-auth.js";
import { connectedAppsOptions, createServices, mailOptions, type Services } from "../services.js";
import { openStorage } from "../storage/database.js";
import { migrateToLatest } from "../storage/migrate.js";
import type { ApplicationType } from "../storage/schema.js";
import { passwordProblem } from "../users/passwords.js";
import { EmailTakenError, InvalidEmailError } from "../users/users.service.js";
import { AdminCreateUsageError, createAdministrator } from "./admin-create.js";
import { ImportUsageError, USERS_IMPORT_HELP, usersImportCommand } from "./users-import.js";

export const ADMIN_HELP = `
  apps create --type reg|spa|m2m|device --name NAME [--callback URL]... [--logout URL]...
  apps list
  apps rotate-secret --id CLIENT_ID
  apis create --name NAME --audience AUDIENCE [--scope KEY]...
  apis authorize --audience AUDIENCE --client-id CLIENT_ID [--scope KEY]...
                   (machine-to-machine apps get the listed scopes, or all with --all-scopes)
  users create --email EMAIL (--password PASSWORD | --password-stdin) [--given-name N] [--family-name N] [--admin]
  admins create [--email EMAIL] [--password-stdin] [--given-name N] [--family-name N]
                 a new administrator account (on a terminal it asks for the address and, hidden,
                 the password; otherwise give --email and the password on standard input)
  admins list
  admins grant --email EMAIL [--force]    make an existing account an administrator (an address
                                          nobody verified is refused unless --force)
  admins revoke --email EMAIL [--force]   (the last administrator only with --force)
${USERS_IMPORT_HELP}
  users duplicates      accounts whose e-mail addresses are one mailbox (reported once by the
                        migration that made addresses canonical; merge or delete them by hand)
  keys list
  keys rotate [--activate-in SECONDS]   publish a new signing key now; it signs after SECONDS (default 300)
  keys rotate-master   re-encrypt every stored secret with LATCHKEY_MASTER_KEY (old keys in
                       LATCHKEY_PREVIOUS_MASTER_KEYS); afterwards the old keys can be dropped`;

export class UsageError extends Error {}

const OPTIONS = {
  type: { type: "string" },
  name: { type: "string" },
  id: { type: "string" },
  callback: { type: "string", multiple: true },
  logout: { type: "string", multiple: true },
  audience: { type: "string" },
  scope: { type: "string", multiple: true },
  "all-scopes": { type: "boolean" },
  "client-id": { type: "string" },
  email: { type: "string" },
  password: { type: "string" },
  "password-stdin": { type: "boolean" },
  "given-name": { type: "string" },
  "family-name": { type: "string" },
  admin: { type: "boolean" },
  "activate-in": { type: "string" },
  force: { type: "boolean" },
} as const;

export async function runAdminCommand(args: string[]): Promise<void> {
  try {
    if (args[0] === "users" && args[1] === "import")
      return await usersImportCommand(args.slice(2), withServices);
    await run(args);
  } catch (error) {
    // Mistakes in the command line or its values are usage errors, not crashes.
    if (
      error instanceof InvalidUrlError ||
      error instanceof EmailTakenError ||
      error instanceof InvalidEmailError ||
      error instanceof AdminCreateUsageError ||
      error instanceof ImportUsageError
    )
      throw new UsageError(error.message);
    if (
      error instanceof TypeError &&
      String((error as { code?: string }).code).startsWith("ERR_PARSE_ARGS")
    ) {
      throw new UsageError(error.message);
    }
    throw error;
  }
}

async function run(args: string[]): Promise<void> {
  const { positionals, values } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  const [group, action] = positionals;
  const need = (name: keyof typeof values): string => {
    const value = values[name];
    if (typeof value !== "string" || value === "") throw new UsageError(`--${name} is required`);
    return value;
  };
  const print = (value: unknown): void => {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  };

  await withServices(async (services, logger, secretBox) => {
    switch (`${group} ${action}`) {
      case "apps create": {
        const type = need("type");
        if (!APPLICATION_TYPES.includes(type as ApplicationType))
          throw new UsageError(`--type must be one of ${APPLICATION_TYPES.join(", ")}`);
        const { application, secret } = await services.applications.create({
          name: need("name"),
          type: type as ApplicationType,
          callbackUrls: values.callback ?? [],
          logoutUrls: values.logout ?? [],
        });
        return print({
          client_id: application.id,
          client_secret: secret ?? null,
          type,
          name: application.name,
        });
      }
      case "apps list": {
        const apps = await services.applications.store.list();
        return print(apps.map((a) => ({ client_id: a.id, name: a.name, type: a.type })));
      }
      case "apps rotate-secret": {
        const id = need("id");
        const app = await services.applications.store.findById(id);
        if (!app || isPublicClient(app.type))
          throw new UsageError("no confidential application with that id");
        return print({ client_id: id, client_secret: await services.applications.rotateSecret(id) });
      }
      case "apis create": {
        const api = await services.apis.create({ name: need("name"), audience: need("audience") });
        await services.apis.ensureScopes(api.id, values.scope ?? []);
        return print({ id: api.id, audience: api.audience, scopes: values.scope ?? [] });
      }
      case "apis authorize": {
        const api = await services.apis.store.findByAudience(need("audience"));
        if (!api) throw new UsageError("no API with that audience");
        const clientId = need("client-id");
        if (!(await services.applications.store.findById(clientId)))
          throw new UsageError("no application with that id");
        await services.apis.authorizeApplication(api.id, clientId);
        if (values["all-scopes"]) await services.apis.grantScopes(api.id, clientId);
        else if (values.scope?.length) await services.apis.grantScopes(api.id, clientId, values.scope);
        return print({ api_id: api.id, client_id: clientId, authorized: true });
      }
      case "users create": {
        const password = values["password-stdin"]
          ? (await readStdin()).replace(/\r?\n$/, "")
          : values.password;
        if (password !== undefined) {
          const problem = passwordProblem(password);
          if (problem) throw new UsageError(`password: ${problem}`);
        }
        const user = await services.users.create({
          email: need("email"),
          password,
          givenName: values["given-name"],
          familyName: values["family-name"],
          isAdmin: values.admin ?? false,
          emailVerified: true,
        });
        return print({ id: user.id, email: user.email, is_admin: user.is_admin === 1 });
      }
      case "users duplicates": {
        return print(await services.users.store.emailDuplicates());
      }
      case "admins create": {
        const user = await createAdministrator(
          services,
          {
            email: values.email,
            password: values["password-stdin"] ? (await readStdin()).replace(/\r?\n$/, "") : undefined,
            givenName: values["given-name"],
            familyName: values["family-name"],
          },
          { input: process.stdin, output: process.stderr },
        );
        logger.warn({ event: "admin_created", userId: user.id }, "administrator created");
        return print({ id: user.id, email: user.email, is_admin: true });
      }
      case "admins list": {
        const admins = await services.users.store.listAdmins();
        return print(admins.map((u) => ({ id: u.id, email: u.email, is_suspended: u.is_suspended === 1 })));
      }
      case "admins grant":
      case "admins revoke": {
        const grant = action === "grant";
        const user = await services.users.store.findByEmail(need("email"));
        if (!user) throw new UsageError("no account has that email address");
        // An address nobody proved is anyone's: whoever signed up with it chose the password.
        if (grant && user.email_verified !== 1 && !values.force)
          throw new UsageError(
            "that account's email address is not verified, so anyone could have signed up with it; " +
              "check who owns the account, then run again with --force",
          );
        if (!grant && user.is_admin === 1 && !values.force) {
          const admins = await services.users.store.listAdmins();
          if (admins.length <= 1)
            throw new UsageError("that is the last administrator; run again with --force to leave none");
        }
        await services.users.setAdmin(user.id, grant);
        logger.warn(
          { event: grant ? "admin_granted" : "admin_revoked", userId: user.id },
          "administrator changed",
        );
        return print({ id: user.id, email: user.email, is_admin: grant });
      }
      case "keys list": {
        const keys = await services.oauth.store.listSigningKeys();
        return print(
          keys.map((k) => ({
            kid: k.kid,
            created_at: iso(k.createdAt),
            active_at: iso(k.activeAt),
            retired_at: iso(k.retiredAt),
            expires_at: iso(k.expiresAt),
          })),
        );
      }
      case "keys rotate": {
        const activateIn = Number(values["activate-in"] ?? 300);
        if (!Number.isInteger(activateIn) || activateIn < 0)
          throw new UsageError("--activate-in must be whole seconds");
        const key = await rotateSigningKey(services, activateIn);
        logger.info({ kid: key.kid }, "signing key rotation started");
        return print({ kid: key.kid, published_at: iso(key.createdAt), signs_from: iso(key.activeAt) });
      }
      case "keys rotate-master": {
        const counts = await resealAll(services.db, secretBox, (line) => process.stderr.write(`${line}\n`));
        return print({ master_key_id: secretBox.currentKeyId, reencrypted: counts });
      }
      default:
        throw new UsageError(`unknown command "${positionals.join(" ")}"`);
    }
  });
}

export async function withServices(
  work: (services: Services, logger: Logger, secretBox: SecretBox, config: Config) => Promise<void>,
): Promise<void> {
  const config = loadConfig();
  // Progress goes to stderr; stdout carries only the JSON result.
  const logger = createLogger(config.logLevel === "info" ? "warn" : config.logLevel, process.stderr);
  const masterKey = loadMasterKey(config, logger);
  const { secretBox } = masterKey;
  const storage = await openStorage(config.database, { logger, poolSize: 2 });
  try {
    await migrateToLatest(storage.db, logger);
    // A command run with the wrong key would fail half-way or seal new secrets under a foreign key.
    await verifyMasterKey(storage.db, masterKey, Math.floor(Date.now() / 1000));
    await work(
      createServices({
        db: storage.db,
        secretBox,
        issuer: config.issuerUrl,
        connectedApps: connectedAppsOptions(config),
        mail: mailOptions(config, logger),
        sms: config.sms,
      }),
      logger,
      secretBox,
      config,
    );
  } finally {
    await storage.close();
  }
}

function iso(seconds: number | null): string | null {
  return seconds === null ? null : new Date(seconds * 1000).toISOString();
}

async function readStdin(): Promise<string> {
  let data = "";
  for await (const chunk of process.stdin) data += chunk;
  return data;
}
