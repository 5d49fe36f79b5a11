// APIs: the resource servers tokens are issued for. Create one (name and audience), define its
// scopes, authorise applications and choose which scopes each machine-to-machine app holds.
import { api } from "../api.js";
import type { DashboardConfig } from "../auth.js";
import { checkbox, copyable, emptyState, field, h, notify } from "../dom.js";
import { attempt, load, navigate, pageHeader, type Screen, section } from "../view.js";
import {
  deleteSection,
  formDialog,
  linkCell,
  listTable,
  saveOnToggle,
  tableHead,
  visuallyHidden,
  whenConfirmed,
} from "../widgets.js";
import { managedSentence } from "./dashboard-application.js";
import { isMachine, managementAccess } from "./management-access.js";

interface ApiSummary {
  id: string;
  name: string;
  audience: string;
  is_management_api: boolean;
}

interface ApiDetails extends ApiSummary {
  scopes: { id: string; key: string }[];
  applications: { id: string; name: string; type: string; is_active: boolean }[];
}

interface Scope {
  id: string;
  key: string;
  description: string | null;
}

/** The server's audience rule (src/apis/apis.service.ts), repeated for feedback while typing. */
export function audienceProblem(value: string): string | undefined {
  if (value.length > 64) return "Use at most 64 characters";
  if (!/^[\x21-\x7e]+$/.test(value)) return "Use printable characters without spaces";
  if (value.includes("#")) return "Must not contain a fragment (#)";
  if (/^https?:/i.test(value)) {
    try {
      if (!new URL(value).hostname) return "Must be an absolute URL with a host";
    } catch {
      return "Is not a valid URL";
    }
  }
  return undefined;
}

const RESERVED_SCOPES = new Set([
  "openid",
  "profile",
  "email",
  "offline",
  "offline_access",
  "address",
  "phone",
]);

export function scopeKeyProblem(value: string): string | undefined {
  if (value.length > 64) return "Use at most 64 characters";
  if (!/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(value))
    return "Use printable characters without spaces, quotes or backslashes";
  if (RESERVED_SCOPES.has(value)) return `${value} is reserved for OpenID Connect`;
  return undefined;
}

export const listApis: Screen = async (view) => {
  await load(view, async () => {
    const { apis } = await api<{ apis: ApiSummary[] }>("GET", "/apis");
    const add = h("button", { type: "button", class: "primary", onclick: () => createDialog() }, "Add API");
    const header = pageHeader("APIs", {
      lead: "Your back ends that accept Latchkey's access tokens. Each is identified by its audience.",
      actions: [add],
    });
    const own = apis.filter((a) => !a.is_management_api);
    return [
      header,
      own.length === 0
        ? emptyState(
            "No APIs of your own yet",
            "Add an API to issue access tokens for it, then authorise the applications that may call it.",
            h(
              "button",
              { type: "button", class: "primary", onclick: () => createDialog() },
              "Add your first API",
            ),
          )
        : null,
      listTable("APIs", ["Name", "Audience"], apis, (a) => [
        linkCell(
          `/admin/apis/${a.id}`,
          a.name,
          a.is_management_api ? h("span", { class: "badge" }, "Built in") : null,
        ),
        h("td", { class: "mono" }, a.audience),
      ]),
    ];
  });
};

function createDialog(): void {
  const name = field({
    label: "Name",
    name: "name",
    required: true,
    placeholder: "e.g. Orders API",
    validate: (v) => (v.trim().length > 64 ? "Use at most 64 characters" : undefined),
  });
  const audience = field({
    label: "Audience",
    name: "audience",
    required: true,
    placeholder: "https://api.example.com",
    hint: "A unique identifier, usually the API's URL. Tokens for this API carry it in their aud claim; it cannot be changed later.",
    validate: audienceProblem,
  });
  formDialog({
    title: "Add an API",
    content: [name.element, audience.element],
    fields: [name, audience],
    submit: async (dialog) => {
      const created = await api<{ api: { id: string } }>("POST", "/apis", {
        name: name.input.value.trim(),
        audience: audience.input.value.trim(),
      });
      dialog.close();
      notify("API created");
      navigate(`/admin/apis/${created.api.id}`);
    },
  });
}

export const apiDetails: Screen = async (view) => {
  const id = view.params[0]!;
  await load(view, async () => {
    const [{ api: details }, { scopes }] = await Promise.all([
      api<{ api: ApiDetails }>("GET", `/apis/${encodeURIComponent(id)}`),
      api<{ scopes: Scope[] }>("GET", `/apis/${encodeURIComponent(id)}/scopes`),
    ]);
    return [
      pageHeader(details.name, {
        back: { href: "/admin/apis", label: "APIs" },
        lead: details.is_management_api
          ? "Latchkey's own Management API. Its scopes are fixed."
          : "Define scopes, then authorise the applications that may call this API.",
      }),
      section("Identifier", copyable("Audience", details.audience)),
      scopesSection(details, scopes),
      applicationsSection(details, view.config),
      details.is_management_api ? null : apiDeleteSection(details),
    ];
  });
};

function scopesSection(details: ApiDetails, scopes: Scope[]): HTMLElement {
  const rows = h("tbody");
  const table = h(
    "table",
    null,
    tableHead(
      "Scopes",
      details.is_management_api
        ? ["Scope", "Description"]
        : ["Scope", "Description", visuallyHidden("Actions")],
    ),
    rows,
  );
  const failure = h("div");
  const empty = h(
    "p",
    { class: "muted" },
    "No scopes yet. Add one for each kind of access your API checks, e.g. read:orders.",
  );
  const addRow = (scope: Scope) => {
    const remove = details.is_management_api
      ? null
      : h(
          "button",
          { type: "button", class: "secondary small", "aria-label": `Delete scope ${scope.key}` },
          "Delete",
        );
    const row = h(
      "tr",
      null,
      h("td", { class: "mono" }, scope.key),
      h("td", null, scope.description ?? ""),
      remove ? h("td", null, remove) : null,
    );
    if (remove) {
      whenConfirmed(
        remove,
        {
          title: `Delete the scope ${scope.key}?`,
          message:
            "Applications lose it, and new tokens no longer carry it. Tokens already issued keep it until they expire.",
          confirmLabel: "Delete scope",
          danger: true,
        },
        failure,
        async () => {
          await api("DELETE", `/apis/${details.id}/scopes/${scope.id}`);
          row.remove();
          if (!rows.firstChild) empty.hidden = false;
          notify(`Scope ${scope.key} deleted`);
        },
      );
    }
    rows.appendChild(row);
  };
  for (const scope of scopes) addRow(scope);
  empty.hidden = scopes.length > 0;
  if (details.is_management_api) {
    return section(
      "Scopes",
      h(
        "details",
        null,
        h("summary", null, `${scopes.length} scopes, one per Management API operation`),
        h("div", { class: "table-wrap" }, table),
      ),
    );
  }
  const key = field({
    label: "Scope",
    name: "key",
    required: true,
    placeholder: "read:orders",
    validate: scopeKeyProblem,
  });
  const description = field({
    label: "Description (optional)",
    name: "description",
    placeholder: "Read orders",
  });
  const form = h(
    "form",
    { novalidate: true, class: "inline-form" },
    key.element,
    description.element,
    h("button", { type: "submit", class: "primary" }, "Add scope"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!key.check()) return key.input.focus();
    await attempt(failure, async () => {
      const value = key.input.value.trim();
      const text = description.input.value.trim();
      const created = await api<{ scope: { id: string } }>("POST", `/apis/${details.id}/scopes`, {
        key: value,
        ...(text ? { description: text } : {}),
      });
      addRow({ id: created.scope.id, key: value, description: text || null });
      details.scopes.push({ id: created.scope.id, key: value });
      empty.hidden = true;
      key.input.value = "";
      description.input.value = "";
      key.input.focus();
      notify(`Scope ${value} added`);
    });
  });
  return section("Scopes", empty, table, form, failure);
}

/**
 * The scopes of an API a machine-to-machine application holds, as checkboxes that grant or
 * withdraw each at once (people's tokens carry the scopes their app requests instead).
 */
export function scopeGrants(
  label: string,
  apiId: string,
  applicationId: string,
  scopes: { id: string; key: string }[],
): HTMLElement {
  const list = h("div", { class: "grants" }, h("p", { class: "loading", role: "status" }, "Loading scopes…"));
  const failure = h("div");
  const summary = h("summary", null, label);
  const details = h("details", null, summary, list, failure);
  let loaded = false;
  details.addEventListener("toggle", async () => {
    if (!details.open || loaded) return;
    loaded = true;
    await attempt(failure, async () => {
      const held = await api<{ scopes: { id: string }[] }>(
        "GET",
        `/apis/${apiId}/applications/${applicationId}/scopes`,
      );
      const granted = new Set(held.scopes.map((s) => s.id));
      list.replaceChildren();
      if (scopes.length === 0) list.appendChild(h("p", { class: "muted" }, "This API has no scopes yet."));
      for (const scope of scopes) {
        const box = checkbox({ label: scope.key, name: `scope-${scope.id}`, checked: granted.has(scope.id) });
        saveOnToggle(box.input, failure, async (wanted) => {
          await api(
            wanted ? "POST" : "DELETE",
            `/apis/${apiId}/applications/${applicationId}/scopes/${scope.id}`,
          );
          notify(wanted ? `Granted ${scope.key}` : `Withdrew ${scope.key}`);
        });
        list.appendChild(box.element);
      }
    });
  });
  return details;
}

function applicationsSection(details: ApiDetails, config: DashboardConfig): HTMLElement {
  // The dashboard's own application has no switch: the API refuses every change to it
  // (dashboard-application.ts). It is listed only where it is authorised, to say so.
  // The Management API is offered to machine-to-machine applications only (management-access.ts);
  // others are listed only while they hold access, so it can be removed.
  const applications = details.applications.filter(
    (app) =>
      (app.id !== config.clientId || app.is_active) &&
      (!details.is_management_api || app.is_active || isMachine(app.type)),
  );
  if (applications.length === 0) {
    return section(
      "Applications",
      emptyState(
        "No applications yet",
        "Create an application, then come back to authorise it for this API.",
        h("a", { href: "/admin/applications", class: "button secondary" }, "Go to applications"),
      ),
    );
  }
  const list = h(
    "ul",
    { class: "rows" },
    applications.map((app) => {
      if (app.id === config.clientId)
        return h(
          "li",
          null,
          h("p", null, h("strong", null, app.name), " ", h("span", { class: "badge" }, "This dashboard")),
          h("p", { class: "hint" }, `Authorised. ${managedSentence(config.issuer)}`),
        );
      if (details.is_management_api)
        return h(
          "li",
          null,
          managementAccess(details, app, app.is_active, { label: app.name, detail: app.type }),
        );
      const toggle = checkbox({
        label: app.name,
        name: `app-${app.id}`,
        checked: app.is_active,
        hint: app.type,
      });
      const failure = h("div");
      const grants = h("div");
      const showGrants = () => {
        grants.replaceChildren();
        if (toggle.input.checked && /M2M/.test(app.type))
          grants.appendChild(
            scopeGrants(
              `Scopes of ${details.name} granted to ${app.name}`,
              details.id,
              app.id,
              details.scopes,
            ),
          );
      };
      showGrants();
      // Not saveOnToggle: the grants follow the box only once saving has settled.
      toggle.input.addEventListener("change", async () => {
        const wanted = toggle.input.checked;
        const ok = await attempt(failure, async () => {
          await api("PATCH", `/apis/${details.id}/applications`, {
            applications: [{ id: app.id, ...(wanted ? {} : { operation: "delete" }) }],
          });
          notify(wanted ? `${app.name} authorised` : `${app.name} no longer authorised`);
        });
        if (!ok) toggle.input.checked = !wanted;
        showGrants();
      });
      return h("li", null, toggle.element, grants, failure);
    }),
  );
  return section(
    "Applications",
    h(
      "p",
      { class: "muted" },
      "Authorised applications may ask for tokens for this API. Machine-to-machine apps get only the scopes granted here.",
    ),
    list,
  );
}

function apiDeleteSection(details: ApiDetails): HTMLElement {
  return deleteSection({
    heading: "Delete this API",
    note: "Tokens already issued stay valid until they expire.",
    label: "Delete API",
    title: `Delete ${details.name}?`,
    message:
      "Applications can no longer get tokens for it, and its scopes are removed. This cannot be undone.",
    work: async () => {
      await api("DELETE", `/apis/${details.id}`);
      notify(`${details.name} deleted`);
      navigate("/admin/apis");
    },
  });
}
