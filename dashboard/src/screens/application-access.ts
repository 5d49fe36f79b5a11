// "Who may sign in" on an application's page: Kinde's role-based access control
// (is_access_control_enabled on PATCH /applications/{id}) and its access roles
// (/applications/{id}/access_roles). Each box saves as it is ticked and springs back when the server
// refuses (e.g. ACCESS_ROLES_REQUIRED: switching it on with no role chosen). Roles count in the
// organization the person signs in to (src/oauth/access-control.ts).
import { api } from "../api.js";
import { checkbox, h } from "../dom.js";
import { attempt, section } from "../view.js";
import { saveOnToggle } from "../widgets.js";

interface Role {
  id: string;
  key: string;
  name: string;
}

async function allRoles(): Promise<Role[]> {
  const roles: Role[] = [];
  let next: string | null = null;
  do {
    const page: { roles: Role[]; next_token?: string | null } = await api(
      "GET",
      `/roles?page_size=500${next ? `&next_token=${encodeURIComponent(next)}` : ""}`,
    );
    roles.push(...page.roles);
    next = page.next_token ?? null;
  } while (next);
  return roles;
}

async function accessRoleIds(applicationId: string): Promise<Set<string>> {
  const ids = new Set<string>();
  let after: string | undefined;
  for (;;) {
    const page: { roles: { id: string }[]; has_more: boolean } = await api(
      "GET",
      `/applications/${applicationId}/access_roles?page_size=100${after ? `&starting_after=${encodeURIComponent(after)}` : ""}`,
    );
    for (const role of page.roles) ids.add(role.id);
    after = page.roles.at(-1)?.id;
    if (!page.has_more || after === undefined) return ids;
  }
}

/** The section, filled once its three reads answer; null for a machine (it signs nobody in). */
export function accessSection(application: { id: string; type: string }): HTMLElement | null {
  if (application.type === "m2m") return null;
  const id = encodeURIComponent(application.id);
  const failure = h("div");
  const body = h("div", null, h("p", { class: "muted" }, "Loading…"));
  void attempt(failure, async () => {
    const [{ application: current }, roles, chosen] = await Promise.all([
      api<{ application: { is_access_control_enabled: boolean } }>("GET", `/applications/${id}`),
      allRoles(),
      accessRoleIds(id),
    ]);
    const control = checkbox({
      label: "Only people with one of the roles below may sign in",
      name: "is_access_control_enabled",
      checked: current.is_access_control_enabled,
      hint: "A role counts in the organization the person signs in to. Choose at least one role first.",
    });
    saveOnToggle(control.input, failure, async (wanted) => {
      await api("PATCH", `/applications/${id}`, { is_access_control_enabled: wanted });
    });
    const boxes = roles.map((role) => {
      const box = checkbox({
        label: role.name,
        name: `access-role-${role.id}`,
        checked: chosen.has(role.id),
        hint: role.key,
      });
      saveOnToggle(box.input, failure, async (wanted) => {
        await api(
          wanted ? "POST" : "DELETE",
          `/applications/${id}/access_roles/${encodeURIComponent(role.id)}`,
        );
      });
      return box.element;
    });
    body.replaceChildren(
      control.element,
      roles.length === 0
        ? h("p", { class: "muted" }, "There are no roles yet: create one under Roles first.")
        : h("fieldset", null, h("legend", null, "Roles allowed to sign in"), boxes),
    );
  });
  return section(
    "Who may sign in",
    h(
      "p",
      { class: "muted" },
      "Limit this application to people holding a role. Refused people see a page saying so; the application receives access_denied, and their refresh tokens stop working.",
    ),
    body,
    failure,
  );
}
