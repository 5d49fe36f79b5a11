// Settings › Connected apps, as in Kinde: "Connect an app" opens the provider catalog; Save adds
// the app; each tile has Configure (Details and Permissions tabs) and a menu with Disconnect,
// which warns that tokens users already granted at the provider are NOT revoked.
import { api } from "../api.js";
import {
  type Child,
  checkbox,
  confirmAction,
  copyable,
  emptyState,
  type Field,
  field,
  h,
  notify,
  openDialog,
  replace,
  uid,
} from "../dom.js";
import { urlProblem } from "../urls.js";
import { attempt, load, pageHeader, type Screen } from "../view.js";
import { formDialog } from "../widgets.js";
import { type CatalogProvider as Provider, providerMark, scopePicker } from "./connected-app-scopes.js";

interface Settings {
  issuer?: string;
  authorization_url?: string;
  token_url?: string;
  revocation_url?: string;
  client_auth?: "basic" | "body";
}

interface ConnectedApp {
  key_code_ref: string;
  provider: string;
  name: string;
  client_id: string;
  callback_url: string;
  provider_callback_url: string;
  scopes: string[];
  offer_at_sign_in: boolean;
  settings: Settings;
}

const GENERIC = "oauth2";
const KEY = /^[A-Za-z0-9_-]{1,100}$/;

function keyProblem(value: string): string | undefined {
  return KEY.test(value.trim()) ? undefined : "Use letters, digits, - and _ only (at most 100)";
}

function optionalUrl(value: string): string | undefined {
  if (!value.trim()) return undefined;
  try {
    const url = new URL(value.trim());
    return url.protocol === "https:" || url.protocol === "http:" ? undefined : "Must be an http(s) URL";
  } catch {
    return "Must be an absolute URL (include https://)";
  }
}

export const connectedApps: Screen = async (view) => {
  await load(view, async () => {
    const [{ connected_apps: apps }, catalog] = await Promise.all([
      api<{ connected_apps: ConnectedApp[] }>("GET", "/connected_apps"),
      api<{ providers: Provider[]; provider_callback_url: string }>("GET", "/connected_apps/providers"),
    ]);
    const list = h("div");
    const providerOf = (id: string) => catalog.providers.find((p) => p.id === id);
    const providerName = (id: string) => providerOf(id)?.name ?? id;
    const render = () => {
      if (apps.length === 0) {
        replace(
          list,
          emptyState(
            "No connected apps yet",
            "Connect an app to let your application call its API on behalf of your users — Latchkey keeps their tokens fresh.",
            h(
              "button",
              { type: "button", class: "primary", onclick: () => connectDialog() },
              "Connect an app",
            ),
          ),
        );
        return;
      }
      replace(
        list,
        h(
          "ul",
          { class: "tiles", "aria-label": "Connected apps" },
          apps.map((app) => h("li", { class: "tile" }, tile(app))),
        ),
      );
    };

    const tile = (app: ConnectedApp): Child[] => {
      const menuId = uid("menu");
      const more = h(
        "button",
        {
          type: "button",
          class: "kebab",
          "aria-label": `More actions for ${app.name}`,
          "aria-haspopup": "menu",
          "aria-expanded": "false",
          "aria-controls": menuId,
        },
        "⋯",
      );
      const disconnect = h(
        "button",
        { type: "button", role: "menuitem", class: "danger-text", tabindex: "-1" },
        "Disconnect",
      );
      const menu = h(
        "div",
        { id: menuId, class: "menu", role: "menu", hidden: true, "aria-label": `Actions for ${app.name}` },
        disconnect,
      );
      const closeMenu = (focusButton: boolean) => {
        menu.hidden = true;
        more.setAttribute("aria-expanded", "false");
        document.removeEventListener("click", outside, true);
        if (focusButton) more.focus();
      };
      const outside = (event: Event) => {
        if (!menu.contains(event.target as Node) && event.target !== more) closeMenu(false);
      };
      more.addEventListener("click", () => {
        if (!menu.hidden) return closeMenu(true);
        menu.hidden = false;
        more.setAttribute("aria-expanded", "true");
        document.addEventListener("click", outside, true);
        disconnect.focus();
      });
      menu.addEventListener("keydown", (event) => {
        if (event.key === "Escape" || event.key === "Tab") {
          event.preventDefault();
          closeMenu(true);
        }
      });
      disconnect.addEventListener("click", async () => {
        closeMenu(true);
        const ok = await confirmAction({
          title: `Disconnect ${app.name}?`,
          message: [
            h(
              "p",
              null,
              `Your application can no longer start new connections with the reference key ${app.key_code_ref}, and Latchkey forgets its settings.`,
            ),
            h(
              "p",
              { class: "alert info" },
              `This does not revoke tokens your users already granted at ${providerName(app.provider)}. To revoke a user's access, call POST /api/v1/connected_apps/revoke with their session before disconnecting, or remove the grant at the provider.`,
            ),
          ],
          confirmLabel: "Disconnect",
          danger: true,
        });
        if (!ok) return;
        await attempt(failure, async () => {
          await api("DELETE", `/connected_apps/${encodeURIComponent(app.key_code_ref)}`);
          apps.splice(apps.indexOf(app), 1);
          render();
          notify(`${app.name} disconnected`);
        });
      });
      return [
        h(
          "div",
          { class: "row-line" },
          providerMark({ name: app.name, logo: providerOf(app.provider)?.logo }),
          h("h3", null, app.name),
          more,
          menu,
        ),
        h("p", { class: "muted small" }, providerName(app.provider)),
        h("p", { class: "small" }, "Reference key: ", h("code", null, app.key_code_ref)),
        app.offer_at_sign_in ? h("p", null, h("span", { class: "badge" }, "Offered at sign-in")) : null,
        h(
          "div",
          { class: "tile-actions" },
          h(
            "button",
            { type: "button", class: "secondary small", onclick: () => configureDialog(app) },
            "Configure",
          ),
        ),
      ];
    };

    const failure = h("div");

    const connectDialog = () => {
      let chosen: Provider | undefined;
      const catalogId = uid("catalog");
      const buttons = catalog.providers.map((provider) => {
        const button = h(
          "button",
          { type: "button", "aria-pressed": "false" },
          providerMark(provider),
          h("span", null, provider.name),
        );
        button.addEventListener("click", () => {
          chosen = provider;
          for (const b of buttons) b.setAttribute("aria-pressed", String(b === button));
          choose(provider);
          // The form appears below a long catalog (issue 20): bring it into view and start at its
          // first field to fill, instead of leaving the person at the provider buttons.
          details.scrollIntoView({ block: "start" });
          details.querySelector<HTMLElement>("input[name=key_code_ref]")?.focus({ preventScroll: true });
        });
        return button;
      });
      const details = h("div");
      const formFailure = h("div");
      let fields: Field<HTMLInputElement | HTMLTextAreaElement>[] = [];
      let scopes = scopePicker(undefined, []);
      const choose = (provider: Provider) => {
        const taken = new Set(apps.map((a) => a.key_code_ref));
        let suggestion = provider.id;
        for (let n = 2; taken.has(suggestion); n += 1) suggestion = `${provider.id}-${n}`;
        const key = field({
          label: "Reference key",
          name: "key_code_ref",
          required: true,
          value: suggestion,
          hint: "Your code asks for tokens with this key (key_code_ref).",
          validate: (v) =>
            keyProblem(v) ?? (taken.has(v.trim()) ? "Another connected app uses this key" : undefined),
        });
        const clientId = field({
          label: "Client ID",
          name: "client_id",
          required: true,
          hint: `From your OAuth app at ${provider.name}.`,
        });
        const secret = field({
          label: "Client secret",
          name: "client_secret",
          type: "password",
          required: true,
          autocomplete: "off",
        });
        const callback = field({
          label: "Callback URL for your app",
          name: "callback_url",
          required: true,
          placeholder: "https://app.example.com/connected",
          hint: "Where Latchkey sends the user once they have connected.",
          validate: urlProblem,
        });
        scopes = scopePicker(provider, []);
        fields = [key, clientId, secret, callback, scopes.field];
        const extra: HTMLElement[] = [];
        if (provider.id === GENERIC) {
          const authorization = field({
            label: "Authorization URL",
            name: "authorization_url",
            required: true,
            validate: optionalUrl,
          });
          const token = field({
            label: "Token URL",
            name: "token_url",
            required: true,
            validate: optionalUrl,
          });
          fields.push(authorization, token);
          extra.push(authorization.element, token.element);
        }
        replace(
          details,
          h("h3", null, `Connect ${provider.name}`),
          copyable("Provider-to-Latchkey callback URL", catalog.provider_callback_url),
          h(
            "p",
            { class: "hint" },
            `Register this URL as the redirect (callback) URL of your OAuth app at ${provider.name}.`,
          ),
          h("div", { class: "grid-2" }, key.element, clientId.element),
          secret.element,
          callback.element,
          extra,
          scopes.element,
        );
      };
      const form = h(
        "form",
        { novalidate: true },
        h("p", { id: catalogId, class: "muted" }, "Choose the app your users will connect."),
        h("div", { class: "catalog", role: "group", "aria-labelledby": catalogId }, buttons),
        details,
        formFailure,
        h(
          "div",
          { class: "actions" },
          h("button", { type: "button", class: "secondary", onclick: () => dialog.close() }, "Cancel"),
          h("button", { type: "submit", class: "primary" }, "Save"),
        ),
      );
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        if (!chosen) {
          replace(formFailure, h("div", { class: "alert error", role: "alert" }, "Choose an app first."));
          buttons[0]?.focus();
          return;
        }
        const bad = fields.find((f) => !f.check());
        if (bad) return bad.input.focus();
        const value = (name: string) => fields.find((f) => f.input.name === name)?.input.value.trim() ?? "";
        const provider = chosen;
        await attempt(formFailure, async () => {
          const created = await api<{ connected_app: ConnectedApp }>("POST", "/connected_apps", {
            key_code_ref: value("key_code_ref"),
            provider: provider.id,
            client_id: value("client_id"),
            client_secret: value("client_secret"),
            callback_url: value("callback_url"),
            scopes: scopes.value(),
            ...(provider.id === GENERIC
              ? { settings: { authorization_url: value("authorization_url"), token_url: value("token_url") } }
              : {}),
          });
          apps.push(created.connected_app);
          apps.sort((a, b) => (a.key_code_ref < b.key_code_ref ? -1 : 1));
          dialog.close();
          render();
          // Configured, not connected: no one's account is linked until they connect it themselves.
          notify(`${created.connected_app.name} configured. Choose its permissions next.`);
        });
      });
      const dialog = openDialog({
        title: "Connect an app",
        description: "Latchkey becomes the OAuth client of the app; your users connect their accounts once.",
        wide: true,
        content: [form],
      });
    };

    const configureDialog = (app: ConnectedApp) => {
      const provider = catalog.providers.find((p) => p.id === app.provider);
      const name = field({ label: "Name", name: "name", required: true, value: app.name });
      const clientId = field({ label: "Client ID", name: "client_id", required: true, value: app.client_id });
      const secret = field({
        label: "Client secret",
        name: "client_secret",
        type: "password",
        autocomplete: "off",
        hint: "Stored encrypted and never shown. Leave empty to keep the current secret; changing the provider's endpoints needs it typed again.",
      });
      const callback = field({
        label: "Callback URL for your app",
        name: "callback_url",
        required: true,
        value: app.callback_url,
        hint: "Where Latchkey sends the user once they have connected.",
        validate: urlProblem,
      });
      const detailFields: Field<HTMLInputElement | HTMLTextAreaElement>[] = [
        name,
        clientId,
        secret,
        callback,
      ];
      const settingFields: Field<HTMLInputElement | HTMLTextAreaElement>[] = [];
      if (app.provider === GENERIC) {
        for (const [key, label] of [
          ["authorization_url", "Authorization URL"],
          ["token_url", "Token URL"],
          ["revocation_url", "Revocation URL (optional)"],
        ] as const) {
          settingFields.push(
            field({
              label,
              name: key,
              value: app.settings[key] ?? "",
              validate: optionalUrl,
              required: key !== "revocation_url",
            }),
          );
        }
      }
      const scopes = scopePicker(provider, app.scopes);
      const offer = checkbox({
        label: "Offer at sign-in",
        name: "offer_at_sign_in",
        checked: app.offer_at_sign_in,
        hint: "After signing in, users are invited to connect this app (they can skip).",
      });

      const tabs = [
        {
          id: uid("tab"),
          label: "Details",
          panel: [
            ...detailFields.map((f) => f.element),
            copyable("Reference key", app.key_code_ref),
            copyable("Provider-to-Latchkey callback URL", app.provider_callback_url),
            h(
              "p",
              { class: "hint" },
              `Register this URL as the redirect URL of your OAuth app at ${provider?.name ?? app.provider}.`,
            ),
            ...settingFields.map((f) => f.element),
          ],
        },
        {
          id: uid("tab"),
          label: "Permissions",
          panel: [
            scopes.element,
            provider?.docs
              ? h(
                  "p",
                  { class: "hint" },
                  "Scope names: ",
                  h(
                    "a",
                    { href: provider.docs, target: "_blank", rel: "noreferrer noopener" },
                    `${provider.name} documentation`,
                  ),
                )
              : null,
            offer.element,
          ],
        },
      ];
      const tabButtons = tabs.map((tab, index) =>
        h(
          "button",
          {
            type: "button",
            role: "tab",
            id: tab.id,
            "aria-controls": `${tab.id}-panel`,
            "aria-selected": String(index === 0),
            tabindex: index === 0 ? "0" : "-1",
          },
          tab.label,
        ),
      );
      const panels = tabs.map((tab, index) =>
        h(
          "div",
          {
            role: "tabpanel",
            id: `${tab.id}-panel`,
            "aria-labelledby": tab.id,
            hidden: index !== 0,
            tabindex: "0",
          },
          tab.panel,
        ),
      );
      const select = (index: number) => {
        tabButtons.forEach((b, i) => {
          b.setAttribute("aria-selected", String(i === index));
          b.tabIndex = i === index ? 0 : -1;
          panels[i]!.hidden = i !== index;
        });
        tabButtons[index]!.focus();
      };
      tabButtons.forEach((button, index) => {
        button.addEventListener("click", () => select(index));
        button.addEventListener("keydown", (event) => {
          const last = tabButtons.length - 1;
          const to =
            event.key === "ArrowRight"
              ? index === last
                ? 0
                : index + 1
              : event.key === "ArrowLeft"
                ? index === 0
                  ? last
                  : index - 1
                : event.key === "Home"
                  ? 0
                  : event.key === "End"
                    ? last
                    : undefined;
          if (to === undefined) return;
          event.preventDefault();
          select(to);
        });
      });
      formDialog({
        title: `Configure ${app.name}`,
        wide: true,
        content: [h("div", { role: "tablist", "aria-label": `${app.name} settings` }, tabButtons), panels],
        fields: [...detailFields, ...settingFields, scopes.field].map((f) => ({
          check: () => f.check(),
          focus: () => {
            // Show the tab holding the problem.
            const panelIndex = panels.findIndex((p) => p.contains(f.input));
            if (panelIndex >= 0) select(panelIndex);
            f.input.focus();
          },
        })),
        submit: async (dialog) => {
          const body: Record<string, unknown> = {
            name: name.input.value.trim(),
            client_id: clientId.input.value.trim(),
            callback_url: callback.input.value.trim(),
            scopes: scopes.value(),
            offer_at_sign_in: offer.input.checked,
          };
          if (secret.input.value) body.client_secret = secret.input.value;
          if (settingFields.length) {
            const settings: Settings = { ...app.settings };
            for (const f of settingFields) {
              const key = f.input.name as "authorization_url" | "token_url" | "revocation_url";
              const value = f.input.value.trim();
              if (value) settings[key] = value;
              else delete settings[key];
            }
            body.settings = settings;
          }
          const updated = await api<{ connected_app: ConnectedApp }>(
            "PATCH",
            `/connected_apps/${encodeURIComponent(app.key_code_ref)}`,
            body,
          );
          Object.assign(app, updated.connected_app);
          dialog.close();
          render();
          notify(`${app.name} saved`);
        },
      });
    };

    render();
    return [
      pageHeader("Connected apps", {
        lead: "Let your application call third-party APIs for your users. Latchkey runs the OAuth flow with the provider and keeps their tokens fresh.",
        actions: [
          h("button", { type: "button", class: "primary", onclick: () => connectDialog() }, "Connect an app"),
        ],
      }),
      failure,
      list,
    ];
  });
};
