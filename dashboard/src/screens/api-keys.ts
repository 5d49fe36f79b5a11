// API keys (Kinde's /api/v1/api_keys): keys your own APIs accept from their callers, each for one
// API and some of its scopes, owned by a user, an organization or the environment. A key is shown
// once, when it is made or rotated (Latchkey keeps only its hash); the list shows its visible
// prefix and last characters, and when and from where it was last verified.
import { api, query } from "../api.js";
import { emptyState, field, formatDate, h, notify, replace, selectField } from "../dom.js";
import { errorBox, leftScreen, load, pageHeader, type Screen, section } from "../view.js";
import {
  formDialog,
  kindChoice,
  listTable,
  secretDialog,
  visuallyHidden,
  whenConfirmed,
} from "../widgets.js";

interface ApiKey {
  id: string;
  name: string;
  type: "user" | "organization" | "environment";
  key_prefix: string;
  key_suffix: string | null;
  created_on: string;
  last_verified_on: string | null;
  last_verified_ip: string | null;
  created_by: string | null;
  api_ids: string[];
  scopes: string[];
}

interface ApiWithScopes {
  id: string;
  name: string;
  audience: string;
  is_management_api?: boolean;
  scopes?: { id: string; key: string }[];
}

const PAGE_SIZE = 50;

const OWNERS = [
  { type: "user", label: "A user", sentence: "The key acts for one person (give their user ID)." },
  {
    type: "organization",
    label: "An organization",
    sentence: "The key acts for one organization (give its code).",
  },
  {
    type: "environment",
    label: "Your own services",
    sentence: "The key belongs to no user or organization.",
  },
];

export const listApiKeys: Screen = async (view) => {
  await load(view, async () => {
    const apis = (await api<{ apis: ApiWithScopes[] }>("GET", "/apis?expand=scopes")).apis.filter(
      (a) => !a.is_management_api,
    );
    const failure = h("div");
    const listing = h("div", { "aria-live": "polite" });
    const apiName = (id: string) => apis.find((a) => a.id === id)?.name ?? id;
    let after: string | undefined;
    const shown: ApiKey[] = [];

    const render = (hasMore: boolean) => {
      if (shown.length === 0)
        return replace(
          listing,
          emptyState(
            "No API keys yet",
            "Make a key for a caller of one of your APIs; the API checks it with Latchkey.",
          ),
        );
      const more = h("button", { type: "button", class: "secondary" }, "Show more");
      more.addEventListener("click", () => void fetchPage());
      replace(
        listing,
        listTable(
          "API keys",
          ["Name", "Key", "API and scopes", "Owner", "Last verified", visuallyHidden("Actions")],
          shown,
          (key) => row(key),
        ),
        hasMore ? h("div", { class: "actions" }, more) : null,
      );
    };

    const row = (key: ApiKey) => {
      const rotate = h(
        "button",
        { type: "button", class: "secondary small", "aria-label": `Rotate ${key.name}` },
        "Rotate",
      );
      whenConfirmed(
        rotate,
        {
          title: `Rotate ${key.name}?`,
          message: "A new key replaces this one at once: callers using the old key are refused from now on.",
          confirmLabel: "Rotate key",
          danger: true,
        },
        failure,
        async () => {
          const rotated = await api<{ api_key: { key: string } }>(
            "PUT",
            `/api_keys/${encodeURIComponent(key.id)}`,
          );
          // The list shows the key's last characters: the new key's, from here on.
          await restart();
          showKey(key.name, rotated.api_key.key);
        },
      );
      const remove = h(
        "button",
        { type: "button", class: "secondary small", "aria-label": `Delete ${key.name}` },
        "Delete",
      );
      whenConfirmed(
        remove,
        {
          title: `Delete ${key.name}?`,
          message: "Callers using this key are refused from now on. This cannot be undone.",
          confirmLabel: "Delete key",
          danger: true,
        },
        failure,
        async () => {
          await api("DELETE", `/api_keys/${encodeURIComponent(key.id)}`);
          notify(`${key.name} deleted`);
          await restart();
        },
      );
      return [
        h("td", null, key.name),
        h("td", null, h("span", { class: "mono" }, `${key.key_prefix}_…${key.key_suffix ?? ""}`)),
        h(
          "td",
          null,
          key.api_ids.map(apiName).join(", "),
          key.scopes.length ? h("div", { class: "muted small" }, key.scopes.join(" ")) : null,
        ),
        h(
          "td",
          null,
          key.type === "environment" ? "Your services" : key.type === "user" ? "A user" : "An organization",
        ),
        h(
          "td",
          null,
          key.last_verified_on
            ? `${formatDate(key.last_verified_on)} from ${key.last_verified_ip ?? "?"}`
            : "Never",
        ),
        h("td", null, h("div", { class: "row-actions" }, rotate, remove)),
      ];
    };

    const fetchPage = async () => {
      try {
        const page = await api<{ api_keys: ApiKey[]; has_more: boolean }>(
          "GET",
          `/api_keys${query({ page_size: PAGE_SIZE, starting_after: after })}`,
        );
        shown.push(...page.api_keys);
        after = shown.at(-1)?.id;
        render(page.has_more);
      } catch (error) {
        if (!leftScreen(error)) replace(listing, errorBox(error));
      }
    };
    const restart = async () => {
      shown.length = 0;
      after = undefined;
      await fetchPage();
    };
    await fetchPage();

    const create = h("button", { type: "button", class: "primary" }, "Create API key");
    create.addEventListener("click", () => createDialog(apis, restart));
    return [
      pageHeader("API keys", {
        lead: "Keys the callers of your APIs present; your API verifies each with Latchkey (POST /api/v1/api_keys/verify) and gets its scopes and owner.",
        actions: apis.length ? [create] : [],
      }),
      apis.length
        ? null
        : section(
            "Add an API first",
            h("p", { class: "muted" }, "A key is for one of your APIs. Add one on the APIs page."),
          ),
      section("Keys", listing, failure),
    ];
  });
};

function createDialog(apis: ApiWithScopes[], refresh: () => Promise<void>): void {
  const name = field({
    label: "Name",
    name: "name",
    required: true,
    validate: (v) => (v.trim().length > 128 ? "Use at most 128 characters" : undefined),
  });
  const which = selectField({
    label: "API",
    name: "api",
    choices: apis.map((a) => ({ value: a.id, label: `${a.name} (${a.audience})` })),
  });
  const scopes = h("fieldset", null);
  const drawScopes = () => {
    const chosen = apis.find((a) => a.id === which.input.value);
    const list = chosen?.scopes ?? [];
    replace(
      scopes,
      h("legend", null, "Scopes"),
      list.length
        ? list.map((scope) =>
            h(
              "div",
              { class: "check" },
              h("input", { type: "checkbox", id: `scope-${scope.id}`, name: "scope", value: scope.id }),
              h("label", { for: `scope-${scope.id}` }, scope.key),
            ),
          )
        : h("p", { class: "muted" }, "This API has no scopes."),
    );
  };
  which.input.addEventListener("change", drawScopes);
  drawScopes();
  const owner = kindChoice({ legend: "Who uses the key", id: "key-owner", kinds: OWNERS, compact: true });
  const ownerId = field({
    label: "User ID or organization code",
    name: "owner",
    hint: "kp_… for a user's key, org_… for an organization's; leave empty for your own services.",
    validate: (v) => {
      const type = owner.value();
      if (type === "user" && !/^kp_/.test(v.trim())) return "Enter the user's ID (kp_…)";
      if (type === "organization" && !/^org_/.test(v.trim())) return "Enter the organization's code (org_…)";
      if (type === "environment" && v.trim()) return "Leave this empty for your own services";
      return undefined;
    },
  });
  formDialog({
    title: "Create API key",
    submitLabel: "Create key",
    wide: true,
    fields: [name, ownerId],
    content: [name.element, which.element, scopes, owner.element, ownerId.element],
    submit: async (dialog) => {
      const type = owner.value();
      const id = ownerId.input.value.trim();
      const created = await api<{ api_key: { key: string } }>("POST", "/api_keys", {
        name: name.input.value.trim(),
        type,
        api_id: which.input.value,
        scope_ids: [...scopes.querySelectorAll<HTMLInputElement>('input[name="scope"]:checked')].map(
          (b) => b.value,
        ),
        ...(type === "user" ? { user_id: id } : type === "organization" ? { org_code: id } : {}),
      });
      dialog.close();
      await refresh();
      showKey(name.input.value.trim(), created.api_key.key);
    },
  });
}

/** A key, shown this once. */
function showKey(name: string, key: string): void {
  secretDialog({
    title: `${name}: the key`,
    description: "Copy the key now: Latchkey keeps only its hash and cannot show it again.",
    secret: { label: "API key", value: key },
  });
}
