// Access to Latchkey's own Management API, on an application's page and on the Management API's
// page. It is never one tick: a machine-to-machine application is authorised through a dialog that
// says what the access means and asks for each scope, none chosen to start with; an application
// people sign in to is not offered it at all, because the Management API admits people's tokens
// only through this dashboard (src/management/auth.ts) — authorising one would grant nothing but
// would read as if it did. Access already given (by an older version, or the API) can be removed.
import { api } from "../api.js";
import { checkbox, h, notify, openDialog, uid } from "../dom.js";
import { attempt, navigate } from "../view.js";
import { whenConfirmed } from "../widgets.js";
import { scopeGrants } from "./apis.js";

export interface ManagementApi {
  id: string;
  name: string;
  scopes: { id: string; key: string }[];
}

export interface ManagedApplication {
  id: string;
  name: string;
  /** reg, spa, m2m, device — or the API's labels ("M2M" …) on the API's page. */
  type: string;
}

export function isMachine(type: string): boolean {
  return type === "m2m" || /M2M/.test(type);
}

/** The sentence every Management API choice carries. */
export const MANAGEMENT_WARNING =
  "The Management API controls all of Latchkey. An application holding its scopes acts without anyone signing in, and so does anyone who has its client secret: with create:users it makes accounts, with update:applications it changes where sign-ins are sent. Choose only the scopes this service needs.";

/** Draws the page again, so every section shows the access as it now is. */
function redraw(): void {
  navigate(location.pathname, { replace: true });
}

/**
 * The dialog that authorises `application` with the scopes ticked in it: a filter for the long
 * list, a running count, and a button that names the count (disabled at none).
 */
export function authoriseDialog(managementApi: ManagementApi, application: ManagedApplication): void {
  const warningId = uid("management-warning");
  const filterId = uid("scope-filter");
  const countId = uid("scope-count");
  const failure = h("div");
  const scopes = [...managementApi.scopes].sort((a, b) => a.key.localeCompare(b.key));
  const boxes = scopes.map((scope) => ({
    scope,
    ...checkbox({ label: scope.key, name: `grant-${scope.id}` }),
  }));
  const count = h("p", { id: countId, class: "muted", role: "status" });
  const submit = h("button", { type: "submit", class: "danger" });
  const chosen = () => boxes.filter((b) => b.input.checked);
  const update = () => {
    const n = chosen().length;
    count.textContent = n === 0 ? "No scope chosen yet." : `${n} of ${boxes.length} scopes chosen.`;
    submit.textContent =
      n === 0 ? "Choose at least one scope" : `Authorise with ${n} scope${n === 1 ? "" : "s"}`;
    submit.disabled = n === 0;
  };
  for (const box of boxes) box.input.addEventListener("change", update);
  const filter = h("input", { id: filterId, type: "search", autocomplete: "off", spellcheck: "false" });
  filter.addEventListener("input", () => {
    const text = filter.value.trim().toLowerCase();
    for (const box of boxes) box.element.hidden = text !== "" && !box.scope.key.includes(text);
  });
  const form = h(
    "form",
    { novalidate: true },
    h("p", { id: warningId, class: "alert error" }, MANAGEMENT_WARNING),
    h("div", { class: "field" }, h("label", { for: filterId }, "Filter scopes"), filter),
    h(
      "fieldset",
      { class: "scope-choice", "aria-describedby": countId },
      h("legend", null, "Scopes to grant"),
      boxes.map((b) => b.element),
    ),
    count,
    failure,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "secondary", onclick: () => handle.close() }, "Cancel"),
      submit,
    ),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const picked = chosen();
    if (picked.length === 0) return;
    const ok = await attempt(failure, async () => {
      await api("PATCH", `/apis/${managementApi.id}/applications`, {
        applications: [{ id: application.id }],
      });
      for (const { scope } of picked)
        await api("POST", `/apis/${managementApi.id}/applications/${application.id}/scopes/${scope.id}`);
    });
    if (!ok) return;
    handle.close();
    notify(
      `${application.name} can call the Management API with ${picked.length} scope${picked.length === 1 ? "" : "s"}`,
    );
    redraw();
  });
  update();
  // openDialog focuses the filter, the first field: the warning is read with the dialog's name.
  const handle = openDialog({
    title: `Give ${application.name} Management API access`,
    wide: true,
    content: [form],
  });
  handle.dialog.setAttribute("aria-describedby", warningId);
}

/** "Remove access" behind a confirmation: deauthorising withdraws every scope granted with it. */
function removeButton(managementApi: ManagementApi, application: ManagedApplication, failure: HTMLElement) {
  const button = h("button", { type: "button", class: "secondary small" }, "Remove access");
  whenConfirmed(
    button,
    {
      title: `Remove ${application.name}'s Management API access?`,
      message:
        "Its scopes are withdrawn at once: tokens it already holds stop working with the Management API.",
      confirmLabel: "Remove access",
      danger: true,
    },
    failure,
    async () => {
      await api("PATCH", `/apis/${managementApi.id}/applications`, {
        applications: [{ id: application.id, operation: "delete" }],
      });
      notify(`${application.name} no longer has Management API access`);
      redraw();
    },
  );
  return button;
}

/**
 * The Management API's entry for one application: its access and the scopes it holds (with a way
 * to remove it), the button that opens the authorising dialog, or why there is nothing to give.
 */
export function managementAccess(
  managementApi: ManagementApi,
  application: ManagedApplication,
  authorized: boolean,
  options: { label: string; detail?: string },
): HTMLElement {
  const failure = h("div");
  const title = () =>
    h(
      "p",
      null,
      h("strong", null, options.label),
      options.detail ? h("span", { class: "muted" }, ` · ${options.detail}`) : null,
      authorized ? h("span", { class: "badge warn" }, "Management API access") : null,
    );
  const machine = isMachine(application.type);
  if (authorized) {
    return h(
      "div",
      { class: "management-access" },
      title(),
      machine
        ? scopeGrants(
            `Management API scopes granted to ${application.name}`,
            managementApi.id,
            application.id,
            managementApi.scopes,
          )
        : h(
            "p",
            { class: "hint" },
            "This application is authorised, but people's tokens reach the Management API only through the dashboard: it grants nothing. Remove it.",
          ),
      h("div", { class: "row-actions" }, removeButton(managementApi, application, failure)),
      failure,
    );
  }
  if (!machine) {
    return h(
      "div",
      { class: "management-access" },
      title(),
      h(
        "p",
        { class: "hint" },
        "Not offered: people's tokens reach the Management API only through this dashboard. To call it from your back end, add a machine-to-machine application and give it the scopes it needs.",
      ),
    );
  }
  const open = h(
    "button",
    { type: "button", class: "secondary small", onclick: () => authoriseDialog(managementApi, application) },
    "Give Management API access…",
  );
  return h(
    "div",
    { class: "management-access" },
    title(),
    h("p", { class: "hint" }, "No access. Give it only the scopes it needs; each is chosen on its own."),
    h("div", { class: "row-actions" }, open),
    failure,
  );
}
