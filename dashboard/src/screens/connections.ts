// Settings › Authentication › Connections (issue 17): the providers people sign in through — Kinde's
// social strategies, Microsoft Entra ID, any OpenID provider (oidc:custom, found by discovery from
// its issuer) and plain OAuth 2.0 (oauth2:custom: endpoints and a userinfo mapping). A section of
// the Authentication page: list the connections with the applications they are enabled for, add,
// edit and delete them, and enable or disable each per application. The callback URL to register
// at the provider is one for all connections and shown where it is needed.
//
// The client secret is write-only (the API answers only has_client_secret): the screen shows "set"
// and offers "Replace", never a value.
//
// The form is in connection-form.ts.
//
// "Test connection" asks Latchkey for a single-use link (POST /connections/{id}/test, an
// extension) and offers it to open in a new tab: the administrator signs in once at the provider
// and sees the claims it sends, with nothing linked, created or signed in (sign-in/connection-test.ts).
//
// Per-organization enablement is on the organization's page (organization-connections.ts).
//
// Management API: GET/POST /connections, GET/PUT/DELETE /connections/{id}, GET /applications,
// POST/DELETE /applications/{id}/connections/{connection_id}, POST /connections/{id}/test.
import { ApiFailure, api, query } from "../api.js";
import type { DashboardConfig } from "../auth.js";
import {
  type Child,
  checkbox,
  confirmAction,
  emptyState,
  h,
  notify,
  openDialog,
  replace,
  uid,
} from "../dom.js";
import { attempt, scopesMissing, section } from "../view.js";
import { formDialog, whenConfirmed } from "../widgets.js";
import {
  type Connection,
  callbackBox,
  connectionForm,
  isEnterprise,
  strategyLabel,
} from "./connection-form.js";

interface Application {
  id: string;
  name: string;
  type: string;
}
// ---- loading ------------------------------------------------------------------------------------

export async function loadConnections(): Promise<Connection[]> {
  const items: { id: string }[] = [];
  let after: string | undefined;
  do {
    const page = await api<{ connections: { id: string }[]; has_more: boolean }>(
      "GET",
      `/connections${query({ page_size: 100, starting_after: after })}`,
    );
    items.push(...page.connections);
    after = page.has_more ? page.connections.at(-1)?.id : undefined;
  } while (after && items.length < 1000);
  // The list item has no options nor applications: each connection is read whole. One deleted
  // in between (by another administrator) is left out rather than failing the section.
  const read = await Promise.all(
    items.map((item) =>
      api<{ connection: Connection }>("GET", `/connections/${encodeURIComponent(item.id)}`).then(
        (r) => r.connection,
        (error: unknown) => {
          if (error instanceof ApiFailure && error.code === "CONNECTION_NOT_FOUND") return undefined;
          throw error;
        },
      ),
    ),
  );
  return read.filter((c): c is Connection => c !== undefined);
}

/** The applications a connection can be enabled for: a machine has no sign-in page. */
async function loadSignInApplications(): Promise<Application[]> {
  const applications: Application[] = [];
  let next: string | undefined;
  do {
    const page = await api<{ applications: Application[]; next_token?: string }>(
      "GET",
      `/applications${query({ sort: "name_asc", page_size: 100, next_token: next })}`,
    );
    applications.push(...page.applications);
    next = page.next_token ?? undefined;
  } while (next && applications.length < 1000);
  return applications.filter((a) => a.type !== "m2m");
}

/**
 * The Connections section of Settings › Authentication. A sign-in made before the dashboard asked
 * for the connection scopes is refused (403): the section says so instead of failing the page.
 */
export async function connectionsSection(config: DashboardConfig): Promise<HTMLElement> {
  let loaded: [Connection[], Application[]];
  try {
    loaded = await Promise.all([loadConnections(), loadSignInApplications()]);
  } catch (error) {
    const refused = scopesMissing(error, "connections");
    if (refused) return section("Connections", refused);
    throw error;
  }
  return new ConnectionsList(config, ...loaded).element;
}

class ConnectionsList {
  readonly element: HTMLElement;
  private readonly list = h("div", { class: "connection-list" });
  private readonly failure = h("div");
  private readonly addButton = h(
    "button",
    { type: "button", class: "primary", onclick: () => this.openAdd() },
    "Add connection",
  );

  constructor(
    private readonly config: DashboardConfig,
    private connections: Connection[],
    private readonly applications: Application[],
  ) {
    this.element = section(
      "Connections",
      h(
        "p",
        { class: "muted" },
        "Let people sign in with an account they already have: Google, GitHub, Microsoft, or your company's own OpenID provider. Each connection is offered on the sign-in page of the applications you enable it for.",
      ),
      callbackBox(config),
      h("div", { class: "actions connections-add" }, this.addButton),
      this.failure,
      this.list,
    );
    this.element.classList.add("connections");
    // Where focus goes when the last connection is deleted.
    this.element.querySelector("h2")?.setAttribute("tabindex", "-1");
    this.render();
  }

  private render(): void {
    this.addButton.hidden = this.connections.length === 0;
    if (this.connections.length === 0) {
      replace(
        this.list,
        emptyState(
          "No connections yet",
          "Add one, register the callback URL above at the provider, then enable the connection for your applications.",
          h("button", { type: "button", class: "primary", onclick: () => this.openAdd() }, "Add connection"),
        ),
      );
      return;
    }
    replace(
      this.list,
      this.connections.map((connection) => this.item(connection)),
    );
  }

  private async reload(): Promise<void> {
    this.connections = await loadConnections();
    this.render();
  }

  private focusIn(id: string, selector?: string): void {
    const item = this.list.querySelector<HTMLElement>(`section[data-connection="${CSS.escape(id)}"]`);
    const target =
      (selector ? item?.querySelector<HTMLElement>(selector) : null) ??
      item?.querySelector<HTMLElement>("h3");
    target?.focus();
  }

  private openAdd(): void {
    const form = connectionForm(this.config, undefined);
    formDialog({
      title: "Add a connection",
      description: "Register an app (client) at the provider first; it gives you the client ID and secret.",
      wide: true,
      content: form.content,
      fields: form.fields,
      submitLabel: "Add connection",
      submit: async (dialog) => {
        const body = { strategy: form.strategy(), ...form.body() };
        let created: { connection: { id: string } };
        try {
          created = await api<{ connection: { id: string } }>("POST", "/connections", body);
        } catch (error) {
          if (form.showProblem(error)) return;
          throw error;
        }
        dialog.close();
        await attempt(this.failure, () => this.reload());
        notify(`Connection ${body.display_name} added. Enable it for an application to offer it.`);
        this.focusIn(created.connection.id);
      },
    });
  }

  private openEdit(connection: Connection): void {
    const form = connectionForm(this.config, connection);
    formDialog({
      title: `Edit ${connection.display_name}`,
      description: `${strategyLabel(connection.strategy)}. The kind of connection cannot change: add a new one for another provider.`,
      wide: true,
      content: form.content,
      fields: form.fields,
      submit: async (dialog) => {
        const body = form.body();
        try {
          // PUT, not PATCH: PATCH merges options one by one, so an option cleared here (scopes
          // back to the default, a tenant domain given up for the common endpoint) would stay.
          // PUT keeps the sealed secret while the client ID stays (connections.service.ts replace);
          // options this form does not show are carried over from the read-back (form.body).
          await api("PUT", `/connections/${encodeURIComponent(connection.id)}`, body);
        } catch (error) {
          if (form.showProblem(error)) return;
          throw error;
        }
        dialog.close();
        await attempt(this.failure, () => this.reload());
        notify(`Connection ${body.display_name} saved`);
        this.focusIn(connection.id, '[data-action="edit"]');
      },
    });
  }

  private item(connection: Connection): HTMLElement {
    const headingId = uid("connection");
    const failure = h("div");
    const options = connection.options;
    const facts: [string, Child][] = [
      ["Kind", strategyLabel(connection.strategy)],
      ["Name", connection.name],
      ["Client ID", h("span", { class: "mono" }, options.client_id ?? "—")],
      ["Client secret", connection.has_client_secret ? "Set (hidden)" : "Not set"],
    ];
    if (options.issuer) facts.push(["Issuer", h("span", { class: "mono" }, options.issuer)]);
    if (options.authorization_endpoint)
      facts.push(["Authorization endpoint", h("span", { class: "mono" }, options.authorization_endpoint)]);
    if (connection.strategy === "oauth2:azure_ad")
      facts.push([
        "Tenant",
        options.is_use_common_endpoint ? "Any (common endpoint)" : (options.entra_id_domain ?? "—"),
      ]);
    facts.push(["Trusted", options.is_trusted ? "Yes: verified e-mail links to existing accounts" : "No"]);
    if (isEnterprise(connection.strategy))
      facts.push([
        "Home-realm domains",
        options.home_realm_domains?.length ? options.home_realm_domains.join(", ") : "None",
      ]);
    if (connection.organization_code)
      facts.push(["Managed by organization", h("span", { class: "mono" }, connection.organization_code)]);

    const edit = h(
      "button",
      { type: "button", class: "secondary", "data-action": "edit", onclick: () => this.openEdit(connection) },
      "Edit",
    );
    const test = h(
      "button",
      {
        type: "button",
        class: "secondary",
        "data-action": "test",
        onclick: () => attempt(failure, () => openTest(connection)),
      },
      "Test connection",
    );
    const remove = h("button", { type: "button", class: "danger", "data-action": "delete" }, "Delete");
    whenConfirmed(
      remove,
      {
        title: `Delete ${connection.display_name}?`,
        message:
          "It disappears from every sign-in page it is offered on, and people who signed in only through it need another way in. This cannot be undone.",
        confirmLabel: "Delete connection",
        danger: true,
      },
      failure,
      async () => {
        await api("DELETE", `/connections/${encodeURIComponent(connection.id)}`);
        await this.reload();
        notify(`Connection ${connection.display_name} deleted`);
        (
          this.list.querySelector<HTMLElement>("section[data-connection] h3") ??
          this.element.querySelector<HTMLElement>("h2")
        )?.focus();
      },
    );

    return h(
      "section",
      { class: "connection", "data-connection": connection.id, "aria-labelledby": headingId },
      h("h3", { id: headingId, class: "connection-title", tabindex: "-1" }, connection.display_name),
      h(
        "dl",
        { class: "facts" },
        facts.map(([term, value]) => [h("dt", null, term), h("dd", null, value)]),
      ),
      this.enablement(connection, failure),
      h("div", { class: "actions connection-actions" }, test, edit, remove),
      failure,
    );
  }

  /** A checkbox per application that signs people in; each saves at once. */
  private enablement(connection: Connection, failure: HTMLElement): HTMLElement {
    const enabled = new Set(connection.enabled_applications);
    const none = h(
      "p",
      { class: "hint" },
      "Not offered on any sign-in page yet: tick the applications that should offer it.",
    );
    none.hidden = enabled.size > 0;
    const boxes = this.applications.map((application) => {
      const dashboard = application.id === this.config.clientId;
      const choice = checkbox({
        label: dashboard ? `${application.name} (this dashboard)` : application.name,
        name: "enabled_applications",
        checked: enabled.has(application.id),
        hint: dashboard ? "Warning: this changes how administrators sign in to this dashboard." : undefined,
      });
      if (dashboard) choice.element.querySelector(".hint")?.classList.add("dashboard-warning");
      const box = choice.input;
      box.addEventListener("change", async () => {
        const wanted = box.checked;
        if (dashboard && !(await confirmDashboard(connection, wanted))) {
          box.checked = !wanted;
          return;
        }
        const path = `/applications/${encodeURIComponent(application.id)}/connections/${encodeURIComponent(connection.id)}`;
        box.disabled = true;
        const ok = await attempt(failure, async () => {
          await api(wanted ? "POST" : "DELETE", path);
          if (wanted) enabled.add(application.id);
          else enabled.delete(application.id);
          connection.enabled_applications = [...enabled];
          none.hidden = enabled.size > 0;
          notify(
            wanted
              ? `${connection.display_name} enabled for ${application.name}`
              : `${connection.display_name} disabled for ${application.name}`,
          );
        });
        box.disabled = false;
        // A refused change springs back: the box never shows what the server does not have.
        if (!ok) box.checked = !wanted;
        box.focus();
      });
      return choice.element;
    });
    return h(
      "fieldset",
      { class: "connection-apps" },
      h("legend", null, "Enabled for"),
      boxes.length > 0 ? boxes : h("p", { class: "hint" }, "No application signs people in yet."),
      none,
    );
  }
}

/**
 * A test link for the connection, offered to open in a new tab (a link the administrator follows,
 * so no pop-up blocker stands in the way, and this screen stays as it is).
 */
async function openTest(connection: Connection): Promise<void> {
  const { authorization_url: url, expires_in: seconds } = await api<{
    authorization_url: string;
    expires_in: number;
  }>("POST", `/connections/${encodeURIComponent(connection.id)}/test`);
  const handle = openDialog({
    title: `Test ${connection.display_name}`,
    description: `Sign in once through ${connection.display_name}, in a new tab, to see what it says about you.`,
    content: [
      h(
        "p",
        null,
        "Latchkey checks the answer as for any sign-in and then shows the claims it received. Nothing is linked, no account is created or changed, and you stay signed in here as you are.",
      ),
      h(
        "p",
        { class: "hint" },
        `The link works once, within ${Math.round(seconds / 60)} minutes. Use an account at the provider that you may show here.`,
      ),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "secondary", onclick: () => handle.close() }, "Done"),
        h(
          "a",
          { class: "button primary", href: url, target: "_blank", rel: "noopener noreferrer" },
          "Open the test sign-in",
        ),
      ),
    ],
  });
  handle.body.querySelector<HTMLElement>("a.button")?.focus();
}

/** Enabling or disabling a connection on the dashboard changes how administrators get in. */
function confirmDashboard(connection: Connection, enable: boolean): Promise<boolean> {
  return confirmAction(
    enable
      ? {
          title: `Offer ${connection.display_name} on the dashboard's sign-in?`,
          message:
            "Administrators will be able to sign in to this dashboard through it: an account at this provider becomes a way into the admin dashboard. Enable it only for a provider your organization controls.",
          confirmLabel: "Enable for the dashboard",
        }
      : {
          title: `Stop offering ${connection.display_name} on the dashboard's sign-in?`,
          message:
            "Administrators who sign in through it will need their password or an e-mail code to reach the dashboard.",
          confirmLabel: "Disable for the dashboard",
        },
  );
}
