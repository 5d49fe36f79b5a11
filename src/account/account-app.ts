// The account pages (/account) sign people in as an ordinary application of Latchkey, through the
// authorization endpoint, so every step a sign-in owes (the second factor, a verified address, a
// new password) applies to them exactly as to any application's sign-in: there is no second way
// in to get wrong.
//
// Its client ID is derived from the business row's random id instead of being stored: a stored id
// would need a column (a migration), and deriving it lets any instance, at any time, re-create the
// application when it is missing (an administrator deleted it) — two instances doing so at once
// collide on the primary key, and the loser reads the winner's row. Nobody else can hold that id:
// identifiers of other applications are random, and operators choose only the bootstrap M2M one.
//
// It is a confidential ("reg") application whose secret nobody keeps: the account pages never go
// to the token endpoint (account-sign-in.ts consumes the code itself), so a code that leaked on its
// way could not be exchanged for tokens by anyone.
import { redirectUrlProblem } from "../applications/urls.js";
import { sha256 } from "../crypto/random.js";
import type { Services } from "../services.js";

/** What the sign-in page says the person is signing in to ("to continue to …"). */
export const ACCOUNT_APPLICATION_NAME = "Account settings";

export function accountCallbackUrl(issuer: string): string {
  return `${issuer}/account/callback`;
}

/** Whether ISSUER_URL can carry the callback at all (http only on loopback, RFC 9700 §2.6). */
export function accountPagesCanSignIn(issuer: string): boolean {
  return redirectUrlProblem(accountCallbackUrl(issuer)) === undefined;
}

/** The account pages' client ID: 32 hex digits, like every client ID (COMPAT.md §2.3). */
export async function accountClientId(services: Pick<Services, "business">): Promise<string> {
  const { id } = await services.business.get();
  return Buffer.from(sha256(`latchkey-account-pages:${id}`), "base64url")
    .toString("hex")
    .slice(0, 32);
}

/**
 * The account pages' application, registered when missing, with exactly the current issuer's
 * callback and no other URL (one left on a former ISSUER_URL's origin would send a code there).
 * Undefined when ISSUER_URL cannot carry a callback.
 */
export async function ensureAccountApplication(services: Services): Promise<string | undefined> {
  const issuer = services.oauth.issuer;
  if (!accountPagesCanSignIn(issuer)) return undefined;
  const id = await accountClientId(services);
  const store = services.applications.store;
  if (!(await store.findById(id))) {
    try {
      // Created without URLs: the callback lies in Latchkey's own URL space, where
      // ApplicationsService refuses to register any; it is set below as the dashboard's is.
      await services.applications.create({ id, type: "reg", name: ACCOUNT_APPLICATION_NAME });
    } catch (error) {
      // Another instance (or request) registered it first.
      if (!(await store.findById(id))) throw error;
    }
  }
  const wanted = accountCallbackUrl(issuer);
  const now = services.clock.now();
  const callbacks = await store.urls(id, "callback");
  // Written only when different: each write moves every instance's configuration cache.
  if (callbacks.length !== 1 || callbacks[0] !== wanted)
    await store.replaceUrls(id, "callback", [wanted], now);
  if ((await store.urls(id, "logout")).length > 0) await store.replaceUrls(id, "logout", [], now);
  return id;
}
