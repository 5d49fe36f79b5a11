// The provider catalog: what Latchkey must know to be the OAuth client of each provider. Providers
// are validated data, not a class each; a JSON file (CONNECTED_APPS_CATALOG_FILE) can add providers
// or override fields of these, which is also how tests point a provider at a local server.
import { readFileSync } from "node:fs";
import type { OAuthProvider } from "../outbound/oauth-client.js";

/** A scope an administrator commonly asks of a provider, with what it lets the app do. */
export interface SuggestedScope {
  scope: string;
  description: string;
}

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
  /**
   * Common scopes, offered as tickable suggestions when an administrator configures the app
   * (issue 20), each as the provider documents it at `docs` (or its scopes page, cited beside).
   */
  suggestedScopes?: readonly SuggestedScope[];
}

const s = (scope: string, description: string): SuggestedScope => ({ scope, description });
const googleScope = (name: string, description: string) =>
  s(`https://www.googleapis.com/auth/${name}`, description);

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
    suggestedScopes: [
      googleScope("drive.file", "Files the app creates or the user opens with it"),
      googleScope("drive.appdata", "The app's own hidden folder of settings and data"),
      googleScope("drive.metadata.readonly", "Names and details of every file, not their content"),
      googleScope("drive.readonly", "Read every file (a restricted scope: Google reviews the app)"),
      googleScope("drive", "Read, change and delete every file (restricted scope)"),
    ],
  },
  {
    id: "google-calendar",
    name: "Google Calendar",
    ...google,
    docs: "https://developers.google.com/calendar/api/auth",
    suggestedScopes: [
      googleScope("calendar.events.readonly", "Read events in every calendar"),
      googleScope("calendar.events", "Read, create and change events in every calendar"),
      googleScope("calendar.readonly", "Read calendars and their events"),
      googleScope("calendar", "Full access to calendars: create, share and delete them"),
    ],
  },
  {
    id: "gmail",
    name: "Gmail",
    ...google,
    docs: "https://developers.google.com/gmail/api/auth/scopes",
    suggestedScopes: [
      googleScope("gmail.send", "Send e-mail as the user, without reading their mailbox"),
      googleScope("gmail.readonly", "Read messages and settings (a restricted scope)"),
      googleScope("gmail.labels", "Create, read and change labels"),
      googleScope("gmail.compose", "Manage drafts and send e-mail (restricted scope)"),
      googleScope("gmail.modify", "Read, send and change messages, not delete them for good (restricted)"),
    ],
  },
  {
    id: "github",
    name: "GitHub",
    ...base,
    authorizationUrl: "https://github.com/login/oauth/authorize",
    tokenUrl: "https://github.com/login/oauth/access_token",
    tokenResponse: { errorsIn200: true },
    docs: "https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/scopes-for-oauth-apps",
    suggestedScopes: [
      s("read:user", "Read the user's profile"),
      s("user:email", "Read the user's e-mail addresses"),
      s("public_repo", "Read and write public repositories"),
      s("repo", "Full access to public and private repositories"),
      s("read:org", "Read organization and team membership"),
      s("gist", "Create and change gists"),
    ],
  },
  {
    id: "gitlab",
    name: "GitLab",
    ...base,
    authorizationUrl: "https://gitlab.com/oauth/authorize",
    tokenUrl: "https://gitlab.com/oauth/token",
    revocationUrl: "https://gitlab.com/oauth/revoke",
    docs: "https://docs.gitlab.com/api/oauth2/",
    suggestedScopes: [
      s("read_user", "Read the user's profile"),
      s("read_api", "Read-only access to the API: projects, groups, issues"),
      s("read_repository", "Read (pull) repositories"),
      s("write_repository", "Read and write (push) repositories"),
      s("api", "Full read and write access to the API"),
    ],
  },
  {
    id: "microsoft-365",
    name: "Microsoft 365",
    ...base,
    authorizationUrl: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
    tokenUrl: "https://login.microsoftonline.com/common/oauth2/v2.0/token",
    defaultScopes: ["offline_access"],
    authorizationParams: { response_mode: "query" },
    docs: "https://learn.microsoft.com/en-us/graph/permissions-reference",
    suggestedScopes: [
      s("User.Read", "Sign in and read the user's profile"),
      s("Mail.Read", "Read the user's mail"),
      s("Mail.Send", "Send mail as the user"),
      s("Calendars.ReadWrite", "Read and change the user's calendars"),
      s("Files.ReadWrite", "Read and change the user's OneDrive files"),
    ],
  },
  {
    id: "slack",
    name: "Slack",
    ...base,
    authorizationUrl: "https://slack.com/oauth/v2/authorize",
    tokenUrl: "https://slack.com/api/oauth.v2.access",
    revocationUrl: "https://slack.com/api/auth.revoke",
    scopeSeparator: ",",
    scopeParameter: "user_scope",
    pkce: false,
    tokenResponse: { nestedUnder: "authed_user", errorsIn200: true },
    docs: "https://api.slack.com/scopes",
    suggestedScopes: [
      s("channels:read", "List public channels and their details"),
      s("channels:history", "Read messages in public channels the user is in"),
      s("chat:write", "Post messages as the user"),
      s("users:read", "List people in the workspace"),
      s("users:read.email", "Read people's e-mail addresses (with users:read)"),
    ],
  },
  {
    id: "discord",
    name: "Discord",
    ...base,
    authorizationUrl: "https://discord.com/oauth2/authorize",
    tokenUrl: "https://discord.com/api/oauth2/token",
    revocationUrl: "https://discord.com/api/oauth2/token/revoke",
    docs: "https://discord.com/developers/docs/topics/oauth2#shared-resources-oauth2-scopes",
    suggestedScopes: [
      s("identify", "Read the user's name and avatar, without e-mail"),
      s("email", "Read the user's e-mail address (with identify)"),
      s("guilds", "List the servers (guilds) the user is in"),
      s("guilds.members.read", "Read the user's member details in those servers"),
    ],
  },
  {
    id: "patreon",
    name: "Patreon",
    ...base,
    authorizationUrl: "https://www.patreon.com/oauth2/authorize",
    tokenUrl: "https://www.patreon.com/api/oauth2/token",
    docs: "https://docs.patreon.com/#scopes",
    suggestedScopes: [
      s("identity", "Read the user's profile"),
      s("identity[email]", "Read the user's e-mail address"),
      s("identity.memberships", "Read the user's memberships of campaigns"),
      s("campaigns", "Read the user's campaigns and their tiers"),
      s("campaigns.members", "Read the members of the user's campaigns"),
    ],
  },
  {
    id: "dropbox",
    name: "Dropbox",
    ...base,
    authorizationUrl: "https://www.dropbox.com/oauth2/authorize",
    tokenUrl: "https://api.dropboxapi.com/oauth2/token",
    authorizationParams: { token_access_type: "offline" },
    docs: "https://developers.dropbox.com/oauth-guide",
    suggestedScopes: [
      s("account_info.read", "Read the account's basic details (Dropbox always grants it)"),
      s("files.metadata.read", "List files and folders and read their details"),
      s("files.content.read", "Read the content of files"),
      s("files.content.write", "Create, change and delete files"),
      s("sharing.read", "Read shared links and shared folders"),
    ],
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
    // Notion has no OAuth scopes: a public integration's capabilities are set in its settings
    // and each user chooses the pages it may reach (developers.notion.com, Authorization).
    docs: "https://developers.notion.com/docs/authorization",
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
    docs: "https://developer.atlassian.com/cloud/jira/platform/scopes-for-oauth-2-3LO-and-forge-apps/",
    suggestedScopes: [
      s("read:me", "Read the user's Atlassian account profile"),
      s("read:jira-work", "Read Jira projects, issues and comments"),
      s("write:jira-work", "Create and change Jira issues and comments"),
      s("read:jira-user", "Read Jira users and groups"),
      s("read:confluence-content.all", "Read all Confluence content"),
    ],
  },
  {
    id: "salesforce",
    name: "Salesforce",
    ...base,
    authorizationUrl: "https://login.salesforce.com/services/oauth2/authorize",
    tokenUrl: "https://login.salesforce.com/services/oauth2/token",
    revocationUrl: "https://login.salesforce.com/services/oauth2/revoke",
    defaultScopes: ["refresh_token"],
    docs: "https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_tokens_scopes.htm",
    suggestedScopes: [
      s("api", "Call Salesforce's REST and other APIs as the user"),
      s("id", "Read the user's identity (the identity URL)"),
      s("openid", "OpenID Connect sign-in: an ID token"),
    ],
  },
  {
    id: "hubspot",
    name: "HubSpot",
    ...base,
    authorizationUrl: "https://app.hubspot.com/oauth/authorize",
    tokenUrl: "https://api.hubapi.com/oauth/v1/token",
    docs: "https://developers.hubspot.com/docs/apps/legacy-apps/authentication/scopes",
    suggestedScopes: [
      s("oauth", "Required of every HubSpot app"),
      s("crm.objects.contacts.read", "Read contacts"),
      s("crm.objects.contacts.write", "Create and change contacts"),
      s("crm.objects.companies.read", "Read companies"),
      s("crm.objects.deals.read", "Read deals"),
    ],
  },
  {
    id: "zoom",
    name: "Zoom",
    ...base,
    authorizationUrl: "https://zoom.us/oauth/authorize",
    tokenUrl: "https://zoom.us/oauth/token",
    revocationUrl: "https://zoom.us/oauth/revoke",
    clientAuth: "basic",
    docs: "https://developers.zoom.us/docs/integrations/oauth-scopes-granular/",
    suggestedScopes: [
      s("user:read:user", "Read the user's profile"),
      s("meeting:read:list_meetings", "List the user's meetings"),
      s("meeting:read:meeting", "Read a meeting's details"),
      s("meeting:write:meeting", "Create meetings for the user"),
    ],
  },
  {
    id: "linear",
    name: "Linear",
    ...base,
    authorizationUrl: "https://linear.app/oauth/authorize",
    tokenUrl: "https://api.linear.app/oauth/token",
    revocationUrl: "https://api.linear.app/oauth/revoke",
    scopeSeparator: ",",
    docs: "https://linear.app/docs/api/oauth-2-0-authentication",
    suggestedScopes: [
      s("read", "Read the user's workspace (Linear always grants it)"),
      s("write", "Change anything the user can"),
      s("issues:create", "Create issues and their attachments only"),
      s("comments:create", "Create issue comments only"),
    ],
  },
  {
    id: "box",
    name: "Box",
    ...base,
    authorizationUrl: "https://account.box.com/api/oauth2/authorize",
    tokenUrl: "https://api.box.com/oauth2/token",
    revocationUrl: "https://api.box.com/oauth2/revoke",
    docs: "https://developer.box.com/guides/api-calls/permissions-and-errors/scopes/",
    suggestedScopes: [
      s("root_readonly", "Read all files and folders the user can see"),
      s("root_readwrite", "Read and write all files and folders the user can see"),
      s("manage_webhook", "Create and manage webhooks"),
    ],
  },
  {
    id: "figma",
    name: "Figma",
    ...base,
    authorizationUrl: "https://www.figma.com/oauth",
    tokenUrl: "https://api.figma.com/v1/oauth/token",
    clientAuth: "basic",
    docs: "https://developers.figma.com/docs/rest-api/scopes/",
    suggestedScopes: [
      s("current_user:read", "Read the user's name, e-mail and avatar"),
      s("file_content:read", "Read the contents of files"),
      s("file_metadata:read", "Read the details of files"),
      s("file_comments:read", "Read comments on files"),
      s("file_comments:write", "Post and delete comments"),
    ],
  },
];

/** Any OAuth 2.0 provider: its endpoints come from the connected app's own settings. */
export const GENERIC_PROVIDER_ID = "oauth2";

export class CatalogError extends Error {}

/** A scope as the Management API accepts it (connected-apps.schemas.ts): printable, no spaces. */
export const SCOPE = /^[\x21-\x7e]{1,200}$/;

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
    if (merged.scopeParameter !== undefined && !["scope", "user_scope"].includes(merged.scopeParameter))
      throw new CatalogError(`catalog entry ${id}: scopeParameter must be "scope" or "user_scope"`);
    const suggested: unknown = merged.suggestedScopes;
    if (
      suggested !== undefined &&
      !(
        Array.isArray(suggested) &&
        suggested.every(
          (entry: unknown) =>
            typeof entry === "object" &&
            entry !== null &&
            typeof (entry as SuggestedScope).scope === "string" &&
            SCOPE.test((entry as SuggestedScope).scope) &&
            typeof (entry as SuggestedScope).description === "string",
        )
      )
    ) {
      throw new CatalogError(`catalog entry ${id}: suggestedScopes must be [{ "scope", "description" }]`);
    }
    catalog.set(id, merged);
  }
  return catalog;
}
