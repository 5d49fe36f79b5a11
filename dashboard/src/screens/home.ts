// The dashboard's home (/admin/): a getting-started checklist — create an application, add its
// callback URL, sign in to it, see the person who did — then live counts (people, sign-ins today,
// applications signed in to today), the server's version and health. Everything comes from
// reads: Latchkey's GET /api/v1/overview (Kinde's API has no counts) and GET /health/ready.
import { api, query } from "../api.js";
import { h, replace } from "../dom.js";
import { errorBox, leftScreen, load, pageHeader, type Screen, section } from "../view.js";

interface Overview {
  version: string;
  users: { total: number };
  sign_ins: { since: string; count: number };
  applications: { total: number; active: number };
  getting_started: {
    application: { id: string; name: string; type: string } | null;
    callback_url_added: boolean;
    last_sign_in: { user_id: string | null; client_id: string; created_on: string } | null;
  };
}

interface Health {
  ok: boolean;
  text: string;
}

/** Whose page the administrator opened last: "see the user" is done once it is that person's. */
const SEEN_USER_KEY = "latchkey.dashboard.seen-user";
/** Counts move while the home is open; they are read again this often. */
const REFRESH_MS = 30_000;

export function rememberSeenUser(id: string): void {
  try {
    localStorage.setItem(SEEN_USER_KEY, id);
  } catch {
    // Storage refused (private mode, quota): the checklist then keeps the step open, nothing worse.
  }
}

function seenUser(): string | null {
  try {
    return localStorage.getItem(SEEN_USER_KEY);
  } catch {
    return null;
  }
}

/** The start of today where the administrator is: "sign-ins today" means their today. */
function localMidnight(): string {
  const now = new Date();
  return new Date(now.getFullYear(), now.getMonth(), now.getDate()).toISOString();
}

async function readOverview(): Promise<Overview> {
  return api<Overview>("GET", `/overview${query({ since: localMidnight() })}`);
}

async function readHealth(): Promise<Health> {
  try {
    const response = await fetch("/health/ready", { headers: { accept: "application/json" } });
    const body = (await response.json().catch(() => ({}))) as { database?: string };
    if (response.ok) return { ok: true, text: "Ready: the database answers" };
    return { ok: false, text: `Not ready: the database is ${body.database ?? "unavailable"}` };
  } catch {
    return { ok: false, text: "Not reachable from this browser" };
  }
}

interface Step {
  title: string;
  done: boolean;
  text: string;
  action?: HTMLElement;
}

function steps(overview: Overview): Step[] {
  const { application, callback_url_added: callback, last_sign_in: signIn } = overview.getting_started;
  const appLink = (label: string) =>
    application ? h("a", { href: `/admin/applications/${application.id}` }, label) : undefined;
  const userId = signIn?.user_id ?? null;
  return [
    {
      title: "Create an application",
      done: application !== null,
      text: application
        ? `${application.name} is ready: it has a client ID your app signs in with.`
        : "Register the app people will sign in to. It gets a client ID (and a secret, for a back-end app).",
      action: application
        ? appLink(`Open ${application.name}`)
        : h("a", { href: "/admin/applications", class: "button primary" }, "Add an application"),
    },
    {
      title: "Add a callback URL",
      done: callback,
      text: callback
        ? "Latchkey knows where to send people back after they sign in."
        : "The address in your app that Latchkey sends people back to after they sign in, e.g. https://app.example.com/callback.",
      action: appLink(callback ? "See its URLs" : "Add it on the application's page"),
    },
    {
      title: "Try signing in",
      done: signIn !== null,
      text: signIn
        ? `Someone signed in to an application on ${new Date(signIn.created_on).toLocaleString()}.`
        : "Point your app or its SDK at this server and sign in once. The application's page has quick-start code.",
      action: signIn ? undefined : appLink("Open the quick start"),
    },
    {
      title: "See the user",
      done: userId !== null && seenUser() === userId,
      text: userId
        ? "Their account, sessions and sign-ins are on their page."
        : "Once someone has signed in, their account shows up under Users.",
      action: userId
        ? h(
            "a",
            { href: `/admin/users/${userId}`, onclick: () => rememberSeenUser(userId) },
            "Open their page",
          )
        : undefined,
    },
  ];
}

function checklist(overview: Overview): HTMLElement {
  const list = steps(overview);
  const done = list.filter((s) => s.done).length;
  return section(
    "Get started",
    h("p", { class: "muted", id: "checklist-progress" }, `${done} of ${list.length} done`),
    h(
      "ol",
      { class: "checklist", "aria-describedby": "checklist-progress" },
      list.map((step) =>
        h(
          "li",
          { class: step.done ? "done" : undefined },
          h(
            "p",
            { class: "step-title" },
            h(
              "span",
              { class: step.done ? "step-state status-ok" : "step-state" },
              step.done ? "Done" : "To do",
            ),
            " ",
            h("strong", null, step.title),
          ),
          h("p", { class: "muted" }, step.text),
          step.action ?? null,
        ),
      ),
    ),
  );
}

function counts(overview: Overview): HTMLElement {
  // Labels are text, not links: the menu beside them already has Users and Applications.
  const tile = (label: string, value: number, detail: string) =>
    h(
      "div",
      { class: "stat" },
      h("p", { class: "stat-label" }, label),
      h("p", { class: "stat-value" }, value.toLocaleString()),
      h("p", { class: "muted small" }, detail),
    );
  const apps = overview.applications;
  return section(
    "Today",
    h(
      "div",
      { class: "stats" },
      tile("Users", overview.users.total, "accounts in total"),
      tile("Sign-ins today", overview.sign_ins.count, "since midnight, to any application"),
      tile(
        "Active applications",
        apps.active,
        `signed in to today, of ${apps.total.toLocaleString()} application${apps.total === 1 ? "" : "s"}`,
      ),
    ),
  );
}

function server(overview: Overview, health: Health, issuer: string): HTMLElement {
  return section(
    "Server",
    h(
      "dl",
      { class: "facts" },
      h("dt", null, "Version"),
      h("dd", null, `Latchkey ${overview.version}`),
      h("dt", null, "Health"),
      h("dd", null, h("span", { class: health.ok ? "status-ok" : "status-bad" }, health.text)),
      h("dt", null, "Issuer"),
      h("dd", { class: "mono" }, issuer),
      h("dt", null, "Discovery"),
      h(
        "dd",
        null,
        h("a", { href: "/.well-known/openid-configuration" }, "OpenID Connect discovery document"),
      ),
    ),
  );
}

export const home: Screen = async (view) => {
  const body = h("div", { class: "home" });
  let shown = "";
  const draw = (overview: Overview, health: Health) => {
    const state = JSON.stringify([overview, health, seenUser()]);
    if (state === shown) return;
    shown = state;
    replace(body, checklist(overview), counts(overview), server(overview, health, view.config.issuer));
  };
  await load(view, async () => {
    const [overview, health] = await Promise.all([readOverview(), readHealth()]);
    draw(overview, health);
    return [pageHeader("Home", { lead: "Your sign-in service at a glance." }), body];
  });
  const timer = window.setInterval(async () => {
    // Another screen replaced this one: stop reading for it.
    if (!body.isConnected) return window.clearInterval(timer);
    // Redrawing under a keyboard user would take their place on the page away: wait for a round
    // when focus is elsewhere.
    if (body.contains(document.activeElement)) return;
    try {
      const [overview, health] = await Promise.all([readOverview(), readHealth()]);
      if (body.isConnected && !body.contains(document.activeElement)) draw(overview, health);
    } catch (error) {
      window.clearInterval(timer);
      if (!leftScreen(error) && body.isConnected) body.prepend(errorBox(error));
    }
  }, REFRESH_MS);
};
