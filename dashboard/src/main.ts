// The dashboard's entry point: loads /admin/config.json, finishes or starts sign-in, draws the
// layout (sidebar on wide screens, a menu button on phones) and routes /admin/* paths to screens
// with the History API.
import { api, describeError, NotAdministrator, SignInRequired } from "./api.js";
import {
  completeSignIn,
  currentSession,
  type DashboardConfig,
  forgetSession,
  type Session,
  signInAbandoned,
  signOut,
  startSignIn,
  tokenJustIssued,
} from "./auth.js";
import { type Child, h, replace, watchScrollableTables } from "./dom.js";
import { listApiKeys } from "./screens/api-keys.js";
import { apiDetails, listApis } from "./screens/apis.js";
import { applicationDetails, listApplications } from "./screens/applications.js";
import { auditLog } from "./screens/audit-log.js";
import { authenticationSettings } from "./screens/authentication.js";
import { brandingSettings } from "./screens/branding.js";
import { businessSettings } from "./screens/business.js";
import { connectedApps } from "./screens/connected-apps.js";
import { listFeatureFlags } from "./screens/feature-flags.js";
import { home } from "./screens/home.js";
import { mailSettings } from "./screens/mail.js";
import { listOrganizations, organizationDetails } from "./screens/organizations.js";
import { propertiesSettings } from "./screens/properties.js";
import { listRoles, roleDetails } from "./screens/roles.js";
import { listUsers, userDetails } from "./screens/users.js";
import { webhookAlert, webhooksSettings } from "./screens/webhooks.js";
import { notFoundScreen, type Screen, setShell } from "./view.js";

interface Route {
  pattern: RegExp;
  screen: Screen;
  nav: string;
}

const ROUTES: Route[] = [
  { pattern: /^\/admin\/?$/, screen: home, nav: "home" },
  { pattern: /^\/admin\/applications\/?$/, screen: listApplications, nav: "applications" },
  { pattern: /^\/admin\/applications\/([A-Za-z0-9_-]+)$/, screen: applicationDetails, nav: "applications" },
  { pattern: /^\/admin\/apis\/?$/, screen: listApis, nav: "apis" },
  { pattern: /^\/admin\/apis\/([A-Za-z0-9_-]+)$/, screen: apiDetails, nav: "apis" },
  { pattern: /^\/admin\/api-keys\/?$/, screen: listApiKeys, nav: "api-keys" },
  { pattern: /^\/admin\/users\/?$/, screen: listUsers, nav: "users" },
  { pattern: /^\/admin\/users\/([A-Za-z0-9_-]+)$/, screen: userDetails, nav: "users" },
  { pattern: /^\/admin\/organizations\/?$/, screen: listOrganizations, nav: "organizations" },
  {
    pattern: /^\/admin\/organizations\/([A-Za-z0-9_-]+)$/,
    screen: organizationDetails,
    nav: "organizations",
  },
  { pattern: /^\/admin\/roles\/?$/, screen: listRoles, nav: "roles" },
  { pattern: /^\/admin\/roles\/([A-Za-z0-9_-]+)$/, screen: roleDetails, nav: "roles" },
  { pattern: /^\/admin\/feature-flags\/?$/, screen: listFeatureFlags, nav: "feature-flags" },
  { pattern: /^\/admin\/audit-log\/?$/, screen: auditLog, nav: "audit-log" },
  { pattern: /^\/admin\/settings\/connected-apps\/?$/, screen: connectedApps, nav: "connected-apps" },
  { pattern: /^\/admin\/settings\/business\/?$/, screen: businessSettings, nav: "business" },
  { pattern: /^\/admin\/settings\/branding\/?$/, screen: brandingSettings, nav: "branding" },
  { pattern: /^\/admin\/settings\/email\/?$/, screen: mailSettings, nav: "email" },
  { pattern: /^\/admin\/settings\/webhooks\/?$/, screen: webhooksSettings, nav: "webhooks" },
  { pattern: /^\/admin\/settings\/properties\/?$/, screen: propertiesSettings, nav: "properties" },
  {
    pattern: /^\/admin\/settings\/authentication\/?$/,
    screen: authenticationSettings,
    nav: "authentication",
  },
];

const NAV: { id: string; label: string; href: string; group?: string }[] = [
  { id: "home", label: "Home", href: "/admin/" },
  { id: "applications", label: "Applications", href: "/admin/applications" },
  { id: "apis", label: "APIs", href: "/admin/apis" },
  { id: "api-keys", label: "API keys", href: "/admin/api-keys" },
  { id: "users", label: "Users", href: "/admin/users" },
  { id: "organizations", label: "Organizations", href: "/admin/organizations" },
  { id: "audit-log", label: "Audit log", href: "/admin/audit-log" },
  { id: "roles", label: "Roles & permissions", href: "/admin/roles", group: "Access" },
  { id: "feature-flags", label: "Feature flags", href: "/admin/feature-flags", group: "Access" },
  {
    id: "connected-apps",
    label: "Connected apps",
    href: "/admin/settings/connected-apps",
    group: "Settings",
  },
  {
    id: "authentication",
    label: "Authentication",
    href: "/admin/settings/authentication",
    group: "Settings",
  },
  { id: "business", label: "Business", href: "/admin/settings/business", group: "Settings" },
  { id: "branding", label: "Branding", href: "/admin/settings/branding", group: "Settings" },
  { id: "email", label: "E-mail", href: "/admin/settings/email", group: "Settings" },
  { id: "webhooks", label: "Webhooks", href: "/admin/settings/webhooks", group: "Settings" },
  { id: "properties", label: "Properties", href: "/admin/settings/properties", group: "Settings" },
];

const root = document.getElementById("app")!;
let config: DashboardConfig;
let main: HTMLElement | undefined;
let nav: HTMLElement | undefined;
let menuButton: HTMLButtonElement | undefined;
let renderCount = 0;

/** A page outside the layout: signed out, not an administrator, or a sign-in failure. */
function standalone(title: string, message: string, ...actions: HTMLElement[]): void {
  standalonePage(title, [h("p", null, message)], actions);
}

function standalonePage(title: string, content: Child[], actions: HTMLElement[]): void {
  main = undefined;
  nav = undefined;
  menuButton = undefined;
  document.title = `${title} · Latchkey`;
  replace(
    root,
    h(
      "main",
      { id: "main", class: "standalone" },
      h("p", { class: "brand" }, "Latchkey"),
      h("h1", { tabindex: "-1" }, title),
      content,
      h("div", { class: "actions" }, actions),
    ),
  );
  root.querySelector("h1")?.focus();
}

function signInButton(label = "Sign in", returnTo = "/admin/"): HTMLButtonElement {
  return h(
    "button",
    { type: "button", class: "primary", onclick: () => void startSignIn(config, returnTo) },
    label,
  );
}

/**
 * The one page someone who is not an administrator sees, wherever they arrived: what happened, and
 * each way forward — their own account, the command that promotes them, another sign-in.
 */
function notAdministrator(): void {
  const session = currentSession();
  standalonePage(
    "This account is not an administrator",
    [
      h(
        "p",
        null,
        `${session?.email ? `${session.email} is` : "You are"} signed in, but only administrators can use the dashboard. Nothing here was changed.`,
      ),
      h("h2", null, "What you can do"),
      h(
        "ul",
        { class: "next-steps" },
        h(
          "li",
          null,
          h("a", { href: "/account" }, "Manage your own account"),
          " — your profile, password and sign-ins.",
        ),
        h(
          "li",
          null,
          "If this should be an administrator, whoever runs the server can make it one: ",
          h("code", null, `latchkey admins grant --email ${session?.email || "<address>"}`),
          ".",
        ),
        h("li", null, "Sign out, then sign in with an administrator account."),
      ),
    ],
    [h("button", { type: "button", class: "primary", onclick: () => signOut(config) }, "Sign out")],
  );
}

/**
 * No usable token: `refused` when the server turned one down, otherwise there is none. Sends the
 * person to sign in, except where that would loop or trap them.
 */
function signInAgain(refused: boolean): void {
  forgetSession();
  // A token refused straight after it was issued would be refused again: say so instead.
  if (refused && tokenJustIssued()) {
    standalone(
      "Signing in did not work",
      "Latchkey did not accept the dashboard's token. Check that the server's clock and ISSUER_URL are right, then try again.",
      signInButton("Try again"),
    );
    return;
  }
  // Back from the sign-in page: sending them there again would make Back a trap. Nothing failed.
  if (!refused && signInAbandoned()) {
    standalone(
      "Sign in to the dashboard",
      "Sign in with an administrator account to manage Latchkey.",
      signInButton("Sign in", location.pathname),
    );
    return;
  }
  void startSignIn(config, location.pathname);
}

function layout(session: Session): void {
  const id = "nav-menu";
  menuButton = h(
    "button",
    { type: "button", class: "menu-button", "aria-expanded": "false", "aria-controls": id },
    "Menu",
  );
  menuButton.addEventListener("click", () => {
    const open = menuButton?.getAttribute("aria-expanded") !== "true";
    menuButton?.setAttribute("aria-expanded", String(open));
    nav?.classList.toggle("open", open);
  });
  const groups = new Map<string, HTMLElement[]>();
  for (const item of NAV) {
    const list = groups.get(item.group ?? "") ?? [];
    list.push(h("li", null, h("a", { href: item.href, "data-nav": item.id }, item.label)));
    groups.set(item.group ?? "", list);
  }
  nav = h(
    "nav",
    { id, class: "sidebar", "aria-label": "Dashboard" },
    [...groups].map(([group, items]) =>
      h(
        "div",
        { class: "nav-group" },
        group ? h("p", { class: "nav-heading" }, group) : null,
        h("ul", null, items),
      ),
    ),
    h(
      "div",
      { class: "account" },
      h("p", { class: "muted" }, "Signed in as"),
      h("p", { class: "who" }, session.name || session.email),
      session.name && session.email ? h("p", { class: "muted small" }, session.email) : null,
      h(
        "button",
        { type: "button", class: "secondary small sign-out", onclick: () => signOut(config) },
        "Sign out",
      ),
    ),
  );
  main = h("main", { id: "main", tabindex: "-1" });
  replace(
    root,
    h("a", { href: "#main", class: "skip-link" }, "Skip to content"),
    h(
      "div",
      { class: "shell" },
      h("header", { class: "topbar" }, h("a", { href: "/admin/", class: "brand" }, "Latchkey"), menuButton),
      nav,
      main,
    ),
    h("div", { id: "notice", class: "notice", role: "status", "aria-live": "polite" }),
  );
}

async function render(): Promise<void> {
  const path = location.pathname;
  const route = ROUTES.map((r) => ({ r, match: r.pattern.exec(path) })).find((x) => x.match);
  const session = currentSession();
  if (!session) return signInAgain(false);
  if (!main) layout(session);
  const current = ++renderCount;
  nav?.classList.remove("open");
  menuButton?.setAttribute("aria-expanded", "false");
  for (const link of nav?.querySelectorAll<HTMLAnchorElement>("a[data-nav]") ?? []) {
    if (link.dataset.nav === route?.r.nav) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const target = main!;
  target.replaceChildren(h("p", { class: "loading", role: "status" }, "Loading…"));
  // An address the dashboard has no screen for says so under that address, instead of showing
  // another screen as if it had been asked for.
  if (route) await route.r.screen({ main: target, params: route.match!.slice(1), config });
  else
    notFoundScreen(
      target,
      "Page not found",
      `The dashboard has no page at ${path}. Check the address, or go on from here.`,
    );
  // Move focus to the new page's heading so keyboard and screen-reader users start there.
  if (current === renderCount && target.isConnected) target.querySelector<HTMLElement>("h1")?.focus();
  // Endpoints disabled after 72 hours of failed deliveries are named on every screen (issue 18).
  void webhookAlert(target, () => current === renderCount && target.isConnected);
}

function navigate(path: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  void render();
}

document.addEventListener("click", (event) => {
  if (
    event.defaultPrevented ||
    event.button !== 0 ||
    event.metaKey ||
    event.ctrlKey ||
    event.shiftKey ||
    event.altKey
  )
    return;
  const link = (event.target as Element | null)?.closest?.("a");
  if (!link || link.target || link.hasAttribute("download")) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith("/admin/") || url.hash) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener("popstate", () => void render());
// Back from the sign-in page may restore this page from the back/forward cache as it was left
// (mid-redirect): draw it again for where it is now.
window.addEventListener("pageshow", (event) => {
  if (event.persisted && config) void render();
});

async function boot(): Promise<void> {
  const response = await fetch("/admin/config.json", { headers: { accept: "application/json" } }).catch(
    () => undefined,
  );
  const body = (await response?.json().catch(() => undefined)) as
    | (DashboardConfig & { error_description?: string })
    | undefined;
  if (!response?.ok || !body?.clientId) {
    standalone(
      "The dashboard is not available",
      body?.error_description ?? "Latchkey could not be reached. Reload the page to try again.",
    );
    return;
  }
  config = body;
  setShell({ navigate, signInAgain, notAdministrator });
  const search = new URLSearchParams(location.search);
  if (location.pathname === "/admin/callback") {
    try {
      const next = await completeSignIn(config, search);
      history.replaceState(null, "", next);
    } catch (error) {
      history.replaceState(null, "", "/admin/");
      standalone("Signing in did not work", describeError(error), signInButton("Try again"));
      return;
    }
    // One cheap call tells an administrator from anyone else before drawing the dashboard.
    try {
      await api("GET", "/business");
    } catch (error) {
      if (error instanceof NotAdministrator) return notAdministrator();
      if (error instanceof SignInRequired) return signInAgain(error.refused);
    }
  } else if (search.get("state") === "signed-out") {
    history.replaceState(null, "", "/admin/");
    standalone("You have signed out", "Sign in again to manage Latchkey.", signInButton());
    return;
  }
  await render();
}

watchScrollableTables(root);
void boot();
