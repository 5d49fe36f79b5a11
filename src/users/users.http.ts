// What the users routes share: looking up the user an operation names, the rule that keeps machine
// tokens away from administrator accounts, identities and Kinde's date format.
import { createHash } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { ApiError } from "../management/errors.js";
import { canonicalEmail, emailProblem } from "./email.js";
import { IdentityTakenError, type IdentityType, usernameProblem } from "./users.service.js";
import { normalizeUsername, type User } from "./users.store.js";

/** 9999-12-31T23:59:59Z: past it toISOString writes six-digit years. */
const LAST_FOUR_DIGIT_SECOND = 253_402_300_799;
const twoDigits = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/**
 * `new Date(seconds * 1000).toISOString()`, worked out arithmetically for whole seconds from 1970 to
 * 9999 (a page of 100 users formats 200 of them; a Date and its toISOString each were most of that).
 * Days to a civil date: Howard Hinnant's days_from_civil inverse (proleptic Gregorian, as Date).
 */
export function iso(seconds: number | null | undefined): string | null {
  if (seconds === null || seconds === undefined) return null;
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > LAST_FOUR_DIGIT_SECOND)
    return new Date(seconds * 1000).toISOString();
  const days = Math.floor(seconds / 86_400);
  const time = seconds - days * 86_400;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthIndex = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthIndex + 2) / 5) + 1;
  const month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const hours = Math.floor(time / 3600);
  const minutes = Math.floor((time - hours * 3600) / 60);
  return `${year}-${twoDigits(month)}-${twoDigits(day)}T${twoDigits(hours)}:${twoDigits(minutes)}:${twoDigits(time % 60)}.000Z`;
}

/** Kinde's identities of a user: its email and its username, in that order. */
export function identitiesOf(
  user: Pick<User, "email" | "username">,
): { type: IdentityType; value: string }[] {
  const list: { type: IdentityType; value: string }[] = [];
  if (user.email) list.push({ type: "email", value: user.email });
  if (user.username) list.push({ type: "username", value: user.username });
  return list;
}

/**
 * Latchkey has no identities table: an identity's id is derived from its user, type and value, so
 * it is stable for as long as the identity exists and new when the value changes.
 */
export function identityId(userId: string, type: IdentityType, value: string): string {
  return `identity_${createHash("sha256").update(`${userId}\n${type}\n${value}`).digest("hex").slice(0, 32)}`;
}

export async function findUser(request: FastifyRequest, id: string): Promise<User> {
  const user = await request.services.users.store.findById(id);
  if (!user) throw new ApiError("USER_NOT_FOUND");
  return user;
}

/**
 * The user a Management API write may change. An administrator's account opens the dashboard, and
 * the dashboard every secret: a machine token that could re-password, suspend, delete, re-address
 * or sign out an administrator (or give it an identity) would turn a narrow scope such as
 * update:user_passwords into administrator power. So only an administrator, through the dashboard,
 * changes an administrator account through this API; operators use the CLI.
 */
export async function findChangeableUser(request: FastifyRequest, id: string): Promise<User> {
  const user = await findUser(request, id);
  if (user.is_admin === 1 && request.caller?.userId === undefined)
    throw new ApiError("ADMINISTRATOR_PROTECTED");
  return user;
}

/** The stored (canonical) form of an email or username; a 400 naming the problem when it is not valid. */
export function identityValue(type: IdentityType, typed: string): string {
  const problem = type === "email" ? emailProblem(typed) : usernameProblem(normalizeUsername(typed));
  if (problem) {
    throw new ApiError(
      type === "email" ? "INVALID_EMAIL" : "INVALID_USERNAME",
      `The ${type === "email" ? "email address" : "username"} ${problem}`,
    );
  }
  return type === "email" ? canonicalEmail(typed) : normalizeUsername(typed);
}

export function takenConflict(error: unknown): never {
  if (error instanceof IdentityTakenError) {
    throw new ApiError("USER_EXISTS", `A user with this ${error.identity} already exists`);
  }
  throw error;
}

export function unsupportedIdentity(type: string): ApiError {
  return new ApiError(
    "IDENTITY_TYPE_NOT_SUPPORTED",
    type === "phone"
      ? "Phone identities are not supported yet; use an email or username identity"
      : `Identities of type ${type} are not supported yet; use an email or username identity`,
  );
}
