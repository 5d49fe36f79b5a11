// An organization's page, Connections (issue 17): which sign-in connections its sign-in offers
// (Kinde's per-organization enablement). Until an organization enables one, its sign-in offers what
// its applications offer; from the first one on it offers only those ticked here (where the
// application offers them too), and unticking the last leaves it none — never the applications'
// again (the server's rule, connections.service.ts enabledFor). The section says which holds,
// from the API's has_own_connection_list, since an empty list alone cannot tell.
//
// A connection another organization manages cannot be enabled here, so it is not listed.
//
// Management API: GET /connections (and each connection), GET /organizations/{code}/connections,
// POST/DELETE /organizations/{code}/connections/{connection_id}.
import { api } from "../api.js";
import { checkbox, h, notify, replace } from "../dom.js";
import { attempt, scopesMissing, section } from "../view.js";
import type { Connection } from "./connection-form.js";
import { strategyLabel } from "./connection-form.js";
import { loadConnections } from "./connections.js";

interface OrganizationConnections {
  connections: { id: string }[];
  has_own_connection_list: boolean;
}

export async function organizationConnectionsSection(orgCode: string): Promise<HTMLElement> {
  const path = `/organizations/${encodeURIComponent(orgCode)}/connections`;
  let all: Connection[];
  let current: OrganizationConnections;
  try {
    [all, current] = await Promise.all([loadConnections(), api<OrganizationConnections>("GET", path)]);
  } catch (error) {
    const refused = scopesMissing(error, "connections");
    if (refused) return section("Connections", refused);
    throw error;
  }
  const choosable = all.filter((c) => c.organization_code === null || c.organization_code === orgCode);
  const enabled = new Set(current.connections.map((c) => c.id));
  let ownList = current.has_own_connection_list;
  const status = h("p", { class: "hint", role: "status" });
  const showStatus = () =>
    replace(
      status,
      ownList
        ? enabled.size > 0
          ? "This organization's sign-in offers only the connections ticked here, where its application offers them too."
          : "No connection is ticked, so this organization's sign-in offers none (it no longer falls back to its applications' connections)."
        : "This organization's sign-in offers the connections its applications offer. Tick connections to offer only those here.",
    );
  showStatus();
  const failure = h("div");

  const boxes = choosable.map((connection) => {
    const choice = checkbox({
      label: connection.display_name,
      name: "organization_connections",
      checked: enabled.has(connection.id),
      hint:
        connection.organization_code === orgCode
          ? `${strategyLabel(connection.strategy)}. Managed by this organization.`
          : strategyLabel(connection.strategy),
    });
    const box = choice.input;
    box.addEventListener("change", async () => {
      const wanted = box.checked;
      box.disabled = true;
      const ok = await attempt(failure, async () => {
        await api(wanted ? "POST" : "DELETE", `${path}/${encodeURIComponent(connection.id)}`);
        if (wanted) enabled.add(connection.id);
        else enabled.delete(connection.id);
        // Enabling one is what makes the list the organization's own, for good.
        if (wanted) ownList = true;
        showStatus();
        notify(
          wanted
            ? `${connection.display_name} enabled for this organization`
            : `${connection.display_name} disabled for this organization`,
        );
      });
      box.disabled = false;
      // A refused change springs back: the box never shows what the server does not have.
      if (!ok) box.checked = !wanted;
      box.focus();
    });
    return choice.element;
  });

  return section(
    "Connections",
    boxes.length > 0
      ? h(
          "fieldset",
          { class: "connection-apps" },
          h("legend", null, "Offered on this organization's sign-in"),
          boxes,
        )
      : h(
          "p",
          { class: "hint" },
          "No connections yet: add them in Settings › Authentication, then choose here which this organization offers.",
        ),
    status,
    failure,
  );
}
