// What every screen shares: navigation, page headings, error boxes and the handling of the two
// errors that leave the screen (sign-in needed, not an administrator).
import { ApiFailure, describeError, NotAdministrator, SignInRequired } from "./api.js";
import type { DashboardConfig } from "./auth.js";
import { append, type Child, h } from "./dom.js";

export interface View {
  main: HTMLElement;
  params: string[];
  config: DashboardConfig;
}

export type Screen = (view: View) => Promise<void>;

interface Shell {
  navigate(path: string, options?: { replace?: boolean }): void;
  signInAgain(refused: boolean): void;
  notAdministrator(): void;
}

let shell: Shell | undefined;

export function setShell(value: Shell): void {
  shell = value;
}

export function navigate(path: string, options?: { replace?: boolean }): void {
  shell?.navigate(path, options);
}

/** True when the error took the user elsewhere (sign-in, or the not-an-administrator page). */
export function leftScreen(error: unknown): boolean {
  if (error instanceof SignInRequired) {
    shell?.signInAgain(error.refused);
    return true;
  }
  if (error instanceof NotAdministrator) {
    shell?.notAdministrator();
    return true;
  }
  return false;
}

export function errorBox(error: unknown): HTMLElement {
  return h("div", { class: "alert error", role: "alert" }, describeError(error));
}

/** Runs an action of a form or button, showing its failure in `slot` (cleared first). */
export async function attempt(slot: HTMLElement, work: () => Promise<void>): Promise<boolean> {
  slot.replaceChildren();
  try {
    await work();
    return true;
  } catch (error) {
    if (!leftScreen(error)) slot.appendChild(errorBox(error));
    return false;
  }
}

export function pageHeader(
  title: string,
  options: { lead?: Child; actions?: Child[]; back?: { href: string; label: string } } = {},
): HTMLElement {
  document.title = `${title} · Latchkey`;
  return h(
    "header",
    { class: "page-header" },
    options.back ? h("a", { href: options.back.href, class: "back" }, `← ${options.back.label}`) : null,
    h(
      "div",
      { class: "page-title" },
      h(
        "div",
        null,
        h("h1", { tabindex: "-1" }, title),
        options.lead ? h("p", { class: "lead" }, options.lead) : null,
      ),
      options.actions ? h("div", { class: "page-actions" }, options.actions) : null,
    ),
  );
}

export function section(title: string, ...children: Child[]): HTMLElement {
  return h("section", { class: "panel" }, h("h2", null, title), children);
}

/**
 * What a part of a page shows instead of failing the page when its request was refused for want of
 * a scope: the administrator's access token holds the scopes the dashboard asked for when they
 * signed in, so a sign-in made before a release that added scopes lacks them until the next one.
 * Undefined for any other error.
 */
export function scopesMissing(error: unknown, managing: string): HTMLElement | undefined {
  if (!(error instanceof ApiFailure && error.code === "FORBIDDEN")) return undefined;
  return h(
    "div",
    { class: "alert error", role: "alert" },
    `This sign-in does not allow managing ${managing} yet. Sign out and sign in again, then come back here.`,
  );
}

/** The lists whose items have pages of their own, by the path's first segment after /admin/. */
const LISTS: Record<string, string> = {
  applications: "Applications",
  apis: "APIs",
  users: "Users",
  organizations: "Organizations",
  roles: "Roles & permissions",
};

/**
 * What an address the dashboard cannot show gets instead of a dead end: the reason, and the way to
 * the list it would have been in (for an item's page) and home.
 */
export function notFoundScreen(main: HTMLElement, title: string, reason: string): void {
  const segment = /^\/admin\/([a-z-]+)\/[^/]+$/.exec(location.pathname)?.[1];
  const list = segment ? LISTS[segment] : undefined;
  main.replaceChildren(
    pageHeader(title, { lead: reason }),
    section(
      "Where to go from here",
      h(
        "ul",
        { class: "next-steps" },
        list ? h("li", null, h("a", { href: `/admin/${segment}` }, `All ${list.toLowerCase()}`)) : null,
        h("li", null, h("a", { href: "/admin/" }, "The dashboard's home")),
      ),
    ),
  );
}

/** Whether the API said the thing asked for does not exist (Kinde answers some of these with 400). */
function isNotFound(error: unknown): error is ApiFailure {
  return error instanceof ApiFailure && (error.status === 404 || error.code.endsWith("_NOT_FOUND"));
}

/** Renders a screen's first load: the spinner, then its content, or its failure in words. */
export async function load(view: View, work: () => Promise<Child[]>): Promise<void> {
  try {
    const content = await work();
    view.main.replaceChildren();
    append(view.main, content);
  } catch (error) {
    if (leftScreen(error)) return;
    if (isNotFound(error)) {
      notFoundScreen(
        view.main,
        error.message,
        "It may have been deleted, or the link that led here is wrong. Nothing was changed.",
      );
      return;
    }
    view.main.replaceChildren(pageHeader("Something went wrong"), errorBox(error));
  }
}
