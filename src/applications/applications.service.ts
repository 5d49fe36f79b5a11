import type { Clock } from "../clock.js";
import { newId } from "../crypto/random.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { isPublicClient } from "../oauth/client-auth.js";
import { type Db, inTransaction } from "../storage/database.js";
import type { ApplicationType, ApplicationUrlKind } from "../storage/schema.js";
import { AccessRolesStore } from "./access-roles.store.js";
import { type ApplicationRow, ApplicationsStore } from "./applications.store.js";
import { issuerSpaceProblem, redirectUrlProblem } from "./urls.js";

/** Kinde's defaults (COMPAT.md §1.3): access 1 day, ID 1 hour, refresh 15 days. */
export const DEFAULT_LIFETIMES = { access: 86_400, id: 3_600, refresh: 1_296_000 } as const;

export const APPLICATION_TYPES: readonly ApplicationType[] = ["reg", "spa", "m2m", "device"];

export interface NewApplication {
  name: string;
  type: ApplicationType;
  /** Only for provisioning with known credentials (bootstrap); otherwise generated. */
  id?: string;
  secret?: string;
  callbackUrls?: string[];
  logoutUrls?: string[];
  /** m2m only: the organization the application acts for (checked by the caller). */
  orgCode?: string;
}

export class InvalidUrlError extends Error {
  constructor(
    readonly url: string,
    readonly problem: string,
  ) {
    super(`${url}: ${problem}`);
    this.name = "InvalidUrlError";
  }
}

/** Access control switched on while the application has no access role (Kinde's ACCESS_ROLES_REQUIRED). */
export class NoAccessRolesError extends Error {
  constructor() {
    super("Add at least one allowed role before enabling role-based access control");
    this.name = "NoAccessRolesError";
  }
}

export class ApplicationsService {
  readonly store: ApplicationsStore;
  constructor(
    private readonly db: Db,
    private readonly secretBox: SecretBox,
    private readonly clock: Clock,
    /** ISSUER_URL: no application registers URLs in Latchkey's own space (the dashboard's are set by bootstrap). */
    private readonly issuer: string,
  ) {
    this.store = new ApplicationsStore(db);
  }

  /** Creates an application; returns it with its plaintext secret (confidential kinds only). */
  async create(input: NewApplication): Promise<{ application: ApplicationRow; secret?: string }> {
    for (const url of [...(input.callbackUrls ?? []), ...(input.logoutUrls ?? [])]) this.assertUrl(url);
    const id = input.id ?? newId.clientId();
    const secret = isPublicClient(input.type) ? undefined : (input.secret ?? newId.clientSecret());
    const now = this.clock.now();
    await inTransaction(this.db, async (trx) => {
      const store = new ApplicationsStore(trx);
      await store.insert({
        id,
        name: input.name,
        type: input.type,
        client_secret_sealed: secret ? this.secretBox.seal(secret, secretAad(id)) : null,
        access_token_lifetime: DEFAULT_LIFETIMES.access,
        refresh_token_lifetime: DEFAULT_LIFETIMES.refresh,
        id_token_lifetime: DEFAULT_LIFETIMES.id,
        created_at: now,
        updated_at: now,
        org_code: input.orgCode ?? null,
      });
      await store.addUrls(id, "callback", input.callbackUrls ?? [], now);
      await store.addUrls(id, "logout", input.logoutUrls ?? [], now);
    });
    return { application: (await this.store.findById(id))!, secret };
  }

  /**
   * Renames, replaces the URL lists and/or switches access control, atomically. Access control goes
   * on only with at least one access role (NoAccessRolesError), counted in the same transaction.
   */
  async update(
    id: string,
    changes: { name?: string; callbackUrls?: string[]; logoutUrls?: string[]; accessControl?: boolean },
  ): Promise<void> {
    for (const url of [...(changes.callbackUrls ?? []), ...(changes.logoutUrls ?? [])]) this.assertUrl(url);
    const now = this.clock.now();
    await inTransaction(this.db, async (trx) => {
      const store = new ApplicationsStore(trx);
      if (changes.accessControl && (await new AccessRolesStore(trx).count(id)) === 0)
        throw new NoAccessRolesError();
      await store.update(id, {
        ...(changes.name ? { name: changes.name } : {}),
        ...(changes.accessControl !== undefined
          ? { is_access_control_enabled: changes.accessControl ? 1 : 0 }
          : {}),
        updated_at: now,
      });
      if (changes.callbackUrls) await store.replaceUrls(id, "callback", changes.callbackUrls, now);
      if (changes.logoutUrls) await store.replaceUrls(id, "logout", changes.logoutUrls, now);
    });
  }

  async addUrls(id: string, kind: ApplicationUrlKind, urls: readonly string[]): Promise<void> {
    for (const url of urls) this.assertUrl(url);
    await this.store.addUrls(id, kind, urls, this.clock.now());
  }

  private assertUrl(url: string): void {
    const problem = redirectUrlProblem(url) ?? issuerSpaceProblem(url, this.issuer);
    if (problem) throw new InvalidUrlError(url, problem);
  }

  /** The plaintext secret, for administrators (Kinde returns it) and client authentication. */
  revealSecret(application: ApplicationRow): string | undefined {
    return application.client_secret_sealed
      ? this.secretBox.open(application.client_secret_sealed, secretAad(application.id))
      : undefined;
  }

  /** Replaces the secret; the old one stops working at once. */
  async rotateSecret(id: string, secret: string = newId.clientSecret()): Promise<string> {
    await this.store.update(id, {
      client_secret_sealed: this.secretBox.seal(secret, secretAad(id)),
      updated_at: this.clock.now(),
    });
    return secret;
  }
}

/** Binds a sealed secret to its application, so a ciphertext moved to another row does not open. */
export function secretAad(applicationId: string): string {
  return `client_secret:${applicationId}`;
}
