// The account a first sign-in through a connection creates (issue 17, "just in time"), shared by
// the callback (an address the provider gave, or none) and the e-mail proof (an address the person
// typed and proved with a code). The rules are the sign-up page's: an organization that does not
// take registrations refuses, and an address some account has is never given a second account.
// The dashboard's sign-in creates nobody (dashboard-sign-in.ts). Kinde's connection options decide
// the rest (its spec, CreateConnection's options):
// - is_create_missing_user false: nobody is created; only people who have an account sign in.
// - is_auto_join_organization_enabled: the new account joins the organizations the connection is
//   enabled for (ConnectionsService.autoJoinOrganizations), closed registrations or not: enabling
//   an auto-join connection for an organization is its administrators' choice to take the people
//   that provider signs in.
// - is_sync_user_profile_on_login: names and picture follow the provider at every later sign-in
//   (syncProfile); the address never does, as it decides which account is whose.
import type { SignInConnection } from "../connections/connections.service.js";
import { newId } from "../crypto/random.js";
import { t } from "../i18n/catalogue.js";
import { DEFAULT_LOCALE, type Locale } from "../i18n/locale.js";
import { pageSignInRefusal } from "../i18n/problems.js";
import type { AuthorizationRequest } from "../oauth/authorize.js";
import type { Services } from "../services.js";
import { inTransaction } from "../storage/database.js";
import { ExternalIdentitiesStore, type ExternalIdentityRow } from "../users/external-identities.store.js";
import {
  EmailTakenError,
  type ProfileChanges,
  pictureProblem,
  UsersService,
} from "../users/users.service.js";
import { type User, uniqueViolation } from "../users/users.store.js";
import { refuseDashboardConnectionAccount } from "./dashboard-sign-in.js";
import { type UpstreamProfile, UpstreamRefusal } from "./upstream-providers.js";
import { text } from "./upstream-user-api.js";

/** The external identity that links `profile`, signed in at `connection`, to the account `userId`. */
export function identityOf(
  userId: string,
  connection: SignInConnection,
  profile: Pick<UpstreamProfile, "subject" | "email" | "emailVerified" | "claims">,
  now: number,
) {
  return {
    userId,
    connectionId: connection.id,
    subject: profile.subject,
    email: profile.email,
    emailVerified: profile.emailVerified,
    claims: profile.claims,
    now,
  };
}

export type NewAccount =
  | { created: true; user: User; identity: ExternalIdentityRow }
  /** The same provider account was linked meanwhile (two sign-ins at once): sign that one in. */
  | { created: false };

/**
 * A new user for `profile` with `email` (canonical, or null) and its external identity, committed
 * together; UpstreamRefusal when the request's organization takes no registrations or the address
 * was taken meanwhile.
 */
export async function createConnectionAccount(
  services: Services,
  connection: SignInConnection,
  authorization: AuthorizationRequest,
  profile: UpstreamProfile,
  address: { email: string | null; verified: boolean },
): Promise<NewAccount> {
  // The dashboard's sign-in makes no accounts, whatever the connection allows.
  await refuseDashboardConnectionAccount(services, authorization.clientId, authorization.locale);
  // The refusals' page speaks the sign-in's language (issue 20).
  const locale = authorization.locale ?? DEFAULT_LOCALE;
  if (connection.options.is_create_missing_user === false)
    throw new UpstreamRefusal(
      403,
      t(locale, "connection.account_first_title"),
      t(locale, "connection.account_first", { provider: connection.displayName }),
    );
  const autoJoin = await services.connections.autoJoinOrganizations(connection);
  // A sign-up that creates an organization (createOrgName) joins no existing one's rules.
  const orgCode = authorization.createOrgName === undefined ? authorization.orgCode : undefined;
  if (orgCode && !autoJoin.includes(orgCode)) {
    const org = await services.organizations.store.find(orgCode);
    if (org?.is_allow_registrations !== 1 || org.is_suspended === 1)
      throw new UpstreamRefusal(
        403,
        t(locale, "connection.no_registrations_title"),
        t(locale, "connection.no_registrations"),
      );
  }
  const picture = text(profile.claims.picture, 2000);
  const now = services.clock.now();
  // Named before it exists, so that the account's user.created event can carry it.
  const identityId = newId.identity();
  try {
    const { user, identity } = await inTransaction(services.db, async (trx) => {
      const user = await new UsersService(trx, services.clock).create({
        email: address.email,
        emailVerified: address.verified,
        givenName: text(profile.claims.given_name, 100),
        familyName: text(profile.claims.family_name, 100),
        picture: picture && !pictureProblem(picture) ? picture : undefined,
        organizationCode: orgCode,
        alsoJoin: autoJoin,
        source: "user",
        identity: {
          id: identityId,
          type: connection.strategy,
          connection_id: connection.id,
          // As the identities API names it (users/identities.routes.ts): the address, else the id.
          name: profile.email ?? profile.subject,
        },
      });
      const identity = await new ExternalIdentitiesStore(trx).insert({
        ...identityOf(user.id, connection, profile, now),
        id: identityId,
      });
      return { user, identity };
    });
    return { created: true, user, identity };
  } catch (error) {
    // The address was taken meanwhile: refused like any address an account has.
    const unique = uniqueViolation(error);
    if (error instanceof EmailTakenError || unique?.column !== undefined)
      throw new UpstreamRefusal(
        409,
        t(locale, "connection.have_account_title"),
        t(locale, "connection.have_account"),
      );
    if (unique) return { created: false };
    throw error;
  }
}

/**
 * Kinde's is_sync_user_profile_on_login: the names and picture the provider sends now replace the
 * account's (a claim it does not send leaves the field alone), with user.updated when anything
 * changed. Never the address: it is what linking and every other sign-in method go by.
 */
export async function syncProfile(
  services: Services,
  connection: SignInConnection,
  user: User,
  claims: Readonly<Record<string, unknown>>,
): Promise<User> {
  if (connection.options.is_sync_user_profile_on_login !== true) return user;
  const changes: ProfileChanges = {};
  const givenName = text(claims.given_name, 100);
  const familyName = text(claims.family_name, 100);
  const picture = text(claims.picture, 2000);
  if (givenName !== undefined && givenName !== user.given_name) changes.given_name = givenName;
  if (familyName !== undefined && familyName !== user.family_name) changes.family_name = familyName;
  if (picture !== undefined && !pictureProblem(picture) && picture !== user.picture)
    changes.picture = picture;
  if (Object.keys(changes).length === 0) return user;
  return (await services.users.update(user.id, changes, undefined, undefined, "user")) ?? user;
}

/** Administrators sign in with their password only (docs/security.md, "Who may do what"). */
export function administratorRefusal(locale: Locale): UpstreamRefusal {
  return new UpstreamRefusal(
    403,
    t(locale, "connection.administrator_title"),
    t(locale, "connection.administrator"),
  );
}

/** The connection was disabled for this request (or deleted) while the person was away at it. */
export function optionGone(locale: Locale): UpstreamRefusal {
  return new UpstreamRefusal(
    403,
    t(locale, "connection.option_gone_title"),
    t(locale, "connection.choose_another"),
  );
}

/** Two sign-ins raced (the same provider account, or the address, taken meanwhile). */
export function tryAgain(locale: Locale): UpstreamRefusal {
  return new UpstreamRefusal(409, t(locale, "connection.try_again_title"), t(locale, "connection.try_again"));
}

/** organizationRefusal's reason (English for the OAuth error_description), shown in the page's language. */
export function cannotSignInHere(locale: Locale, reason: string): UpstreamRefusal {
  return new UpstreamRefusal(
    403,
    t(locale, "connection.cannot_sign_in_here_title"),
    pageSignInRefusal(locale, reason),
  );
}
