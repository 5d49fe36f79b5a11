// A role's self-service permissions (Kinde's system permissions: GET /api/v1/system_permissions,
// GET/PATCH /api/v1/roles/{role_id}/system_permissions). Members holding the role may do, on their
// organization's page in /account (/account/organizations/{org_code}), what is ticked here, in the
// organizations where they hold it. The billing ones grant nothing in Latchkey (no billing).
import { api } from "../api.js";
import { checkbox, h, notify } from "../dom.js";
import { section } from "../view.js";
import { saveOnToggle } from "../widgets.js";

interface SystemPermission {
  id: string;
  key: string;
  name: string;
  description: string;
}

const list = (path: string) =>
  api<{ system_permissions: SystemPermission[] }>("GET", `${path}?page_size=100`).then(
    (r) => r.system_permissions,
  );

/** The section, loaded: the catalogue with the role's own ticked. */
export async function roleSystemPermissionsSection(role: { id: string; name: string }): Promise<HTMLElement> {
  const path = `/roles/${encodeURIComponent(role.id)}/system_permissions`;
  const [all, held] = await Promise.all([list("/system_permissions"), list(path)]);
  const ticked = new Set(held.map((p) => p.id));
  const failure = h("div");
  const boxes = h(
    "div",
    { class: "grants", role: "group", "aria-label": `Self-service permissions of ${role.name}` },
    all.map((permission) => {
      const box = checkbox({
        label: permission.name,
        name: `system-permission-${permission.id}`,
        checked: ticked.has(permission.id),
        hint: `${permission.key} · ${permission.description}`,
      });
      saveOnToggle(box.input, failure, async (wanted) => {
        await api("PATCH", path, {
          system_permissions: [{ id: permission.id, ...(wanted ? {} : { operation: "delete" }) }],
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
    "Self-service permissions",
    h(
      "p",
      { class: "muted" },
      "What members holding this role may do on their organization's page in the account pages, in the organizations where they hold it.",
    ),
    boxes,
    failure,
  );
}
