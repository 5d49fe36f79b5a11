// An organization's page, Directory sync (SCIM): its one directory — the base URL to give the
// identity provider, how the last sync went, the roles its groups may grant, a new token, delete —
// or, while it has none, the form that makes one. A token is shown once, when it is made or
// replaced: Latchkey keeps only its hash (src/directories/directories.service.ts).
//
// Management API: GET /directories?organization_code=, POST /directories, PATCH and DELETE
// /directories/{id}, POST /directories/{id}/rotate_secret_token (Latchkey's); GET
// /organizations/{code}/connections and /connections (the enterprise connections it may use).
import { api, NotAdministrator, query, SignInRequired } from "../api.js";
import {
  type Child,
  checkbox,
  copyable,
  field,
  formatDate,
  h,
  notify,
  replace,
  selectField,
} from "../dom.js";
import { attempt, errorBox, scopesMissing, section } from "../view.js";
import { deleteButton, pageForm, secretDialog, whenConfirmed } from "../widgets.js";
import { isEnterprise } from "./connection-form.js";
import { loadConnections } from "./connections.js";
import type { Role } from "./roles.js";

interface Directory {
  id: string;
  directory_name: string;
  status: string;
  provider_code: string;
  scim_base_url: string;
  secret_token?: string;
  enterprise_connection_name: string | null;
  assignable_role_keys: string[];
  last_sync_started_at: string | null;
  last_sync_completed_at: string | null;
  last_sync_error: string | null;
  created_on: string;
}

/** Kinde's provider codes (CreateDirectory), as people call them. */
const PROVIDERS = [
  { value: "okta", label: "Okta" },
  { value: "entra_id_azure_ad", label: "Microsoft Entra ID" },
  { value: "google_workspace", label: "Google Workspace" },
  { value: "jumpcloud", label: "JumpCloud" },
  { value: "onelogin", label: "OneLogin" },
  { value: "pingfederate", label: "PingFederate" },
  { value: "cyberark", label: "CyberArk" },
  { value: "rippling", label: "Rippling" },
  { value: "custom_scim_v2", label: "Another SCIM 2.0 provider" },
];
const providerLabel = (code: string) => PROVIDERS.find((p) => p.value === code)?.label ?? code;

export async function organizationDirectorySection(
  orgCode: string,
  rolesLoaded: Promise<Role[]>,
): Promise<HTMLElement> {
  let found: { directories: Directory[] };
  try {
    found = await api("GET", `/directories${query({ organization_code: orgCode })}`);
  } catch (error) {
    const refused = scopesMissing(error, "directories");
    if (refused) return section("Directory sync", refused);
    // Any other failure stays in this block: the rest of the organization's page still shows
    // (the page's load handles those that leave it: a sign-in needed, not an administrator).
    if (error instanceof SignInRequired || error instanceof NotAdministrator) throw error;
    return section("Directory sync", errorBox(error));
  }
  const roles = await rolesLoaded;
  const body = h("div");
  const show = (directory: Directory | undefined) =>
    replace(body, directory ? details(directory) : createForm());

  const createForm = (): Child => {
    const intro = h(
      "p",
      { class: "muted" },
      "Let this organization's identity provider create, update and remove its people here over " +
        "SCIM 2.0. Its people sign in with its enterprise connection, whose home-realm domains " +
        "limit the addresses the directory may provision.",
    );
    const name = field({
      label: "Directory name",
      name: "directory_name",
      required: true,
      placeholder: "Production directory",
    });
    const provider = selectField({ label: "Identity provider", name: "provider_code", choices: PROVIDERS });
    const connection = selectField({
      label: "Enterprise connection",
      name: "enterprise_connection_id",
      choices: [{ value: "", label: "Loading…" }],
      hint: "Only the enterprise connections enabled for this organization can be used.",
    });
    const failure = h("div");
    const form = pageForm({
      content: [name.element, provider.element, connection.element],
      fields: [name],
      submitLabel: "Create directory",
      submit: async () => {
        const created = await api<{ directory: Directory }>("POST", "/directories", {
          org_code: orgCode,
          directory_name: name.input.value.trim(),
          provider_code: provider.input.value,
          enterprise_connection_id: connection.input.value || null,
        });
        show(created.directory);
        notify("Directory created");
        showToken(created.directory, "made");
      },
    });
    // Nothing is sent before the connections are listed: the choice would not be the one shown.
    const submit = form.querySelector<HTMLButtonElement>('button[type="submit"]')!;
    submit.disabled = true;
    void attempt(failure, async () => {
      const list = await enterpriseConnections(orgCode);
      replace(
        connection.input,
        list.length === 0
          ? h("option", { value: "" }, "None enabled for this organization yet")
          : list.map((c) => h("option", { value: c.id }, c.display_name)),
      );
      submit.disabled = false;
    });
    return [intro, failure, form];
  };

  const details = (directory: Directory): Child => {
    const path = `/directories/${encodeURIComponent(directory.id)}`;
    const failure = h("div");
    const sync = directory.last_sync_error
      ? `Failed ${formatDate(directory.last_sync_started_at)}: ${directory.last_sync_error}`
      : directory.last_sync_completed_at
        ? formatDate(directory.last_sync_completed_at)
        : "Not yet: give the identity provider the base URL and the token";
    const facts = h(
      "dl",
      { class: "facts" },
      [
        ["Name", directory.directory_name],
        ["Identity provider", providerLabel(directory.provider_code)],
        ["Status", directory.status],
        ["Enterprise connection", directory.enterprise_connection_name ?? "—"],
        ["Last sync", sync],
        ["Created", formatDate(directory.created_on)],
      ].map(([term, value]) => [h("dt", null, term), h("dd", null, value)]),
    );

    const newToken = h("button", { type: "button", class: "secondary" }, "New token");
    whenConfirmed(
      newToken,
      {
        title: `A new token for ${directory.directory_name}?`,
        message:
          "The current token stops working at once: the identity provider's syncs fail until you give it the new one.",
        confirmLabel: "Replace token",
        danger: true,
      },
      failure,
      async () => {
        const rotated = await api<{ directory: Directory }>("POST", `${path}/rotate_secret_token`);
        showToken(rotated.directory, "replaced");
      },
    );
    const remove = deleteButton({
      label: "Delete directory",
      title: `Delete ${directory.directory_name}?`,
      message:
        "Its SCIM endpoint stops answering and its groups are forgotten. The people it provisioned keep their accounts.",
      failure,
      work: async () => {
        await api("DELETE", path);
        show(undefined);
        notify("Directory deleted");
      },
    });
    return [
      facts,
      copyable("SCIM base URL", directory.scim_base_url),
      rolesForm(path, directory, roles),
      h("div", { class: "actions" }, newToken, remove),
      failure,
    ];
  };

  show(found.directories[0]);
  return section("Directory sync", body);
}

/** The roles the directory's groups may grant: a group named exactly as a ticked role's key. */
function rolesForm(path: string, directory: Directory, roles: Role[]): HTMLElement {
  const allowed = new Set(directory.assignable_role_keys);
  const boxes = roles.map((role) => ({
    role,
    choice: checkbox({
      label: role.name,
      name: "assignable_role_keys",
      checked: allowed.has(role.key),
      hint: `A group named “${role.key}” gives its members this role.`,
    }),
  }));
  return h(
    "fieldset",
    { class: "directory-roles" },
    h("legend", null, "Roles its groups may grant"),
    h(
      "p",
      { class: "hint" },
      "Groups grant nothing until a role is ticked here, so the directory's token cannot hand out any role it likes.",
    ),
    roles.length === 0 ? h("p", { class: "muted" }, "No roles are defined yet.") : null,
    pageForm({
      content: boxes.map((b) => b.choice.element),
      fields: [],
      submitLabel: "Save roles",
      submit: async () => {
        await api("PATCH", path, {
          assignable_role_keys: boxes.filter((b) => b.choice.input.checked).map((b) => b.role.key),
        });
        notify("Roles saved");
      },
    }),
  );
}

/** The organization's enabled enterprise connections: the ones a directory may use. */
async function enterpriseConnections(orgCode: string): Promise<{ id: string; display_name: string }[]> {
  const [all, enabled] = await Promise.all([
    loadConnections(),
    api<{ connections: { id: string }[] }>(
      "GET",
      `/organizations/${encodeURIComponent(orgCode)}/connections`,
    ),
  ]);
  const ids = new Set(enabled.connections.map((c) => c.id));
  return all.filter((c) => ids.has(c.id) && isEnterprise(c.strategy));
}

/** The token, this once. */
function showToken(directory: Directory, how: "made" | "replaced"): void {
  secretDialog({
    title: `${directory.directory_name}: the token`,
    description:
      how === "made"
        ? "Give the identity provider the base URL and this token (Okta: HTTP Header authentication; Entra ID: Secret token). Copy it now: Latchkey keeps only its hash and cannot show it again."
        : "Paste this token into the identity provider now: the old one no longer works. Latchkey keeps only its hash and cannot show it again.",
    values: [{ label: "SCIM base URL", value: directory.scim_base_url }],
    secret: { label: "Secret token", value: directory.secret_token ?? "" },
  });
}
