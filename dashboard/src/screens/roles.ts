// Roles & permissions: permissions are the keys access tokens carry in `permissions` for the
// organization signed into; roles bundle them and are given to members per organization. List and
// create both, edit a role (key, name, description, whether new members get it), tick the
// permissions it grants and choose the API scopes it holds (role-scopes.ts); delete either behind a
// confirmation.
import { api, query } from "../api.js";
import { checkbox, emptyState, field, h, notify, replace } from "../dom.js";
import { attempt, load, navigate, pageHeader, type Screen, section } from "../view.js";
import {
  checkFields,
  deleteSection,
  formDialog,
  linkCell,
  listTable,
  pageForm,
  saveOnToggle,
  suggestKey,
  visuallyHidden,
  whenConfirmed,
} from "../widgets.js";
import { loadApisWithScopes, loadRoleScopes, roleScopesSection } from "./role-scopes.js";
import { roleSystemPermissionsSection } from "./role-system-permissions.js";

export interface Role {
  id: string;
  key: string;
  name: string;
  description: string | null;
  is_default_role: boolean;
}

export interface Permission {
  id: string;
  key: string;
  name: string;
  description: string | null;
}

/** The server's key rule (src/roles/roles.routes.ts): keys travel in tokens and filters. */
export function keyProblem(value: string): string | undefined {
  return /^[A-Za-z0-9_:.\-/]{1,128}$/.test(value.trim())
    ? undefined
    : "Use 1-128 letters, digits or _ : . - / (no spaces or commas)";
}

const nameProblem = (v: string) => (v.trim().length > 128 ? "Use at most 128 characters" : undefined);
const descriptionProblem = (v: string) =>
  v.trim().length > 1000 ? "Use at most 1000 characters" : undefined;

/** Every item of a paged Kinde list (page_size + next_token), up to a sane bound. */
async function everything<T>(path: string, property: string): Promise<T[]> {
  const items: T[] = [];
  let next: string | undefined;
  do {
    const page = await api<Record<string, unknown>>(
      "GET",
      `${path}${query({ page_size: 100, next_token: next })}`,
    );
    items.push(...((page[property] as T[] | undefined) ?? []));
    next = typeof page.next_token === "string" ? page.next_token : undefined;
  } while (next && items.length < 2000);
  return items;
}

export const loadRoles = (): Promise<Role[]> => everything<Role>("/roles", "roles");
export const loadPermissions = (): Promise<Permission[]> =>
  everything<Permission>("/permissions", "permissions");

export const listRoles: Screen = async (view) => {
  await load(view, async () => {
    const [roles, permissions] = await Promise.all([loadRoles(), loadPermissions()]);
    return [
      pageHeader("Roles & permissions", {
        lead: "Permissions are what your APIs check; roles bundle them. Give roles to members on an organization's page.",
        actions: [h("button", { type: "button", class: "primary", onclick: () => roleDialog() }, "Add role")],
      }),
      rolesSection(roles),
      permissionsSection(permissions),
    ];
  });
};

function rolesSection(roles: Role[]): HTMLElement {
  if (roles.length === 0) {
    return section(
      "Roles",
      emptyState(
        "No roles yet",
        "Add a role such as Admin or Viewer, tick the permissions it grants, then give it to members of an organization.",
        h("button", { type: "button", class: "primary", onclick: () => roleDialog() }, "Add your first role"),
      ),
    );
  }
  return section(
    "Roles",
    listTable("Roles", ["Name", "Key", "Description"], roles, (role) => [
      linkCell(
        `/admin/roles/${role.id}`,
        role.name,
        role.is_default_role ? h("span", { class: "badge" }, "Default") : null,
      ),
      h("td", { class: "mono" }, role.key),
      h("td", null, role.description ?? ""),
    ]),
  );
}

function permissionsSection(initial: Permission[]): HTMLElement {
  const permissions = [...initial];
  const failure = h("div");
  const body = h("div");
  const render = () => {
    if (permissions.length === 0) {
      replace(
        body,
        h(
          "p",
          { class: "muted" },
          "No permissions yet. Add one for each thing your APIs check, e.g. read:invoices.",
        ),
      );
      return;
    }
    replace(
      body,
      listTable(
        "Permissions",
        ["Key", "Name", "Description", visuallyHidden("Actions")],
        permissions,
        (permission) => {
          const remove = h(
            "button",
            { type: "button", class: "secondary small", "aria-label": `Delete permission ${permission.key}` },
            "Delete",
          );
          whenConfirmed(
            remove,
            {
              title: `Delete the permission ${permission.key}?`,
              message:
                "Roles and members holding it lose it, and new tokens no longer carry it. Tokens already issued keep it until they expire.",
              confirmLabel: "Delete permission",
              danger: true,
            },
            failure,
            async () => {
              await api("DELETE", `/permissions/${encodeURIComponent(permission.id)}`);
              permissions.splice(permissions.indexOf(permission), 1);
              render();
              notify(`Permission ${permission.key} deleted`);
            },
          );
          return [
            h("td", { class: "mono" }, permission.key),
            h("td", null, permission.name),
            h("td", null, permission.description ?? ""),
            h("td", null, remove),
          ];
        },
      ),
    );
  };
  render();
  const name = field({
    label: "Name",
    name: "permission_name",
    required: true,
    placeholder: "Read invoices",
    validate: nameProblem,
  });
  const key = field({
    label: "Key",
    name: "permission_key",
    required: true,
    placeholder: "read:invoices",
    validate: keyProblem,
  });
  suggestKey(name.input, key, ":");
  const description = field({
    label: "Description (optional)",
    name: "permission_description",
    validate: descriptionProblem,
  });
  const form = h(
    "form",
    { novalidate: true, class: "inline-form", "aria-label": "Add a permission" },
    name.element,
    key.element,
    description.element,
    h("button", { type: "submit", class: "primary" }, "Add permission"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!checkFields([name, key, description])) return;
    await attempt(failure, async () => {
      const wanted = key.input.value.trim();
      const text = description.input.value.trim();
      await api("POST", "/permissions", {
        key: wanted,
        name: name.input.value.trim(),
        ...(text ? { description: text } : {}),
      });
      // Kinde's create answers without the new permission's id: read the list to find it.
      const fresh = await loadPermissions();
      permissions.splice(0, permissions.length, ...fresh);
      render();
      for (const f of [name, key, description]) f.input.value = "";
      name.input.focus();
      notify(`Permission ${wanted} added`);
    });
  });
  return section("Permissions", body, h("h3", { class: "form-heading" }, "Add a permission"), form, failure);
}

/** Creates a role, then opens it to choose its permissions. */
function roleDialog(): void {
  const fields = roleFields();
  formDialog({
    title: "Add a role",
    content: fields.elements,
    fields: fields.checked,
    submit: async (dialog) => {
      const created = await api<{ role: { id: string } }>("POST", "/roles", fields.body());
      dialog.close();
      notify("Role created");
      navigate(`/admin/roles/${created.role.id}`);
    },
  });
}

function roleFields(role?: Role) {
  const name = field({
    label: "Name",
    name: "name",
    required: true,
    value: role?.name,
    placeholder: "e.g. Billing admin",
    validate: nameProblem,
  });
  const key = field({
    label: "Key",
    name: "key",
    required: true,
    value: role?.key,
    placeholder: "billing-admin",
    hint: "Tokens carry it in their roles claim; your code may check it.",
    validate: keyProblem,
  });
  if (!role) suggestKey(name.input, key, "-");
  const description = field({
    label: "Description (optional)",
    name: "description",
    value: role?.description ?? "",
    multiline: 2,
    validate: descriptionProblem,
  });
  const isDefault = checkbox({
    label: "Give this role to new members",
    name: "is_default_role",
    checked: role?.is_default_role,
    hint: "People joining an organization get it automatically; existing members keep what they have.",
  });
  return {
    elements: [name.element, key.element, description.element, isDefault.element],
    checked: [name, key, description],
    body() {
      return {
        name: name.input.value.trim(),
        key: key.input.value.trim(),
        description: description.input.value.trim() || null,
        is_default_role: isDefault.input.checked,
      };
    },
  };
}

export const roleDetails: Screen = async (view) => {
  const id = view.params[0]!;
  await load(view, async () => {
    const [{ role }, held, permissions, scopes, apis] = await Promise.all([
      api<{ role: Role }>("GET", `/roles/${encodeURIComponent(id)}`),
      everything<Permission>(`/roles/${encodeURIComponent(id)}/permissions`, "permissions"),
      loadPermissions(),
      loadRoleScopes(id),
      loadApisWithScopes(),
    ]);
    return [
      pageHeader(role.name, {
        back: { href: "/admin/roles", label: "Roles & permissions" },
        lead: ["Key ", h("code", null, role.key), role.is_default_role ? " · given to new members" : ""],
      }),
      detailsSection(role),
      grantsSection(role, permissions, new Set(held.map((p) => p.id))),
      roleScopesSection(role, scopes, apis),
      await roleSystemPermissionsSection(role),
      roleDeleteSection(role),
    ];
  });
};

function detailsSection(role: Role): HTMLElement {
  const fields = roleFields(role);
  const form = pageForm({
    content: fields.elements,
    fields: fields.checked,
    submitLabel: "Save role",
    submit: async () => {
      const body = fields.body();
      await api("PATCH", `/roles/${encodeURIComponent(role.id)}`, body);
      Object.assign(role, body);
      const heading = document.querySelector("h1");
      if (heading) heading.textContent = body.name;
      document.title = `${body.name} · Latchkey`;
      notify("Role saved");
    },
  });
  return section("Details", form);
}

function grantsSection(role: Role, permissions: Permission[], held: Set<string>): HTMLElement {
  if (permissions.length === 0) {
    return section(
      "Permissions",
      emptyState(
        "No permissions yet",
        "Add permissions on the Roles & permissions page, then come back to choose the ones this role grants.",
        h("a", { href: "/admin/roles", class: "button secondary" }, "Go to roles & permissions"),
      ),
    );
  }
  const failure = h("div");
  const list = h(
    "div",
    { class: "grants", role: "group", "aria-label": `Permissions of ${role.name}` },
    permissions.map((permission) => {
      const box = checkbox({
        label: permission.name,
        name: `permission-${permission.id}`,
        checked: held.has(permission.id),
        hint: permission.key,
      });
      saveOnToggle(box.input, failure, async (wanted) => {
        await api("PATCH", `/roles/${encodeURIComponent(role.id)}/permissions`, {
          permissions: [{ id: permission.id, ...(wanted ? {} : { operation: "delete" }) }],
        });
        notify(
          wanted
            ? `${role.name} grants ${permission.key}`
            : `${role.name} no longer grants ${permission.key}`,
        );
      });
      return box.element;
    }),
  );
  return section(
    "Permissions",
    h(
      "p",
      { class: "muted" },
      "Members holding this role get the permissions ticked here in the organizations where they hold it. Changes reach tokens at their next refresh.",
    ),
    list,
    failure,
  );
}

function roleDeleteSection(role: Role): HTMLElement {
  return deleteSection({
    heading: "Delete this role",
    note: "Tokens already issued keep its permissions until they expire.",
    label: "Delete role",
    title: `Delete ${role.name}?`,
    message:
      "Members holding it lose it, and the permissions it gave them, in every organization. This cannot be undone.",
    work: async () => {
      await api("DELETE", `/roles/${encodeURIComponent(role.id)}`);
      notify(`${role.name} deleted`);
      navigate("/admin/roles");
    },
  });
}
