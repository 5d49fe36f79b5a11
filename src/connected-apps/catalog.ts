// The provider catalog: what Latchkey must know to be the OAuth client of each provider. Providers
// are validated data, not a class each; a JSON file (CONNECTED_APPS_CATALOG_FILE) can add providers
// or override fields of these, which is also how tests point a provider at a local server.
import { readFileSync } from "node:fs";
import type { OAuthProvider } from "../outbound/oauth-client.js";

/** A catalog entry: the OAuth client's view of the provider plus what connected apps need. */
export interface ProviderDefinition extends OAuthProvider {
  id: string;
  name: string;
  /**
   * Revoking one token at this provider leaves the rest of its grant alone. Only then are the
   * tokens of a refresh whose result was discarded (its lease had passed to another instance)
   * revoked: RFC 7009 §2.1 lets a provider end the whole grant on revocation — Google and
   * oidc-provider do — which would also end the live connection. Off unless known.
   */
  revokesSingleToken?: boolean;
  /** Where the provider documents its scopes, for administrators choosing permissions. */
  docs?: string;
}

const base = { clientAuth: "body", bodyFormat: "form", scopeSeparator: " ", pkce: true } as const;
const google = {
  ...base,
  authorizationUrl: "https://accounts.google.com/o/oauth2/v2/auth",
  tokenUrl: "https://oauth2.googleapis.com/token",
  revocationUrl: "https://oauth2.googleapis.com/revoke",
  // A refresh token is only issued when the consent screen is shown.
  authorizationParams: { access_type: "offline", prompt: "consent", include_granted_scopes: "true" },
};

export const BUILT_IN_PROVIDERS: readonly ProviderDefinition[] = [
  {
    id: "google-drive",
    name: "Google Drive",
    ...google,
    docs: "https://developers.google.com/drive/api/guides/api-specific-auth",
  },
  {
    id: "google-calendar",
    name: "Google Calendar",
    ...google,
    docs: "https://developers.google.com/calendar/api/auth",
  },
  { id: "gmail", name: "Gmail", ...google, docs: "https://developers.google.com/gmail/api/auth/scopes" },
  {
    id: "github",
    name: "GitHub",
    ...base,
    authorizationUrl: "https://github.com/login/oauth/authorize",
    tokenUrl: "https://github.com/login/oauth/access_token",
    tokenResponse: { errorsIn200: true },
  },
  {
    id: "gitlab",
    name: "GitLab",
    ...base,
    authorizationUrl: "https://gitlab.com/oauth/authorize",
    tokenUrl: "https://gitlab.com/oauth/token",
    revocationUrl: "https://gitlab.com/oauth/revoke",
  },
  {
    id: "microsoft-365",
    name: "Microsoft 365",
    ...base,
    authorizationUrl: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
    tokenUrl: "https://login.microsoftonline.com/common/oauth2/v2.0/token",
    defaultScopes: ["offline_access"],
    authorizationParams: { response_mode: "query" },
  },
  {
    id: "slack",
    name: "Slack",
    ...base,
    authorizationUrl: "https://slack.com/oauth/v2/authorize",
    tokenUrl: "https://slack.com/api/oauth.v2.access",
    revocationUrl: "https://slack.com/api/auth.revoke",
    scopeSeparator: ",",
    pkce: false,
    tokenResponse: { nestedUnder: "authed_user", errorsIn200: true },
  },
  {
    id: "discord",
    name: "Discord",
    ...base,
    authorizationUrl: "https://discord.com/oauth2/authorize",
    tokenUrl: "https://discord.com/api/oauth2/token",
    revocationUrl: "https://discord.com/api/oauth2/token/revoke",
  },
  {
    id: "patreon",
    name: "Patreon",
    ...base,
    authorizationUrl: "https://www.patreon.com/oauth2/authorize",
    tokenUrl: "https://www.patreon.com/api/oauth2/token",
  },
  {
    id: "dropbox",
    name: "Dropbox",
    ...base,
    authorizationUrl: "https://www.dropbox.com/oauth2/authorize",
    tokenUrl: "https://api.dropboxapi.com/oauth2/token",
    authorizationParams: { token_access_type: "offline" },
  },
  {
    id: "notion",
    name: "Notion",
    ...base,
    authorizationUrl: "https://api.notion.com/v1/oauth/authorize",
    tokenUrl: "https://api.notion.com/v1/oauth/token",
    revocationUrl: "https://api.notion.com/v1/oauth/revoke",
    clientAuth: "basic",
    bodyFormat: "json",
    authorizationParams: { owner: "user" },
  },
  {
    id: "atlassian",
    name: "Atlassian (Jira, Confluence)",
    ...base,
    authorizationUrl: "https://auth.atlassian.com/authorize",
    tokenUrl: "https://auth.atlassian.com/oauth/token",
    bodyFormat: "json",
    defaultScopes: ["offline_access"],
    authorizationParams: { audience: "api.atlassian.com", prompt: "consent" },
  },
  {
    id: "salesforce",
    name: "Salesforce",
    ...base,
    authorizationUrl: "https://login.salesforce.com/services/oauth2/authorize",
    tokenUrl: "https://login.salesforce.com/services/oauth2/token",
    revocationUrl: "https://login.salesforce.com/services/oauth2/revoke",
    defaultScopes: ["refresh_token"],
  },
  {
    id: "hubspot",
    name: "HubSpot",
    ...base,
    authorizationUrl: "https://app.hubspot.com/oauth/authorize",
    tokenUrl: "https://api.hubapi.com/oauth/v1/token",
  },
  {
    id: "zoom",
    name: "Zoom",
    ...base,
    authorizationUrl: "https://zoom.us/oauth/authorize",
    tokenUrl: "https://zoom.us/oauth/token",
    revocationUrl: "https://zoom.us/oauth/revoke",
    clientAuth: "basic",
  },
  {
    id: "linear",
    name: "Linear",
    ...base,
    authorizationUrl: "https://linear.app/oauth/authorize",
    tokenUrl: "https://api.linear.app/oauth/token",
    revocationUrl: "https://api.linear.app/oauth/revoke",
    scopeSeparator: ",",
  },
  {
    id: "box",
    name: "Box",
    ...base,
    authorizationUrl: "https://account.box.com/api/oauth2/authorize",
    tokenUrl: "https://api.box.com/oauth2/token",
    revocationUrl: "https://api.box.com/oauth2/revoke",
  },
  {
    id: "figma",
    name: "Figma",
    ...base,
    authorizationUrl: "https://www.figma.com/oauth",
    tokenUrl: "https://api.figma.com/v1/oauth/token",
    clientAuth: "basic",
  },
];

/** Any OAuth 2.0 provider: its endpoints come from the connected app's own settings. */
export const GENERIC_PROVIDER_ID = "oauth2";

export class CatalogError extends Error {}

const URL_FIELDS = ["authorizationUrl", "tokenUrl", "revocationUrl"] as const;

/** The built-in catalog with the entries of `file` (a JSON array) added or merged over by id. */
export function loadCatalog(file?: string): Map<string, ProviderDefinition> {
  const catalog = new Map(BUILT_IN_PROVIDERS.map((p) => [p.id, p]));
  if (!file) return catalog;
  let entries: unknown;
  try {
    entries = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new CatalogError(`CONNECTED_APPS_CATALOG_FILE ${file} is not readable JSON: ${String(error)}`);
  }
  if (!Array.isArray(entries)) throw new CatalogError("CONNECTED_APPS_CATALOG_FILE must hold a JSON array");
  for (const [index, entry] of entries.entries()) {
    if (typeof entry !== "object" || entry === null || typeof (entry as { id?: unknown }).id !== "string") {
      throw new CatalogError(`catalog entry ${index} needs an "id"`);
    }
    const id = (entry as { id: string }).id;
    const merged = {
      ...base,
      name: id,
      ...catalog.get(id),
      ...(entry as Partial<ProviderDefinition>),
    } as ProviderDefinition;
    for (const field of ["authorizationUrl", "tokenUrl"] as const) {
      if (typeof merged[field] !== "string") throw new CatalogError(`catalog entry ${id} needs ${field}`);
    }
    for (const field of URL_FIELDS) {
      const value = merged[field];
      if (value !== undefined) {
        try {
          new URL(value);
        } catch {
          throw new CatalogError(`catalog entry ${id}: ${field} is not a URL`);
        }
      }
    }
    catalog.set(id, merged);
  }
  return catalog;
}
