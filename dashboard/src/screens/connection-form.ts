// The add and edit form of a sign-in connection (Settings › Authentication › Connections, see
// connections.ts): the fields each strategy takes (strategies.ts on the server says which), shown
// as the chosen provider needs them, and the body POST /connections or PUT /connections/{id} sends.
// The client secret is write-only: "set" and Replace, never a value. A refusal that names an option
// (INVALID_CONNECTION_OPTIONS "options.issuer …", HOME_REALM_DOMAIN_TAKEN) is shown at its field.
import { ApiFailure } from "../api.js";
import type { DashboardConfig } from "../auth.js";
import { type Child, checkbox, copyable, type Field, field, h, replace, uid } from "../dom.js";
import { type Checkable, suggestKey } from "../widgets.js";

export interface ConnectionOptions {
  client_id?: string;
  is_trusted?: boolean;
  home_realm_domains?: string[];
  entra_id_domain?: string;
  is_use_common_endpoint?: boolean;
  apple_team_id?: string;
  apple_key_id?: string;
  issuer?: string;
  scopes?: string[];
  authorization_endpoint?: string;
  token_endpoint?: string;
  userinfo_endpoint?: string;
  userinfo_mapping?: Partial<Record<MappedClaim, string>>;
  /** Kinde's other options: not on this form, carried over unchanged by an edit. */
  [other: string]: unknown;
}

export interface Connection {
  id: string;
  name: string;
  display_name: string;
  strategy: string;
  options: ConnectionOptions;
  has_client_secret: boolean;
  organization_code: string | null;
  enabled_applications: string[];
}

/** Where every provider sends people back (src/sign-in/connection-sign-in.routes.ts). */
export function connectionCallbackUrl(config: DashboardConfig): string {
  return `${config.issuer}/auth/connections/callback`;
}

// ---- strategies ---------------------------------------------------------------------------------

/** Strategies that take any provider, or a business's own directory (home-realm domains). */
const ENTERPRISE: { value: string; label: string }[] = [
  { value: "oidc:custom", label: "OpenID Connect (any provider)" },
  { value: "oauth2:custom", label: "OAuth 2.0 (custom)" },
  { value: "oauth2:azure_ad", label: "Microsoft Entra ID" },
];

/** Kinde's social strategies, by the provider's name. */
const SOCIAL: { value: string; label: string }[] = [
  { value: "oauth2:apple", label: "Apple" },
  { value: "oauth2:bitbucket", label: "Bitbucket" },
  { value: "oauth2:discord", label: "Discord" },
  { value: "oauth2:facebook", label: "Facebook" },
  { value: "oauth2:github", label: "GitHub" },
  { value: "oauth2:gitlab", label: "GitLab" },
  { value: "oauth2:google", label: "Google" },
  { value: "oauth2:linkedin", label: "LinkedIn" },
  { value: "oauth2:microsoft", label: "Microsoft account" },
  { value: "oauth2:patreon", label: "Patreon" },
  { value: "oauth2:slack", label: "Slack" },
  { value: "oauth2:stripe", label: "Stripe" },
  { value: "oauth2:twitch", label: "Twitch" },
  { value: "oauth2:twitter", label: "X (Twitter)" },
  { value: "oauth2:xero", label: "Xero" },
];

export function strategyLabel(strategy: string): string {
  return [...ENTERPRISE, ...SOCIAL].find((s) => s.value === strategy)?.label ?? strategy;
}

export const isEnterprise = (strategy: string) => ENTERPRISE.some((s) => s.value === strategy);

const MAPPED_CLAIMS = ["sub", "email", "email_verified", "given_name", "family_name", "picture"] as const;
type MappedClaim = (typeof MAPPED_CLAIMS)[number];

/** Where a connection points; the secret belongs to them (the server's SECRET_BOUND_OPTIONS). */
const SECRET_BOUND = [
  "client_id",
  "issuer",
  "authorization_endpoint",
  "token_endpoint",
  "userinfo_endpoint",
] as const;

/** The callback URL, prominently, with a copy button. */
export function callbackBox(config: DashboardConfig): HTMLElement {
  return h(
    "div",
    { class: "alert info callback-url" },
    h(
      "p",
      null,
      "Register this callback URL (redirect URI) at the provider. It is the same for every connection.",
    ),
    copyable("Callback URL", connectionCallbackUrl(config)),
  );
}

// ---- the add and edit form ----------------------------------------------------------------------

/** An absolute URL; the server applies the rest (https, no private addresses, no fragment). */
function urlProblem(value: string): string | undefined {
  const text = value.trim();
  if (text === "") return undefined;
  if (text.length > 2000) return "Use at most 2000 characters";
  try {
    const url = new URL(text);
    if (url.protocol !== "https:" && url.protocol !== "http:") return "Must be an https URL";
    return undefined;
  } catch {
    return "Must be an absolute URL, e.g. https://idp.example.com";
  }
}

const atMost = (max: number) => (value: string) =>
  value.trim().length > max ? `Use at most ${max} characters` : undefined;

/** Space- or comma-separated words, without repeats. */
const words = (value: string) => [...new Set(value.split(/[\s,]+/).filter(Boolean))];

/** A field that counts only while its group is shown (the strategy decides which groups are). */
function shownIn(group: HTMLElement, f: Field<HTMLInputElement | HTMLTextAreaElement>): Checkable {
  return { input: f.input, check: () => group.hidden || f.check() };
}

/**
 * The fields of the add form (`current` undefined: the strategy is chosen here) or of the edit form
 * of `current`. `body()` is what POST or PUT sends; `showProblem` puts a refusal at its field.
 */
export function connectionForm(config: DashboardConfig, current: Connection | undefined) {
  const options: ConnectionOptions = current?.options ?? {};

  const strategyId = uid("strategy");
  const strategySelect = h(
    "select",
    { id: strategyId, name: "strategy" },
    h(
      "optgroup",
      { label: "Any provider" },
      ENTERPRISE.map((s) => h("option", { value: s.value }, s.label)),
    ),
    h(
      "optgroup",
      { label: "Social" },
      SOCIAL.map((s) => h("option", { value: s.value }, s.label)),
    ),
  );
  const strategy = () => current?.strategy ?? strategySelect.value;

  const displayName = field({
    label: "Display name",
    name: "display_name",
    required: true,
    value: current?.display_name,
    hint: "What the sign-in page's button says, e.g. “Acme SSO”.",
    validate: atMost(200),
  });
  const name = field({
    label: "Name",
    name: "name",
    required: true,
    value: current?.name,
    hint: "How you and the API refer to it, e.g. acme-sso.",
    validate: atMost(200),
  });
  if (!current) suggestKey(displayName.input, name, "-");

  const clientId = field({
    label: "Client ID",
    name: "client_id",
    required: true,
    value: options.client_id,
    hint: "The client (app) you registered at the provider.",
    validate: atMost(500),
  });

  // The secret is write-only: a new one or a replacement is typed here and never shown again.
  let replacing = !current?.has_client_secret;
  const secretHint = "Stored encrypted; Latchkey never shows it again, only whether one is set.";
  const clientSecret = field({
    label: current?.has_client_secret ? "New client secret" : "Client secret (optional)",
    name: "client_secret",
    type: "password",
    autocomplete: "new-password",
    hint: secretHint,
    validate: (v) => {
      if (replacing && v === "") return "Enter the new secret, or cancel the replacement";
      if (v.length > 8192) return "Use at most 8192 characters";
      return undefined;
    },
  });
  const appleKey = field({
    label: current?.has_client_secret ? "New private key (.p8)" : "Private key (.p8)",
    name: "apple_private_key",
    multiline: 5,
    hint: "Apple's client secret is a JWT Latchkey signs with this key (the contents of the .p8 file). Stored encrypted, never shown again.",
    validate: (v) =>
      replacing && v.trim() === "" ? "Paste the new key, or cancel the replacement" : undefined,
  });
  // The server drops the stored secret when a write changes where the connection points (client
  // ID, issuer, endpoints: SECRET_BOUND_OPTIONS in strategies.ts) without a new one, so that it is
  // never sent somewhere new. Asking for it here beats saving a connection that signs nobody in.
  const repointed = () => {
    if (!current) return false;
    const next = optionsBody();
    return SECRET_BOUND.some((key) => (next[key] ?? "") !== (current.options[key] ?? ""));
  };
  const secretProblemId = uid("secret-problem");
  const secretProblem = h("p", { id: secretProblemId, class: "field-error" });
  const secretStatus = h("p", { class: "secret-status" }, "A client secret is set. It is never shown.");
  const replaceButton = h(
    "button",
    { type: "button", class: "secondary small", "aria-describedby": secretProblemId },
    "Replace secret",
  );
  const keepButton = h("button", { type: "button", class: "secondary small" }, "Keep the current secret");
  const secretArea = h("div", { class: "secret-area" });
  const apple = () => strategy() === "oauth2:apple";
  const drawSecret = () => {
    const input = apple() ? appleKey : clientSecret;
    if (!current?.has_client_secret) {
      replace(secretArea, input.element);
      return;
    }
    replace(
      secretArea,
      replacing
        ? [input.element, h("div", { class: "actions start" }, keepButton)]
        : [h("div", { class: "secret-row" }, secretStatus, replaceButton), secretProblem],
    );
  };
  replaceButton.addEventListener("click", () => {
    replacing = true;
    secretProblem.textContent = "";
    drawSecret();
    (apple() ? appleKey : clientSecret).input.focus();
  });
  keepButton.addEventListener("click", () => {
    replacing = false;
    clientSecret.input.value = "";
    appleKey.input.value = "";
    clientSecret.setError(undefined);
    appleKey.setError(undefined);
    drawSecret();
    replaceButton.focus();
  });
  const secretCheck: Checkable = {
    check: () => {
      if (current?.has_client_secret && !replacing) {
        secretProblem.textContent = repointed()
          ? "The client ID or the provider's address changed: replace the secret with the one that goes with them."
          : "";
        return secretProblem.textContent === "";
      }
      return (apple() ? appleKey : clientSecret).check();
    },
    focus: () => {
      const input = (apple() ? appleKey : clientSecret).input;
      if (input.isConnected) input.focus();
      else replaceButton.focus();
    },
  };

  const trusted = checkbox({
    label: "Trusted",
    name: "is_trusted",
    checked: options.is_trusted ?? false,
    hint: "A trusted connection's verified e-mail links to an existing account with that address. Leave it off unless the provider checks the addresses it vouches for.",
  });

  // oidc:custom
  const issuer = field({
    label: "Issuer URL",
    name: "issuer",
    type: "url",
    required: true,
    value: options.issuer,
    placeholder: "https://idp.example.com",
    hint: "Latchkey reads the provider's settings from its discovery document (/.well-known/openid-configuration).",
    validate: urlProblem,
  });
  const oidcGroup = h("div", { class: "strategy-group" }, issuer.element);

  // oauth2:custom
  const endpoint = (key: "authorization_endpoint" | "token_endpoint" | "userinfo_endpoint", label: string) =>
    field({ label, name: key, type: "url", required: true, value: options[key], validate: urlProblem });
  const authorizationEndpoint = endpoint("authorization_endpoint", "Authorization endpoint");
  const tokenEndpoint = endpoint("token_endpoint", "Token endpoint");
  const userinfoEndpoint = endpoint("userinfo_endpoint", "Userinfo endpoint");
  const mapping = Object.fromEntries(
    MAPPED_CLAIMS.map((claim) => [
      claim,
      field({
        label: claim === "sub" ? "sub (the user's ID)" : `${claim} (optional)`,
        name: `userinfo_mapping.${claim}`,
        required: claim === "sub",
        value: options.userinfo_mapping?.[claim],
        placeholder: claim === "sub" ? "id" : claim === "email" ? "emails[0].value" : undefined,
        validate: atMost(200),
      }),
    ]),
  ) as Record<MappedClaim, Field<HTMLInputElement | HTMLTextAreaElement>>;
  const oauth2Group = h(
    "div",
    { class: "strategy-group" },
    authorizationEndpoint.element,
    tokenEndpoint.element,
    userinfoEndpoint.element,
    h(
      "fieldset",
      { class: "userinfo-mapping" },
      h("legend", null, "Userinfo mapping"),
      h(
        "p",
        { class: "hint" },
        "Where each claim is in the userinfo answer, as a JSON path such as id, email or data.emails[0].value.",
      ),
      h(
        "div",
        { class: "mapping-fields" },
        MAPPED_CLAIMS.map((claim) => mapping[claim].element),
      ),
    ),
  );

  const scopes = field({
    label: "Scopes (optional)",
    name: "scopes",
    value: options.scopes?.join(" "),
    hint: "Separated by spaces. OpenID Connect's default is openid profile email.",
    validate: (v) =>
      strategy() === "oidc:custom" && words(v).length > 0 && !words(v).includes("openid")
        ? "Include openid: without it the provider does not answer as an OpenID provider"
        : undefined,
  });
  const scopesGroup = h("div", { class: "strategy-group" }, scopes.element);

  // oauth2:azure_ad
  const entraDomain = field({
    label: "Tenant domain",
    name: "entra_id_domain",
    value: options.entra_id_domain,
    placeholder: "contoso.onmicrosoft.com",
    hint: "Your Entra ID tenant's domain. Leave it empty to accept any tenant (the common endpoint).",
    validate: atMost(300),
  });
  const entraGroup = h("div", { class: "strategy-group" }, entraDomain.element);

  // oauth2:apple
  const appleId = (key: "apple_team_id" | "apple_key_id", label: string) =>
    field({
      label,
      name: key,
      value: options[key],
      validate: (v) =>
        v.trim() === "" || /^[A-Z0-9]{10}$/.test(v.trim()) ? undefined : "10 capital letters or digits",
    });
  const appleTeam = appleId("apple_team_id", "Team ID");
  const appleKeyId = appleId("apple_key_id", "Key ID");
  const appleGroup = h("div", { class: "strategy-group" }, appleTeam.element, appleKeyId.element);

  // Enterprise strategies: home-realm discovery.
  const domains = field({
    label: "Home-realm domains (optional)",
    name: "home_realm_domains",
    value: options.home_realm_domains?.join(", "),
    placeholder: "acme.com, acme.co.uk",
    hint: "People whose e-mail address is at one of these domains go straight to this connection. Separate them with commas.",
  });
  const domainsGroup = h("div", { class: "strategy-group" }, domains.element);

  const show = () => {
    const s = strategy();
    oidcGroup.hidden = s !== "oidc:custom";
    oauth2Group.hidden = s !== "oauth2:custom";
    scopesGroup.hidden = s !== "oidc:custom" && s !== "oauth2:custom";
    entraGroup.hidden = s !== "oauth2:azure_ad";
    appleGroup.hidden = s !== "oauth2:apple";
    domainsGroup.hidden = !isEnterprise(s);
    drawSecret();
  };
  // Choosing a provider by name suggests its name as the button's, until one is typed.
  let suggested = "";
  strategySelect.addEventListener("change", () => {
    const value = displayName.input.value.trim();
    if (value === "" || value === suggested) {
      suggested = SOCIAL.find((s) => s.value === strategySelect.value)?.label ?? "";
      displayName.input.value = suggested;
      displayName.input.dispatchEvent(new Event("input"));
      if (suggested === "") displayName.setError(undefined);
    }
    show();
  });
  strategySelect.value = "oidc:custom";
  show();

  /** The options as PUT or POST sends them: the read-back's, with this form's over them. */
  const optionsBody = (): Record<string, unknown> => {
    const s = strategy();
    const body: Record<string, unknown> = { ...options };
    // GET answers home_realm_domains for every strategy; only enterprise ones take it.
    delete body.home_realm_domains;
    const set = (key: string, value: unknown) => {
      if (value === undefined || value === "" || (Array.isArray(value) && value.length === 0))
        delete body[key];
      else body[key] = value;
    };
    body.client_id = clientId.input.value.trim();
    body.is_trusted = trusted.input.checked;
    if (replacing) {
      const secret = apple() ? appleKey.input.value.trim() : clientSecret.input.value;
      if (secret !== "") body.client_secret = secret;
    }
    if (s === "oidc:custom") set("issuer", issuer.input.value.trim());
    if (s === "oidc:custom" || s === "oauth2:custom") set("scopes", words(scopes.input.value));
    if (s === "oauth2:custom") {
      set("authorization_endpoint", authorizationEndpoint.input.value.trim());
      set("token_endpoint", tokenEndpoint.input.value.trim());
      set("userinfo_endpoint", userinfoEndpoint.input.value.trim());
      const paths: Record<string, string> = {};
      for (const claim of MAPPED_CLAIMS) {
        const path = mapping[claim].input.value.trim();
        if (path) paths[claim] = path;
      }
      body.userinfo_mapping = paths;
    }
    if (s === "oauth2:azure_ad") {
      const domain = entraDomain.input.value.trim();
      set("entra_id_domain", domain);
      body.is_use_common_endpoint = domain === "";
    }
    if (s === "oauth2:apple") {
      set("apple_team_id", appleTeam.input.value.trim());
      set("apple_key_id", appleKeyId.input.value.trim());
    }
    if (isEnterprise(s)) body.home_realm_domains = words(domains.input.value);
    return body;
  };

  /** Which field a refusal names: "options.issuer must …", "body/options/issuer: …", "name …". */
  const fieldOf = (message: string): Field<HTMLInputElement | HTMLTextAreaElement> | undefined => {
    const option = /\boptions[./]([a-z_]+)(?:[./]([a-z_]+))?/.exec(message);
    if (option) {
      const [, key, sub] = option;
      const byOption: Record<string, Field<HTMLInputElement | HTMLTextAreaElement>> = {
        client_id: clientId,
        client_secret: apple() ? appleKey : clientSecret,
        issuer,
        scopes,
        authorization_endpoint: authorizationEndpoint,
        token_endpoint: tokenEndpoint,
        userinfo_endpoint: userinfoEndpoint,
        userinfo_mapping:
          mapping[(MAPPED_CLAIMS as readonly string[]).includes(sub ?? "") ? (sub as MappedClaim) : "sub"],
        home_realm_domains: domains,
        entra_id_domain: entraDomain,
        apple_team_id: appleTeam,
        apple_key_id: appleKeyId,
      };
      return key ? byOption[key] : undefined;
    }
    const top = /^(?:body\/)?(display_name|name)\b/.exec(message);
    if (top) return top[1] === "name" ? name : displayName;
    return undefined;
  };

  const content: Child[] = [
    current
      ? null
      : h("div", { class: "field" }, h("label", { for: strategyId }, "Provider"), strategySelect),
    current ? null : callbackBox(config),
    displayName.element,
    name.element,
    clientId.element,
    secretArea,
    appleGroup,
    entraGroup,
    oidcGroup,
    oauth2Group,
    scopesGroup,
    domainsGroup,
    trusted.element,
    // Editing: after the fields, so that focus starts on the first one.
    current ? callbackBox(config) : null,
  ];

  return {
    strategy,
    content,
    fields: [
      displayName,
      name,
      clientId,
      secretCheck,
      shownIn(appleGroup, appleTeam),
      shownIn(appleGroup, appleKeyId),
      shownIn(entraGroup, entraDomain),
      shownIn(oidcGroup, issuer),
      shownIn(oauth2Group, authorizationEndpoint),
      shownIn(oauth2Group, tokenEndpoint),
      shownIn(oauth2Group, userinfoEndpoint),
      ...MAPPED_CLAIMS.map((claim) => shownIn(oauth2Group, mapping[claim])),
      shownIn(scopesGroup, scopes),
      shownIn(domainsGroup, domains),
    ] as Checkable[],
    body: () => ({
      name: name.input.value.trim(),
      display_name: displayName.input.value.trim(),
      options: optionsBody(),
    }),
    /**
     * Shows a refusal about one field next to it and moves focus there; false for any other
     * error (the form shows it above its buttons).
     */
    showProblem(error: unknown): boolean {
      if (!(error instanceof ApiFailure)) return false;
      let target: Field<HTMLInputElement | HTMLTextAreaElement> | undefined;
      if (error.code === "HOME_REALM_DOMAIN_TAKEN") target = domains;
      else if (error.code === "INVALID_CONNECTION_OPTIONS" || error.code === "INVALID_REQUEST")
        target = fieldOf(error.message);
      if (!target?.input.isConnected || target.input.closest<HTMLElement>("[hidden]")) return false;
      target.setError(error.message);
      target.input.focus();
      return true;
    },
  };
}
