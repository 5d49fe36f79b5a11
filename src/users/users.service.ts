import type { Clock } from "../clock.js";
import { newId } from "../crypto/random.js";
import type { Db } from "../storage/database.js";
import { hashPassword } from "./passwords.js";
import { normalizeEmail, type User, UsersStore } from "./users.store.js";

export interface NewUser {
  email: string;
  password?: string;
  givenName?: string;
  familyName?: string;
  isAdmin?: boolean;
  emailVerified?: boolean;
}

export class EmailTakenError extends Error {
  constructor() {
    super("A user with this email already exists");
    this.name = "EmailTakenError";
  }
}

export class UsersService {
  readonly store: UsersStore;
  constructor(
    db: Db,
    private readonly clock: Clock,
  ) {
    this.store = new UsersStore(db);
  }

  async create(input: NewUser): Promise<User> {
    const email = normalizeEmail(input.email);
    if (await this.store.findByEmail(email)) throw new EmailTakenError();
    const now = this.clock.now();
    const id = newId.user();
    try {
      await this.store.insert({
        id,
        email,
        email_verified: input.emailVerified ? 1 : 0,
        given_name: input.givenName ?? null,
        family_name: input.familyName ?? null,
        picture: null,
        username: null,
        provided_id: null,
        password_hash: input.password ? await hashPassword(input.password) : null,
        is_suspended: 0,
        is_admin: input.isAdmin ? 1 : 0,
        created_at: now,
        updated_at: now,
        last_signed_in_at: null,
      });
    } catch (error) {
      // A concurrent sign-up with the same email lost the race on the unique index.
      if (await this.store.findByEmail(email)) throw new EmailTakenError();
      throw error;
    }
    return (await this.store.findById(id))!;
  }

  async setPassword(userId: string, password: string): Promise<void> {
    await this.store.update(userId, {
      password_hash: await hashPassword(password),
      updated_at: this.clock.now(),
    });
  }
}
