import type { Clock } from "../clock.js";
import { newId } from "../crypto/random.js";
import { type EventSource, type NewEvent, recordEvent } from "../events/events.js";
import { userData, userIdData } from "../events/payloads.js";
import { OrganizationsService } from "../organizations/organizations.service.js";
import { PropertiesStore } from "../properties/properties.store.js";
import { type Db, inTransaction } from "../storage/database.js";
import { canonicalEmail, emailProblem } from "./email.js";
import { hashPassword, needsRehash, type ReservedPasswordCheck, verifyPassword } from "./passwords.js";
import { normalizeUsername, type User, UsersStore, uniqueViolation } from "./users.store.js";

export interface NewUser {
  email?: string | null;
  username?: string | null;
  /** A plaintext password, hashed here with argon2id. */
  password?: string;
  /** An already hashed password (validated by the caller), stored as it is. */
  passwordHash?: string;
  /** The password is temporary (Kinde's is_temporary_password): replaced at the next sign-in. */
  passwordChangeRequired?: boolean;
  givenName?: string | null;
  familyName?: string | null;
  picture?: string | null;
  providedId?: string | null;
  isAdmin?: boolean;
  emailVerified?: boolean;
  /** An organization to join besides the default one (Kinde's organization_code). */
  organizationCode?: string;
  /** More organizations to join, in the same transaction (a connection's auto-join). */
  alsoJoin?: readonly string[];
  /** Who creates the account (the user.created event's source); operators' tools by default. */
  source?: EventSource;
  /**
   * The provider account the user is created with (a first sign-in through a connection), named
   * in the user.created event; the caller inserts it in the same transaction.
   */
  identity?: { id: string; type: string; connection_id: string; name: string };
  /** Property values by key, kept with the account (the sign-up's marketing parameters). */
  properties?: Readonly<Record<string, string>>;
}

export type IdentityType = "email" | "username";

export interface ProfileChanges {
  given_name?: string | null;
  family_name?: string | null;
  picture?: string | null;
  provided_id?: string | null;
}

/** The email or username belongs to another user. */
export class IdentityTakenError extends Error {
  constructor(readonly identity: IdentityType) {
    super(`A user with this ${identity} already exists`);
    this.name = "IdentityTakenError";
  }
}

export class EmailTakenError extends IdentityTakenError {
  constructor() {
    super("email");
    this.name = "EmailTakenError";
  }
}

export class UsernameTakenError extends IdentityTakenError {
  constructor() {
    super("username");
    this.name = "UsernameTakenError";
  }
}

/** The address cannot be stored (callers check emailProblem first to word their own answer). */
export class InvalidEmailError extends Error {
  constructor(readonly problem: string) {
    super(`The email address ${problem}`);
    this.name = "InvalidEmailError";
  }
}

function takenError(identity: IdentityType): IdentityTakenError {
  return identity === "email" ? new EmailTakenError() : new UsernameTakenError();
}

const USERNAME = /^[\p{L}\p{N}._-]{1,64}$/u;

export function usernameProblem(username: string): string | undefined {
  return USERNAME.test(username) ? undefined : "must be 1-64 letters, digits, dots, hyphens or underscores";
}

/** Pictures are shown by other applications: only absolute http(s) URLs. */
export function pictureProblem(picture: string): string | undefined {
  try {
    const url = new URL(picture);
    if ((url.protocol === "https:" || url.protocol === "http:") && picture.length <= 2000) return undefined;
  } catch {
    // fall through
  }
  return "must be an absolute http or https URL of at most 2000 characters";
}

/** The event a completed sign-in records (Kinde's user.authenticated, the person its source). */
export function signInEvent(userId: string): NewEvent {
  return { type: "user.authenticated", source: "user", data: userIdData(userId), userId };
}

export class UsersService {
  readonly store: UsersStore;
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {
    this.store = new UsersStore(db);
  }

  /** Creates a user; throws IdentityTakenError when the email or username is already in use. */
  async create(input: NewUser): Promise<User> {
    const problem = input.email ? emailProblem(input.email) : undefined;
    if (problem) throw new InvalidEmailError(problem);
    const email = input.email ? canonicalEmail(input.email) : null;
    const username = input.username ? normalizeUsername(input.username) : null;
    const taken = async (): Promise<IdentityType | undefined> => {
      if (email && (await this.store.findByEmail(email))) return "email";
      if (username && (await this.store.findByUsername(username))) return "username";
      return undefined;
    };
    const before = await taken();
    if (before) throw takenError(before);
    const now = this.clock.now();
    const id = newId.user();
    const passwordHash = input.password ? await hashPassword(input.password) : (input.passwordHash ?? null);
    // The account, its default organization and its user.created event commit together.
    const created = await inTransaction(this.db, async (trx) => {
      const store = new UsersStore(trx);
      const inserted = await store.insertIfFree({
        id,
        email,
        email_verified: input.emailVerified ? 1 : 0,
        given_name: input.givenName ?? null,
        family_name: input.familyName ?? null,
        picture: input.picture ?? null,
        username,
        provided_id: input.providedId ?? null,
        password_hash: passwordHash,
        password_change_required: passwordHash && input.passwordChangeRequired ? 1 : 0,
        is_suspended: 0,
        is_admin: input.isAdmin ? 1 : 0,
        created_at: now,
        updated_at: now,
        last_signed_in_at: null,
      });
      if (!inserted) return undefined;
      // As in Kinde, every new user joins the default organization (with its default roles).
      const organizations = new OrganizationsService(trx, this.clock);
      await organizations.joinNewUser(id, input.organizationCode);
      for (const code of input.alsoJoin ?? []) await organizations.join(code, id);
      if (input.properties) await new PropertiesStore(trx).setNewUserValues(id, input.properties, now);
      const user = (await store.findById(id))!;
      const data = await userData(trx, user);
      if (input.identity) data.identity = { ...input.identity };
      await this.record(trx, "user.created", input.source ?? "admin", user.id, data);
      return user;
    });
    // A concurrent create with the same email or username won the race on the unique index.
    if (!created) throw takenError((await taken()) ?? (email ? "email" : "username"));
    return created;
  }

  private record(
    trx: Db,
    type:
      | "user.created"
      | "user.updated"
      | "user.deleted"
      | "user.authenticated"
      | "user.authentication_failed",
    source: EventSource,
    userId: string,
    data: Record<string, unknown>,
  ): Promise<string> {
    return recordEvent(trx, this.clock, { type, source, data, userId });
  }

  /** user.updated with the account as it now is (inside the transaction that changed it). */
  private async recordUpdated(trx: Db, userId: string, source: EventSource): Promise<void> {
    const user = await new UsersStore(trx).findById(userId);
    if (user) await this.record(trx, "user.updated", source, userId, await userData(trx, user));
  }

  /**
   * Gives a user an email or username they do not have yet. False when the user already has one
   * of that type; IdentityTakenError when another user has this value.
   */
  async addIdentity(
    userId: string,
    type: IdentityType,
    value: string,
    source: EventSource = "admin",
  ): Promise<boolean> {
    const problem = type === "email" ? emailProblem(value) : undefined;
    if (problem) throw new InvalidEmailError(problem);
    const normalized = type === "email" ? canonicalEmail(value) : normalizeUsername(value);
    const owner =
      type === "email"
        ? await this.store.findByEmail(normalized)
        : await this.store.findByUsername(normalized);
    if (owner && owner.id !== userId) throw takenError(type);
    try {
      // A new email has not been verified by anyone.
      const extra = type === "email" ? { email_verified: 0 } : {};
      return await inTransaction(this.db, async (trx) => {
        const filled = await new UsersStore(trx).fillIfEmpty(userId, type, normalized, {
          ...extra,
          updated_at: this.clock.now(),
        });
        if (filled) await this.recordUpdated(trx, userId, source);
        return filled;
      });
    } catch (error) {
      // Lost a race on the unique index (nothing more may run in an aborted PostgreSQL transaction).
      if (uniqueViolation(error)) throw takenError(type);
      throw error;
    }
  }

  /**
   * Grants or revokes administrator. Only operators reach this (`latchkey admins`): no Management
   * API operation and no machine token can change who is an administrator.
   */
  async setAdmin(userId: string, isAdmin: boolean): Promise<void> {
    await this.store.update(userId, { is_admin: isAdmin ? 1 : 0, updated_at: this.clock.now() });
  }

  /**
   * The mailbox's owner has just proved an address nobody had proved before (a sign-in code, a
   * password reset, a provider linked by e-mail code). Whoever set the account up may have been
   * someone else using that address — a sign-up with a password, or a provider that does not check
   * its `email` claim — so every way in they could have added stops working: the password, the
   * providers linked, the passkeys, and every session and grant. Second factors stay: they keep
   * nobody out who proves the account's other factor, and dropping them would let a mailbox's
   * holder past the factor of an owner who never verified their address.
   */
  async dropUnprovenAccess(userId: string): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      const store = new UsersStore(trx);
      const now = this.clock.now();
      await store.update(userId, { password_hash: null, updated_at: now });
      await trx.deleteFrom("external_identities").where("user_id", "=", userId).execute();
      await trx.deleteFrom("passkeys").where("user_id", "=", userId).execute();
      await store.revokeEverything(userId, now, "address proved: unproven access dropped");
    });
  }

  /**
   * Marks `email` proved (a one-time code sent to it came back), while it is still the account's
   * address; the account as it now is, or undefined when the address changed meanwhile.
   */
  async markEmailVerified(userId: string, email: string): Promise<User | undefined> {
    return inTransaction(this.db, async (trx) => {
      const result = await trx
        .updateTable("users")
        .set({ email_verified: 1, updated_at: this.clock.now() })
        .where("id", "=", userId)
        .where("email", "=", email)
        .where("email_verified", "=", 0)
        .executeTakeFirst();
      const user = await new UsersStore(trx).findById(userId);
      if (user?.email !== email || user.email_verified !== 1) return undefined;
      // The user proved their own address: user.updated, once (not again for an address already proved).
      if (result.numUpdatedRows > 0n)
        await this.record(trx, "user.updated", "user", userId, await userData(trx, user));
      return user;
    });
  }

  async setPassword(userId: string, password: string, options: { temporary?: boolean } = {}): Promise<void> {
    await this.setPasswordHash(userId, await hashPassword(password), options);
  }

  /**
   * Stores an already hashed (and validated) password. A password set by an administrator is
   * usually a reset after a suspected compromise, so whoever held the old one is signed out
   * everywhere in the same transaction (ASVS 3.3.3).
   */
  async setPasswordHash(
    userId: string,
    passwordHash: string,
    options: { temporary?: boolean } = {},
  ): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      const store = new UsersStore(trx);
      const now = this.clock.now();
      // A temporary password (Kinde's is_temporary_password) must be replaced at the next sign-in;
      // any other new password ends such a demand.
      await store.update(userId, {
        password_hash: passwordHash,
        password_change_required: options.temporary ? 1 : 0,
        updated_at: now,
      });
      await store.revokeEverything(userId, now, "password set");
    });
  }

  /**
   * Checks a sign-in password against the user's hash (argon2id, or an imported bcrypt hash). A
   * correct password under an outdated hash is re-hashed with argon2id on the spot. Without a user
   * the check still costs a hash verification (no enumeration by timing).
   */
  async verifyPassword(
    user: User | undefined,
    password: string,
    place?: ReservedPasswordCheck,
  ): Promise<boolean> {
    const stored = user?.password_hash;
    const valid = await verifyPassword(stored, password, place);
    if (valid && user && stored && needsRehash(stored)) {
      await this.store.replacePasswordHash(user.id, stored, await hashPassword(password), this.clock.now());
    }
    return valid;
  }

  /** A completed sign-in: the counters and user.authenticated (signInEvent), in one transaction. */
  async recordSignIn(userId: string): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      await new UsersStore(trx).recordSignIn(userId, this.clock.now());
      await recordEvent(trx, this.clock, signInEvent(userId));
    });
  }

  /** A wrong password for an existing account: the counter and user.authentication_failed. */
  async recordFailedSignIn(userId: string): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      await new UsersStore(trx).recordFailedSignIn(userId);
      await this.record(trx, "user.authentication_failed", "user", userId, userIdData(userId));
    });
  }

  /**
   * Changes profile fields (undefined leaves a field as it is) and suspends or reinstates, in one
   * transaction. Suspending ends every session and grant at once. Returns the updated user.
   */
  async update(
    userId: string,
    changes: ProfileChanges,
    suspended?: boolean,
    passwordResetRequested?: boolean,
    source: EventSource = "admin",
  ): Promise<User | undefined> {
    return inTransaction(this.db, async (trx) => {
      const store = new UsersStore(trx);
      const now = this.clock.now();
      const set = {
        ...changes,
        ...(suspended === undefined ? {} : { is_suspended: suspended ? 1 : 0 }),
        // Kinde's is_password_reset_requested: a new password at the next sign-in (steps.ts).
        ...(passwordResetRequested === undefined
          ? {}
          : { password_change_required: passwordResetRequested ? 1 : 0 }),
      };
      const changing = Object.values(set).some((v) => v !== undefined);
      if (changing) await store.update(userId, { ...set, updated_at: now });
      if (suspended) await store.revokeEverything(userId, now, "user suspended");
      // A reset is requested after a suspected compromise: whoever holds the account now is out.
      else if (passwordResetRequested) await store.revokeEverything(userId, now, "password reset requested");
      const user = await store.findById(userId);
      if (user && changing) await this.record(trx, "user.updated", source, userId, await userData(trx, user));
      return user;
    });
  }

  /** Signs a user out everywhere: sessions, unexchanged codes, grants (refresh and access tokens). */
  async revokeSessions(userId: string): Promise<void> {
    await inTransaction(this.db, (trx) =>
      new UsersStore(trx).revokeEverything(userId, this.clock.now(), "user sessions deleted"),
    );
  }

  /** Deletes a user with everything that cascades from it; their access tokens stop working too. */
  async delete(userId: string, source: EventSource = "admin"): Promise<boolean> {
    return inTransaction(this.db, async (trx) => {
      const store = new UsersStore(trx);
      await store.revokeAccessTokens(userId, this.clock.now());
      const deleted = await store.delete(userId);
      if (deleted) await this.record(trx, "user.deleted", source, userId, userIdData(userId));
      return deleted;
    });
  }
}
