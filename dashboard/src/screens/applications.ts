// Applications: the list, creating one (choosing its kind), and one application's details —
// credentials, URLs, token lifetimes, authorised APIs, quick-start code and deletion. The
// dashboard's own application is shown read-only instead (dashboard-application.ts).
import { api } from "../api.js";
import { checkbox, copyable, copyButton, emptyState, field, formatDuration, h, notify, uid } from "../dom.js";
import { addressedList, fetchListPage } from "../list-state.js";
import { urlLines, urlListProblem } from "../urls.js";
import { attempt, load, navigate, pageHeader, type Screen, section, type View } from "../view.js";
import {
  deleteButton,
  formDialog,
  kindChoice,
  linkCell,
  listTable,
  pageForm,
  saveOnToggle,
  whenConfirmed,
} from "../widgets.js";
import { scopeGrants } from "./apis.js";
import { accessSection } from "./application-access.js";
import { managedNote, managedSections } from "./dashboard-application.js";
import { managementAccess } from "./management-access.js";
import { MAX_SESSION_LIFETIME, sessionLifetimeProblem } from "./organization-sessions.js";
import { quickStartSection } from "./quick-starts.js";
import { trySignInSection } from "./try-sign-in.js";

export type ApplicationType = "reg" | "spa" | "m2m";

const PAGE_SIZE = 25;

export const KINDS: { type: ApplicationType; label: string; sentence: string }[] = [
  {
    type: "reg",
    label: "Back-end web",
    sentence:
      "A web app whose server renders pages or handles the sign-in callback (Node, Python, PHP…) and can keep a secret.",
  },
  {
    type: "spa",
    label: "Front-end and mobile",
    sentence:
      "Code that runs in the browser or on a phone (React, Vue, native apps): signs in with PKCE and holds no secret.",
  },
  {
    type: "m2m",
    label: "Machine to machine",
    sentence:
      "A service, script or cron job that calls your APIs on its own behalf, with no person signing in.",
  },
];

export function kindLabel(type: string): string {
  return KINDS.find((k) => k.type === type)?.label ?? type;
}

interface ApplicationSummary {
  id: string;
  name: string;
  type: string;
}

interface Application extends ApplicationSummary {
  client_id: string;
  client_secret: string | null;
  access_token_lifetime: number;
  refresh_token_lifetime: number;
  id_token_lifetime: number;
  authenticated_session_lifetime: number | null;
}

interface ApiSummary {
  id: string;
  name: string;
  audience: string;
  is_management_api: boolean;
  scopes?: { id: string; key: string }[];
}

interface ApiDetails extends ApiSummary {
  scopes: { id: string; key: string }[];
  applications: { id: string; name: string; type: string; is_active: boolean }[];
}

/** Newest first (or by name), a page at a time, searched by the start of the name (list-state.ts). */
export const listApplications: Screen = async (view) => {
  const add = h(
    "button",
    { type: "button", class: "primary", onclick: () => createDialog() },
    "Add application",
  );
  await addressedList<ApplicationSummary>(view, {
    path: "/admin/applications",
    header: pageHeader("Applications", {
      lead: "The apps people sign in to, and the services that call your APIs.",
      actions: [add],
    }),
    label: "Find an application",
    hint: "The start of its name.",
    sorts: [
      { value: "created_on_desc", label: "Newest first" },
      { value: "name_asc", label: "By name" },
    ],
    noun: ["application", "applications"],
    fetch: (state) =>
      fetchListPage<ApplicationSummary>("applications", {
        sort: state.sort,
        page_size: PAGE_SIZE,
        next_token: state.after,
        starts_with: state.q || undefined,
      }),
    empty: (state) =>
      state.q
        ? emptyState(
            "No application matches",
            "Search for the start of an application's name, or clear the search.",
          )
        : emptyState(
            "No applications yet",
            "Add an application to get a client ID, then point your app or SDK at Latchkey.",
            h(
              "button",
              { type: "button", class: "primary", onclick: () => createDialog() },
              "Add your first application",
            ),
          ),
    render: (applications) =>
      listTable("Applications", ["Name", "Kind", "Client ID"], applications, (a) => [
        linkCell(
          `/admin/applications/${a.id}`,
          a.name,
          a.id === view.config.clientId ? h("span", { class: "badge" }, "This dashboard") : null,
        ),
        h("td", null, kindLabel(a.type)),
        h("td", { class: "mono" }, a.id),
      ]),
  });
};

function createDialog(): void {
  const name = field({
    label: "Name",
    name: "name",
    required: true,
    placeholder: "e.g. Customer portal",
    validate: (v) => (v.trim().length > 200 ? "Use at most 200 characters" : undefined),
  });
  const kinds = kindChoice({ legend: "Kind of application", id: "kind", kinds: KINDS });
  formDialog({
    title: "Add an application",
    content: [name.element, kinds.element],
    fields: [name],
    submit: async (dialog) => {
      const created = await api<{ application: { id: string } }>("POST", "/applications", {
        name: name.input.value.trim(),
        type: kinds.value() as ApplicationType,
      });
      dialog.close();
      notify("Application created");
      navigate(`/admin/applications/${created.application.id}`);
    },
  });
}

export const applicationDetails: Screen = async (view) => {
  const id = view.params[0]!;
  await load(view, async () => {
    const { application } = await api<{ application: Application }>(
      "GET",
      `/applications/${encodeURIComponent(id)}`,
    );
    const userFacing = application.type !== "m2m";
    const [callbacks, logouts, apis] = await Promise.all([
      userFacing
        ? api<{ redirect_urls: string[] }>("GET", `/applications/${id}/auth_redirect_urls`).then(
            (r) => r.redirect_urls,
          )
        : Promise.resolve([]),
      userFacing
        ? api<{ logout_urls: string[] }>("GET", `/applications/${id}/auth_logout_urls`).then(
            (r) => r.logout_urls,
          )
        : Promise.resolve([]),
      loadApis(),
    ]);
    const isDashboard = application.id === view.config.clientId;
    const header = pageHeader(application.name, {
      back: { href: "/admin/applications", label: "Applications" },
      lead: [
        kindLabel(application.type),
        isDashboard ? " · the application this dashboard signs in with" : "",
      ],
    });
    if (isDashboard) {
      const authorised = apis.filter((a) =>
        a.applications.some((app) => app.id === application.id && app.is_active),
      );
      return [
        header,
        managedNote(view.config.issuer),
        credentialsSection(view, application),
        ...managedSections(application, callbacks, logouts, authorised),
      ];
    }
    let quickStart = quickStartSection(view.config.issuer, application, callbacks, logouts);
    return [
      header,
      credentialsSection(view, application),
      userFacing
        ? urlsSection(application, callbacks, logouts, (saved, savedLogouts) => {
            const updated = quickStartSection(view.config.issuer, application, saved, savedLogouts);
            quickStart.replaceWith(updated);
            quickStart = updated;
          })
        : null,
      apisSection(application, apis),
      tokensSection(application),
      quickStart,
      trySignInSection(application),
      accessSection(application),
      generalSection(application),
    ];
  });
};

async function loadApis(): Promise<ApiDetails[]> {
  const { apis } = await api<{ apis: ApiSummary[] }>("GET", "/apis");
  return Promise.all(apis.map((a) => api<{ api: ApiDetails }>("GET", `/apis/${a.id}`).then((r) => r.api)));
}

function credentialsSection(view: View, application: Application): HTMLElement {
  const rows: HTMLElement[] = [
    copyable("Domain", view.config.issuer),
    copyable("Client ID", application.client_id),
  ];
  if (application.client_secret !== null) {
    let secret = application.client_secret;
    const inputId = uid("secret");
    const input = h("input", { id: inputId, type: "password", readonly: true, class: "mono", value: secret });
    const reveal = h("button", { type: "button", class: "secondary small" }, "Show");
    reveal.addEventListener("click", () => {
      const shown = input.type === "text";
      input.type = shown ? "password" : "text";
      reveal.textContent = shown ? "Show" : "Hide";
    });
    const failure = h("div");
    const rotate = h("button", { type: "button", class: "secondary small" }, "Rotate");
    whenConfirmed(
      rotate,
      {
        title: "Rotate the client secret?",
        message:
          "A new secret is generated and the current one stops working at once. Update every server that uses it right away.",
        confirmLabel: "Rotate secret",
        danger: true,
      },
      failure,
      async () => {
        const rotated = await api<{ application: { client_secret: string } }>(
          "POST",
          `/applications/${application.id}/rotate_secret`,
        );
        secret = rotated.application.client_secret;
        input.value = secret;
        notify("Client secret rotated. The old secret no longer works.");
      },
    );
    rows.push(
      h(
        "div",
        { class: "field" },
        h("label", { for: inputId }, "Client secret"),
        h(
          "p",
          { class: "hint", id: `${inputId}-hint` },
          "Keep it on your server only. Rotating it replaces it at once.",
        ),
        h(
          "div",
          { class: "copy-row" },
          input,
          reveal,
          copyButton("Client secret", () => secret),
          rotate,
        ),
        failure,
      ),
    );
  }
  return section("Credentials", rows);
}

function urlsSection(
  application: Application,
  callbacks: string[],
  logouts: string[],
  onSaved: (callbacks: string[], logouts: string[]) => void,
): HTMLElement {
  const callback = field({
    label: "Allowed callback URLs",
    name: "redirect_uris",
    multiline: 3,
    value: callbacks.join("\n"),
    hint: "Where Latchkey may send people back after they sign in. One URL a line; https, or http only on localhost.",
    validate: urlListProblem,
  });
  const logout = field({
    label: "Allowed logout redirect URLs",
    name: "logout_uris",
    multiline: 2,
    value: logouts.join("\n"),
    hint: "Where people may land after signing out. One URL a line.",
    validate: urlListProblem,
  });
  const failure = h("div");
  const form = h(
    "form",
    { novalidate: true },
    callbacks.length === 0
      ? h("p", { class: "alert info" }, "Add a callback URL so people can sign in to this application.")
      : null,
    callback.element,
    logout.element,
    failure,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Save URLs")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const ok = [callback, logout].map((f) => f.check());
    if (ok.includes(false)) return (ok[0] ? logout : callback).input.focus();
    await attempt(failure, async () => {
      const saved = urlLines(callback.input.value);
      const savedLogouts = urlLines(logout.input.value);
      await api("PUT", `/applications/${application.id}/auth_redirect_urls`, { urls: saved });
      await api("PUT", `/applications/${application.id}/auth_logout_urls`, { urls: savedLogouts });
      form.querySelector(".alert.info")?.remove();
      onSaved(saved, savedLogouts);
      notify("URLs saved");
    });
  });
  return section("Callback and logout URLs", form);
}

function lifetimeProblem(value: string): string | undefined {
  if (!/^\d+$/.test(value.trim())) return "Enter a whole number of seconds";
  const n = Number(value);
  if (n < 60 || n > 31_536_000) return "Between 60 seconds and 365 days (31536000)";
  return undefined;
}

function sessionLifetimeField(application: Application) {
  const value = application.authenticated_session_lifetime;
  return field({
    label: "Session lifetime",
    name: "authenticated_session_lifetime",
    type: "number",
    min: 60,
    max: MAX_SESSION_LIFETIME,
    value: value === null ? "" : String(value),
    hint: `In seconds; people whose sign-in is older sign in again to this application. Blank: the environment's 14 days${value === null ? "" : ` (now ${formatDuration(value)})`}.`,
    validate: (text) => sessionLifetimeProblem(text, true),
  });
}

function tokensSection(application: Application): HTMLElement {
  const make = (label: string, name: string, value: number) => {
    const f = field({
      label,
      name,
      type: "number",
      min: 60,
      max: 31_536_000,
      value: String(value),
      hint: `In seconds (now ${formatDuration(value)}).`,
      validate: lifetimeProblem,
    });
    return f;
  };
  const access = make("Access token lifetime", "access_token_lifetime", application.access_token_lifetime);
  const idToken = make("ID token lifetime", "id_token_lifetime", application.id_token_lifetime);
  const refresh = make(
    "Refresh token lifetime",
    "refresh_token_lifetime",
    application.refresh_token_lifetime,
  );
  const fields = application.type === "m2m" ? [access] : [access, idToken, refresh];
  // How old a sign-in may be to reach this application without the form (blank: the environment's).
  const session = application.type === "m2m" ? undefined : sessionLifetimeField(application);
  const form = pageForm({
    content: [
      h(
        "div",
        { class: "grid-3" },
        fields.map((f) => f.element),
      ),
      session?.element,
    ],
    fields: session ? [...fields, session] : fields,
    submitLabel: "Save lifetimes",
    submit: async () => {
      const body: Record<string, number | null> = {};
      for (const f of fields) body[f.input.name] = Number(f.input.value);
      if (session)
        body[session.input.name] = session.input.value.trim() === "" ? null : Number(session.input.value);
      await api("PATCH", `/applications/${application.id}/tokens`, body);
      notify("Token lifetimes saved");
    },
  });
  return section(
    "Tokens",
    h("p", { class: "muted" }, "How long tokens issued to this application stay valid."),
    form,
  );
}

function apisSection(application: Application, apis: ApiDetails[]): HTMLElement {
  if (apis.length === 0) {
    return section(
      "APIs",
      emptyState(
        "No APIs yet",
        "Register an API to let this application ask for tokens for it.",
        h("a", { href: "/admin/apis", class: "button secondary" }, "Go to APIs"),
      ),
    );
  }
  const list = h(
    "ul",
    { class: "rows" },
    apis.map((a) => {
      const authorized = a.applications.some((app) => app.id === application.id && app.is_active);
      // Latchkey's own API is never one tick away (management-access.ts).
      if (a.is_management_api)
        return h("li", null, managementAccess(a, application, authorized, { label: a.name }));
      const toggle = checkbox({
        label: `Authorised for ${a.name}`,
        name: `api-${a.id}`,
        checked: authorized,
        hint: a.audience,
      });
      const failure = h("div");
      saveOnToggle(toggle.input, failure, async (wanted) => {
        await api("PATCH", `/apis/${a.id}/applications`, {
          applications: [{ id: application.id, ...(wanted ? {} : { operation: "delete" }) }],
        });
        notify(wanted ? `Authorised for ${a.name}` : `No longer authorised for ${a.name}`);
      });
      const grants = h("div");
      const showGrants = () => {
        grants.replaceChildren();
        if (toggle.input.checked && application.type === "m2m")
          grants.appendChild(
            scopeGrants(`Scopes of ${a.name} granted to ${application.name}`, a.id, application.id, a.scopes),
          );
      };
      showGrants();
      toggle.input.addEventListener("change", showGrants);
      const keys = a.scopes.map((s) => s.key);
      const shown =
        keys.length > 6 ? `${keys.slice(0, 6).join(", ")} and ${keys.length - 6} more` : keys.join(", ");
      return h(
        "li",
        null,
        toggle.element,
        application.type !== "m2m" && keys.length
          ? h(
              "p",
              { class: "hint" },
              `Scopes: ${shown} — `,
              h("a", { href: `/admin/apis/${a.id}` }, "manage"),
            )
          : null,
        grants,
        failure,
      );
    }),
  );
  return section(
    "APIs",
    h(
      "p",
      { class: "muted" },
      application.type === "m2m"
        ? "An authorised machine-to-machine app gets tokens for the API with the scopes granted to it on the API's page."
        : "An authorised app may ask for tokens for the API (audience); people's tokens carry the requested API scopes they hold through a role, or directly, in the organization they sign into.",
    ),
    list,
  );
}

function generalSection(application: Application): HTMLElement {
  const name = field({
    label: "Name",
    name: "name",
    required: true,
    value: application.name,
    validate: (v) => (v.trim().length > 200 ? "Use at most 200 characters" : undefined),
  });
  const form = pageForm({
    content: [name.element],
    fields: [name],
    submitLabel: "Save name",
    submit: async () => {
      await api("PATCH", `/applications/${application.id}`, { name: name.input.value.trim() });
      const heading = document.querySelector("h1");
      if (heading) heading.textContent = name.input.value.trim();
      notify("Name saved");
    },
  });
  const deleteFailure = h("div");
  const remove = deleteButton({
    label: "Delete application",
    title: `Delete ${application.name}?`,
    message:
      "People can no longer sign in to it, and its tokens stop working with the Management API at once. This cannot be undone.",
    failure: deleteFailure,
    work: async () => {
      await api("DELETE", `/applications/${application.id}`);
      notify(`${application.name} deleted`);
      navigate("/admin/applications");
    },
  });
  return section(
    "Settings",
    form,
    h(
      "div",
      { class: "danger-zone" },
      h("h3", null, "Delete this application"),
      h("p", { class: "muted" }, "Everything configured for it is removed."),
      remove,
      deleteFailure,
    ),
  );
}
