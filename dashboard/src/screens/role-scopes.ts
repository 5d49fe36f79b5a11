// A role's API scopes (Kinde's role scopes: GET/POST /api/v1/roles/{role_id}/scopes, DELETE
// …/scopes/{scope_id}). A person's access token for an API carries the scopes of it that their app
// requests and that they hold, through a role in the organization signed into or directly there
// (src/oauth/user-scopes.ts); requested scopes they do not hold are dropped (RFC 6749 §3.3). Choose
// an API, then one of its scopes; the role lists what it holds, each with a remove button.
import { api } from "../api.js";
import { h, notify, replace, selectField } from "../dom.js";
import { attempt, section } from "../view.js";
import { listTable, visuallyHidden } from "../widgets.js";

export interface RoleScope {
  id: string;
  key: string;
  api_id: string;
}

export interface ApiWithScopes {
  id: string;
  name: string;
  is_management_api: boolean;
  scopes: { id: string; key: string }[];
}

export async function loadRoleScopes(roleId: string): Promise<RoleScope[]> {
  const { scopes } = await api<{ scopes: RoleScope[] }>("GET", `/roles/${encodeURIComponent(roleId)}/scopes`);
  return scopes;
}

export async function loadApisWithScopes(): Promise<ApiWithScopes[]> {
  const { apis } = await api<{ apis: ApiWithScopes[] }>("GET", "/apis?expand=scopes");
  return apis;
}

export function roleScopesSection(
  role: { id: string; name: string },
  initial: RoleScope[],
  apis: ApiWithScopes[],
): HTMLElement {
  const held = [...initial];
  const path = `/roles/${encodeURIComponent(role.id)}/scopes`;
  const apiName = (id: string) => apis.find((a) => a.id === id)?.name ?? id;
  // The Management API is left out: only administrators' tokens may call it, and theirs carry the
  // dashboard's own scopes, so a role holding its scopes would give nobody anything.
  const offered = apis.filter((a) => !a.is_management_api && a.scopes.length > 0);
  const failure = h("div");
  const body = h("div");
  let refreshChoices = () => {};

  const render = () => {
    if (held.length === 0) {
      replace(body, h("p", { class: "muted" }, "This role holds no API scopes yet."));
      return;
    }
    replace(
      body,
      listTable(
        `API scopes of ${role.name}`,
        ["Scope", "API", visuallyHidden("Actions")],
        held,
        (scope) => {
          const label = `${scope.key} of ${apiName(scope.api_id)}`;
          const remove = h(
            "button",
            { type: "button", class: "secondary small", "aria-label": `Remove ${label}` },
            "Remove",
          );
          remove.addEventListener("click", () =>
            attempt(failure, async () => {
              await api("DELETE", `${path}/${encodeURIComponent(scope.id)}`);
              held.splice(held.indexOf(scope), 1);
              render();
              refreshChoices();
              notify(`${role.name} no longer holds ${label}`);
            }),
          );
          return [
            h("td", { class: "mono" }, scope.key),
            h("td", null, apiName(scope.api_id)),
            h("td", null, remove),
          ];
        },
        { flat: true },
      ),
    );
  };
  render();

  const lead = h(
    "p",
    { class: "muted" },
    "Members holding this role may get these scopes in their access tokens for the API, when their app asks for them, in the organizations where they hold the role. Changes reach tokens at their next refresh.",
  );
  if (offered.length === 0) {
    return section(
      "API scopes",
      lead,
      body,
      h(
        "p",
        { class: "muted" },
        "None of your APIs defines scopes yet. ",
        h("a", { href: "/admin/apis" }, "Add scopes to an API"),
        ", then come back to give them to this role.",
      ),
      failure,
    );
  }

  const apiChoice = selectField({
    label: "API",
    name: "api",
    choices: offered.map((a) => ({ value: a.id, label: a.name })),
  });
  const scopeChoice = selectField({ label: "Scope", name: "scope", choices: [] });
  const add = h("button", { type: "submit", class: "primary" }, "Add API scope");
  refreshChoices = () => {
    const chosen = offered.find((a) => a.id === apiChoice.input.value);
    const left = (chosen?.scopes ?? []).filter((s) => !held.some((heldScope) => heldScope.id === s.id));
    replace(
      scopeChoice.input,
      left.length
        ? left.map((s) => h("option", { value: s.id }, s.key))
        : h("option", { value: "" }, "This role holds all its scopes"),
    );
    scopeChoice.input.disabled = left.length === 0;
    add.disabled = left.length === 0;
  };
  refreshChoices();
  apiChoice.input.addEventListener("change", refreshChoices);

  const form = h(
    "form",
    { novalidate: true, class: "inline-form", "aria-label": "Add an API scope" },
    apiChoice.element,
    scopeChoice.element,
    add,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = offered.find((a) => a.id === apiChoice.input.value);
    const scope = chosen?.scopes.find((s) => s.id === scopeChoice.input.value);
    if (!chosen || !scope) return;
    await attempt(failure, async () => {
      await api("POST", path, { scope_id: scope.id });
      held.push({ id: scope.id, key: scope.key, api_id: chosen.id });
      render();
      refreshChoices();
      (scopeChoice.input.disabled ? apiChoice.input : scopeChoice.input).focus();
      notify(`${role.name} holds ${scope.key} of ${chosen.name}`);
    });
  });

  return section(
    "API scopes",
    lead,
    body,
    h("h3", { class: "form-heading" }, "Add an API scope"),
    form,
    failure,
  );
}
