// Which addresses a directory may provision (security review H1): only those in its organization's
// own domains, the home-realm domains of the directory's enterprise connection (src/connections/).
// Without this a token holder could create an account for victim@gmail.com, wait for its owner to
// claim it (e-mail code, password reset, social link) and then move its address to one they read.
// A domain is one that the organization proved it routes to its IdP; a sub-domain or look-alike is
// not it (domains are compared in canonical form, IDNA A-labels lower-cased, as canonicalEmail
// makes an address's domain).
import { ConnectionsStore } from "../connections/connections.store.js";
import type { Db } from "../storage/database.js";
import { canonicalEmail, emailProblem } from "../users/email.js";
import type { DirectoryRow } from "./directories.store.js";
import { badValue } from "./scim-protocol.js";

export const NO_DOMAINS_DETAIL =
  "This directory cannot provision users: its enterprise connection has no home realm domains. " +
  "An administrator must add the organization's domains to the connection (options.home_realm_domains)";

/** The canonical domains the directory's addresses must be in; empty when it may provision none. */
export async function directoryDomains(db: Db, directory: DirectoryRow): Promise<ReadonlySet<string>> {
  const id = directory.enterprise_connection_id;
  if (!id) return new Set();
  return new Set((await new ConnectionsStore(db).domains([id])).get(id) ?? []);
}

/** 400 invalidValue unless `address` (an e-mail address, any spelling) is in one of `domains`. */
export function requireInDomains(domains: ReadonlySet<string>, address: string, attribute: string): void {
  if (domains.size === 0) throw badValue(NO_DOMAINS_DETAIL);
  const canonical = canonicalEmail(address);
  const domain = canonical.slice(canonical.lastIndexOf("@") + 1);
  if (!domains.has(domain))
    throw badValue(
      `${attribute} ${address.slice(0, 100)} is outside this directory's domains (${[...domains].join(", ")})`,
    );
}

/** A userName that is an e-mail address is held to the domains too (it can become the address). */
export function userNameAddress(userName: string): string | undefined {
  return emailProblem(userName) ? undefined : userName;
}
