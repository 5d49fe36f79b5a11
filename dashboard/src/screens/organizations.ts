// Organizations: the tenants people sign in "into" (org_code in their tokens). A paged list,
// creating one, and one organization's page — name and handle, members (add by user ID or email,
// give roles, remove), invitations (invitations.ts), its own feature flag values, and deletion (never of the default one).
import { api, query } from "../api.js";
import { checkbox, copyable, emptyState, field, formatDate, h, notify, openDialog, replace } from "../dom.js";
import { addressedList, fetchListPage } from "../list-state.js";
import { attempt, errorBox, leftScreen, load, navigate, pageHeader, type Screen, section } from "../view.js";
import {
  deleteSection,
  formDialog,
  linkCell,
  listTable,
  pageForm,
  saveOnToggle,
  visuallyHidden,
  whenConfirmed,
} from "../widgets.js";
import {
  type FeatureFlag,
  type FlagType,
  loadFlags,
  overridableByOrganization,
  shownValue,
  valueControl,
} from "./feature-flags.js";
import { invitationsSection } from "./invitations.js";
import { organizationMfaSection } from "./mfa.js";
import { organizationBrandingSection } from "./organization-branding.js";
import { organizationConnectionsSection } from "./organization-connections.js";
import { organizationDirectorySection } from "./organization-directory.js";
import { organizationSessionsSection } from "./organization-sessions.js";
import { loadRoles, type Role } from "./roles.js";

const PAGE_SIZE = 25;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

interface OrganizationSummary {
  code: string;
  name: string;
  handle: string | null;
  is_default: boolean;
}

interface Organization extends OrganizationSummary {
  created_on: string;
}

interface Member {
  id: string;
  email: string | null;
  full_name: string;
  joined_on: string;
  is_suspended: boolean;
  /** Role keys. */
  roles: string[];
}

const nameProblem = (v: string) => (v.trim().length > 128 ? "Use at most 128 characters" : undefined);
const handleProblem = (v: string) =>
  v.trim().length > 255 ? "Use at most 255 characters" : /\s/.test(v.trim()) ? "Use no spaces" : undefined;

/**
 * A list shown one page at a time with Kinde's next_token: Previous goes back through the tokens
 * of the pages seen, so every page costs the same.
 */
function pagedList<T>(options: {
  label: string;
  fetch: (token: string | undefined) => Promise<{ items: T[]; next: string | null }>;
  empty: () => HTMLElement;
  render: (items: T[]) => HTMLElement;
}): { element: HTMLElement; show(token?: string): Promise<void>; refresh(): Promise<void> } {
  const element = h("div", { "aria-live": "polite" });
  const previous: (string | undefined)[] = [];
  let current: string | undefined;
  const show = async (token?: string) => {
    try {
      const page = await options.fetch(token);
      current = token;
      if (page.items.length === 0 && previous.length > 0) return show(previous.pop());
      if (page.items.length === 0) return replace(element, options.empty());
      const prev = h(
        "button",
        { type: "button", class: "secondary", disabled: previous.length === 0 },
        "Previous page",
      );
      const next = h("button", { type: "button", class: "secondary", disabled: !page.next }, "Next page");
      prev.addEventListener("click", () => void show(previous.pop()));
      next.addEventListener("click", () => {
        previous.push(current);
        void show(page.next ?? undefined);
      });
      replace(
        element,
        options.render(page.items),
        previous.length > 0 || page.next
          ? h(
              "div",
              { class: "pager", "aria-label": `${options.label} pages`, role: "group" },
              prev,
              h("span", { class: "muted small" }, `Page ${previous.length + 1}`),
              next,
            )
          : null,
      );
    } catch (error) {
      if (!leftScreen(error)) replace(element, errorBox(error));
    }
  };
  return { element, show, refresh: () => show(current) };
}

export const listOrganizations: Screen = async (view) => {
  const header = pageHeader("Organizations", {
    lead: "The businesses or teams your users belong to. People sign in to one, and their tokens carry its code, roles and permissions.",
    actions: [
      h("button", { type: "button", class: "primary", onclick: () => createDialog() }, "Add organization"),
    ],
  });
  // Newest first (or by name), a page at a time, searched by the start of the name (list-state.ts).
  await addressedList<OrganizationSummary>(view, {
    path: "/admin/organizations",
    header,
    label: "Find an organization",
    hint: "The start of its name.",
    sorts: [
      { value: "created_on_desc", label: "Newest first" },
      { value: "name_asc", label: "By name" },
    ],
    noun: ["organization", "organizations"],
    fetch: (state) =>
      fetchListPage<OrganizationSummary>("organizations", {
        sort: state.sort,
        page_size: PAGE_SIZE,
        next_token: state.after,
        starts_with: state.q || undefined,
      }),
    empty: (state) =>
      state.q
        ? emptyState(
            "No organization matches",
            "Search for the start of an organization's name, or clear the search.",
          )
        : emptyState(
            "No organizations yet",
            "Add an organization for each business or team that uses your app, then add its members.",
            h(
              "button",
              { type: "button", class: "primary", onclick: () => createDialog() },
              "Add your first organization",
            ),
          ),
    render: (organizations) =>
      listTable("Organizations", ["Name", "Code", "Handle"], organizations, (org) => [
        linkCell(
          `/admin/organizations/${org.code}`,
          org.name,
          org.is_default ? h("span", { class: "badge" }, "Default") : null,
        ),
        h("td", { class: "mono" }, org.code),
        h("td", null, org.handle ?? "—"),
      ]),
  });
};

function createDialog(): void {
  const name = field({
    label: "Name",
    name: "name",
    required: true,
    placeholder: "e.g. Acme Inc.",
    validate: nameProblem,
  });
  const handle = field({
    label: "Handle (optional)",
    name: "handle",
    placeholder: "acme",
    hint: "A unique short name for the organization.",
    validate: handleProblem,
  });
  formDialog({
    title: "Add an organization",
    content: [name.element, handle.element],
    fields: [name, handle],
    submit: async (dialog) => {
      const text = handle.input.value.trim();
      const created = await api<{ organization: { code: string } }>("POST", "/organization", {
        name: name.input.value.trim(),
        ...(text ? { handle: text } : {}),
      });
      dialog.close();
      notify("Organization created");
      navigate(`/admin/organizations/${created.organization.code}`);
    },
  });
}

export const organizationDetails: Screen = async (view) => {
  const code = view.params[0]!;
  await load(view, async () => {
    const path = `/organizations/${encodeURIComponent(code)}`;
    const rolesLoaded = loadRoles();
    const [org, roles, flags, values, mfa, connections, directory, sessions] = await Promise.all([
      api<Organization>("GET", `/organization${query({ code })}`),
      rolesLoaded,
      loadFlags(),
      api<{ feature_flags: Record<string, { type: FlagType; value: string }> }>(
        "GET",
        `${path}/feature_flags`,
      ).then((r) => r.feature_flags),
      organizationMfaSection(code),
      organizationConnectionsSection(code),
      organizationDirectorySection(code, rolesLoaded),
      organizationSessionsSection(code),
    ]);
    const members = membersSection(org, roles);
    const invitations = invitationsSection(org, roles);
    await Promise.all([members.ready, invitations.ready]);
    return [
      pageHeader(org.name, {
        back: { href: "/admin/organizations", label: "Organizations" },
        lead: [
          h("code", null, org.code),
          org.is_default ? h("span", { class: "badge" }, "Default organization") : null,
        ],
      }),
      detailsSection(org),
      members.element,
      invitations.element,
      flagsSection(org, flags, values),
      mfa,
      connections,
      directory,
      sessions,
      organizationBrandingSection(org.code, org.name),
      organizationDeleteSection(org),
    ];
  });
};

function detailsSection(org: Organization): HTMLElement {
  const name = field({
    label: "Name",
    name: "name",
    required: true,
    value: org.name,
    validate: nameProblem,
  });
  const handle = field({
    label: "Handle (optional)",
    name: "handle",
    value: org.handle ?? "",
    hint: "A unique short name for the organization. Leave empty for none.",
    validate: handleProblem,
  });
  const form = pageForm({
    content: [h("div", { class: "grid-2" }, name.element, handle.element)],
    fields: [name, handle],
    submitLabel: "Save details",
    submit: async () => {
      const saved = { name: name.input.value.trim(), handle: handle.input.value.trim() };
      // An empty handle removes it (the server stores blank text as none).
      await api("PATCH", `/organization/${encodeURIComponent(org.code)}`, saved);
      org.name = saved.name;
      org.handle = saved.handle || null;
      const heading = document.querySelector("h1");
      if (heading) heading.textContent = saved.name;
      document.title = `${saved.name} · Latchkey`;
      notify("Organization saved");
    },
  });
  return section(
    "Details",
    copyable("Organization code", org.code),
    h("dl", { class: "facts" }, h("dt", null, "Created"), h("dd", null, formatDate(org.created_on))),
    form,
  );
}

function memberName(member: Member): string {
  return member.full_name || member.email || member.id;
}

function membersSection(org: Organization, roles: Role[]): { element: HTMLElement; ready: Promise<void> } {
  const base = `/organizations/${encodeURIComponent(org.code)}/users`;
  const roleName = (key: string) => roles.find((r) => r.key === key)?.name ?? key;
  const failure = h("div");
  const list = pagedList<Member>({
    label: "Members",
    fetch: async (token) => {
      const page = await api<{ organization_users: Member[]; next_token?: string }>(
        "GET",
        `${base}${query({ page_size: PAGE_SIZE, next_token: token })}`,
      );
      return { items: page.organization_users, next: page.next_token ?? null };
    },
    empty: () =>
      h(
        "p",
        { class: "muted" },
        "No members yet. Add people by their user ID or email address below; they can then sign in to this organization.",
      ),
    render: (members) =>
      listTable(
        "Members",
        ["Name", "Email", "Roles", "Joined", visuallyHidden("Actions")],
        members,
        (member) => {
          const name = memberName(member);
          const editRoles = h(
            "button",
            {
              type: "button",
              class: "secondary small",
              "aria-label": `Roles of ${name}`,
              onclick: () => memberRolesDialog(org, member, roles, () => void list.refresh()),
            },
            "Roles",
          );
          const remove = h(
            "button",
            { type: "button", class: "secondary small", "aria-label": `Remove ${name}` },
            "Remove",
          );
          whenConfirmed(
            remove,
            {
              title: `Remove ${name} from ${org.name}?`,
              message:
                "They lose their roles and permissions in this organization, and tokens signed into it stop working. Their user account stays.",
              confirmLabel: "Remove member",
              danger: true,
            },
            failure,
            async () => {
              await api("DELETE", `${base}/${encodeURIComponent(member.id)}`);
              notify(`${name} removed from ${org.name}`);
              await list.refresh();
            },
          );
          return [
            linkCell(
              `/admin/users/${member.id}`,
              name,
              member.is_suspended ? h("span", { class: "badge warn" }, "Suspended") : null,
            ),
            h("td", null, member.email ?? "—"),
            h("td", null, member.roles.length ? member.roles.map(roleName).join(", ") : "—"),
            h("td", null, formatDate(member.joined_on)),
            h("td", null, h("div", { class: "row-actions" }, editRoles, remove)),
          ];
        },
      ),
  });

  const who = field({
    label: "User ID or email",
    name: "member",
    required: true,
    placeholder: "kp_… or name@example.com",
    validate: (v) => {
      const value = v.trim();
      if (value.includes("@"))
        return EMAIL.test(value) ? undefined : "Enter an email address like name@example.com";
      return /^[A-Za-z0-9_-]{1,100}$/.test(value) ? undefined : "Enter a user ID (kp_…) or an email address";
    },
  });
  const form = h(
    "form",
    { novalidate: true, class: "inline-form", "aria-label": "Add a member" },
    who.element,
    h("button", { type: "submit", class: "primary" }, "Add member"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!who.check()) return who.input.focus();
    await attempt(failure, async () => {
      const value = who.input.value.trim();
      let id = value;
      if (value.includes("@")) {
        const found = await api<{ users: { id: string }[] }>("GET", `/users${query({ email: value })}`);
        const user = found.users[0];
        if (!user) {
          who.setError(`No user has the email address ${value}. Add them on the Users page first.`);
          who.input.focus();
          return;
        }
        id = user.id;
      }
      const added = await api<{ users_added: string[] }>("POST", base, { users: [{ id }] });
      who.input.value = "";
      notify(added.users_added.length ? `${value} added to ${org.name}` : `${value} is already a member`);
      await list.show();
    });
  });
  const element = section(
    "Members",
    h(
      "p",
      { class: "muted" },
      "People who belong to this organization. New members get the roles marked as default.",
    ),
    list.element,
    form,
    failure,
  );
  return { element, ready: list.show() };
}

function memberRolesDialog(org: Organization, member: Member, roles: Role[], onClose: () => void): void {
  const name = memberName(member);
  const base = `/organizations/${encodeURIComponent(org.code)}/users/${encodeURIComponent(member.id)}/roles`;
  const failure = h("div");
  const held = new Set(member.roles);
  const done = h("button", { type: "button", class: "primary", onclick: () => handle.close() }, "Done");
  const content =
    roles.length === 0
      ? [
          h(
            "p",
            null,
            "There are no roles yet. Add roles such as Admin or Viewer on the Roles & permissions page, then come back.",
          ),
          h(
            "div",
            { class: "actions" },
            h(
              "a",
              { href: "/admin/roles", class: "button secondary", onclick: () => handle.close() },
              "Go to roles & permissions",
            ),
            done,
          ),
        ]
      : [
          h(
            "div",
            { class: "grants", role: "group", "aria-label": `Roles of ${name}` },
            roles.map((role) => {
              const box = checkbox({
                label: role.name,
                name: `role-${role.id}`,
                checked: held.has(role.key),
                hint: role.key,
              });
              saveOnToggle(box.input, failure, async (wanted) => {
                if (wanted) await api("POST", base, { role_id: role.id });
                else await api("DELETE", `${base}/${encodeURIComponent(role.id)}`);
                notify(
                  wanted ? `${name} now has the role ${role.name}` : `${name} no longer has ${role.name}`,
                );
              });
              return box.element;
            }),
          ),
          failure,
          h("div", { class: "actions" }, done),
        ];
  const handle = openDialog({
    title: `Roles of ${name}`,
    description: `In ${org.name}. Changes reach their tokens at the next refresh.`,
    content,
    onClose,
  });
}

function flagsSection(
  org: Organization,
  flags: FeatureFlag[],
  values: Record<string, { type: FlagType; value: string }>,
): HTMLElement {
  if (flags.length === 0) {
    return section(
      "Feature flags",
      h(
        "p",
        { class: "muted" },
        "No feature flags yet. ",
        h("a", { href: "/admin/feature-flags" }, "Add a feature flag"),
        ", then give this organization its own value here.",
      ),
    );
  }
  const items = flags.map((flag) => {
    const fallback = flag.environment_value ?? flag.default_value;
    const state = h("span", { class: "badge" });
    const showState = (value: string) => {
      const own = value !== fallback;
      state.textContent = own ? "Own value" : "Same as default";
      state.classList.toggle("accent", own);
    };
    const current = values[flag.key]?.value ?? fallback;
    showState(current);
    const title = h(
      "div",
      { class: "row-line" },
      h("h3", null, flag.name, " ", h("code", { class: "key" }, flag.key)),
      state,
    );
    if (!overridableByOrganization(flag)) {
      state.textContent = "Not overridable";
      return h(
        "li",
        null,
        title,
        h(
          "p",
          { class: "muted small" },
          `Everyone gets ${shownValue(flag.type, fallback)}: this flag cannot be overridden per organization.`,
        ),
      );
    }
    const control = valueControl(flag.type, {
      label: `Value of ${flag.key} for this organization`,
      name: `flag-${flag.key}`,
      value: current,
      hint: `Default: ${shownValue(flag.type, fallback)}.`,
    });
    const failure = h("div");
    const reset = h(
      "button",
      { type: "button", class: "secondary", "aria-label": `Use default for ${flag.key}` },
      "Use default",
    );
    const flagPath = `/organizations/${encodeURIComponent(org.code)}/feature_flags/${encodeURIComponent(flag.key)}`;
    reset.addEventListener("click", async () => {
      await attempt(failure, async () => {
        await api("DELETE", flagPath);
        showState(fallback);
        const input = form.querySelector<HTMLInputElement | HTMLSelectElement>("input, select");
        if (input) input.value = fallback;
        notify(`${org.name} uses the default value of ${flag.key}`);
      });
    });
    const form = h(
      "form",
      { novalidate: true, class: "inline-form" },
      control.element,
      h(
        "button",
        { type: "submit", class: "primary", "aria-label": `Save the value of ${flag.key}` },
        "Save",
      ),
      reset,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!control.check()) return control.focus();
      await attempt(failure, async () => {
        const value = control.value();
        // Kinde takes the override as a query parameter.
        await api("PATCH", `${flagPath}${query({ value })}`);
        showState(value);
        notify(`${flag.key} is ${shownValue(flag.type, value)} for ${org.name}`);
      });
    });
    return h("li", null, title, form, failure);
  });
  return section(
    "Feature flags",
    h(
      "p",
      { class: "muted" },
      "This organization's members get these values in their tokens, unless a user has their own.",
    ),
    h("ul", { class: "rows flags" }, items),
  );
}

function organizationDeleteSection(org: Organization): HTMLElement {
  if (org.is_default) {
    return section(
      "Delete this organization",
      h(
        "p",
        { class: "muted" },
        "This is the default organization: new users join it when they sign up, so it cannot be deleted.",
      ),
    );
  }
  return deleteSection({
    heading: "Delete this organization",
    note: "Its members keep their user accounts; only their membership of it goes.",
    label: "Delete organization",
    title: `Delete ${org.name}?`,
    message:
      "Its members leave it (their user accounts stay), their roles, permissions and flag values in it are removed, and tokens signed into it stop working. This cannot be undone.",
    work: async () => {
      await api("DELETE", `/organization/${encodeURIComponent(org.code)}`);
      notify(`${org.name} deleted`);
      navigate("/admin/organizations");
    },
  });
}
