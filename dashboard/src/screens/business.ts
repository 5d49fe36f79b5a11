// Settings › Business: the business name people see on the sign-in pages, signing-key rotation
// (publish a new key now, sign with it a few minutes later) and the audit log of Management API
// writes, newest first.
import { api, query } from "../api.js";
import { field, formatDate, h, notify, replace } from "../dom.js";
import { errorBox, leftScreen, load, pageHeader, type Screen, section } from "../view.js";
import { listTable, pageForm, whenConfirmed } from "../widgets.js";

interface Business {
  name: string;
  email: string | null;
  privacy_url: string | null;
  terms_url: string | null;
}

interface SigningKey {
  kid: string;
  status: "next" | "current" | "retired";
  created_on: string;
  signs_from: string;
  retired_on: string | null;
  expires_on: string | null;
}

interface AuditEntry {
  id: string;
  created_on: string;
  actor_type: "application" | "user";
  actor_id: string;
  method: string;
  path: string;
  status_code: number;
  ip_address: string | null;
}

const STATUS_WORDS: Record<SigningKey["status"], string> = {
  next: "Published, signs soon",
  current: "Signing",
  retired: "Verifying only",
};

function optionalLink(value: string): string | undefined {
  if (!value.trim()) return undefined;
  try {
    const url = new URL(value.trim());
    if (url.protocol !== "https:" && url.protocol !== "http:") return "Must be an http or https URL";
    return undefined;
  } catch {
    return "Must be an absolute URL (include https://)";
  }
}

export const businessSettings: Screen = async (view) => {
  await load(view, async () => {
    const [{ business }, { signing_keys: keys }] = await Promise.all([
      api<{ business: Business }>("GET", "/business"),
      api<{ signing_keys: SigningKey[] }>("GET", "/signing_keys"),
    ]);
    return [
      pageHeader("Business", {
        lead: "How your business appears to people, and the keys that sign their tokens.",
      }),
      businessSection(business),
      keysSection(keys),
      auditSection(),
    ];
  });
};

function businessSection(business: Business): HTMLElement {
  const name = field({
    label: "Business name",
    name: "business_name",
    required: true,
    value: business.name,
    hint: "Shown at the top of the sign-in and sign-up pages.",
    validate: (v) => (v.trim().length > 200 ? "Use at most 200 characters" : undefined),
  });
  const privacy = field({
    label: "Privacy policy URL (optional)",
    name: "privacy_url",
    type: "url",
    value: business.privacy_url ?? "",
    validate: optionalLink,
  });
  const terms = field({
    label: "Terms of service URL (optional)",
    name: "terms_url",
    type: "url",
    value: business.terms_url ?? "",
    validate: optionalLink,
  });
  const form = pageForm({
    content: [name.element, h("div", { class: "grid-2" }, privacy.element, terms.element)],
    fields: [name, privacy, terms],
    submit: async () => {
      await api("PATCH", "/business", {
        business_name: name.input.value.trim(),
        privacy_url: privacy.input.value.trim() || null,
        terms_url: terms.input.value.trim() || null,
      });
      notify("Business details saved");
    },
  });
  return section("Business details", form);
}

function keysSection(initial: SigningKey[]): HTMLElement {
  const body = h("div");
  const failure = h("div");
  const render = (keys: SigningKey[]) => {
    replace(
      body,
      listTable(
        "Signing keys",
        ["Key ID", "Status", "Signs from", "Stops signing", "Leaves the JWKS"],
        keys,
        (k) => [
          h("td", { class: "mono" }, k.kid),
          h("td", null, STATUS_WORDS[k.status]),
          h("td", null, formatDate(k.signs_from)),
          h("td", null, formatDate(k.retired_on)),
          h("td", null, formatDate(k.expires_on)),
        ],
        { flat: true },
      ),
    );
  };
  render(initial);
  const rotate = h("button", { type: "button", class: "secondary" }, "Rotate signing key");
  whenConfirmed(
    rotate,
    {
      title: "Rotate the signing key?",
      message:
        "A new key is published in the JWKS now and starts signing tokens in 5 minutes, so apps that cache the JWKS pick it up first. The current key keeps verifying the tokens it signed until they expire.",
      confirmLabel: "Rotate key",
    },
    failure,
    async () => {
      await api("POST", "/signing_keys/rotate");
      render((await api<{ signing_keys: SigningKey[] }>("GET", "/signing_keys")).signing_keys);
      notify("New signing key published");
    },
  );
  return section(
    "Signing keys",
    h(
      "p",
      { class: "muted" },
      "Tokens are signed with RS256. Rotate regularly, or at once if a key may have leaked.",
    ),
    body,
    h("div", { class: "actions" }, rotate),
    failure,
  );
}

function auditSection(): HTMLElement {
  const body = h("div", null, h("p", { class: "loading", role: "status" }, "Loading…"));
  const previous: (string | undefined)[] = [];
  let current: string | undefined;
  const show = async (token: string | undefined) => {
    try {
      const page = await api<{ entries: AuditEntry[]; next_token: string | null }>(
        "GET",
        `/audit_log${query({ page_size: 20, next_token: token })}`,
      );
      current = token;
      if (page.entries.length === 0) {
        replace(
          body,
          h(
            "p",
            { class: "muted" },
            "No changes recorded yet. Every change made through the Management API appears here.",
          ),
        );
        return;
      }
      const prev = h(
        "button",
        { type: "button", class: "secondary", disabled: previous.length === 0 },
        "Newer",
      );
      const next = h("button", { type: "button", class: "secondary", disabled: !page.next_token }, "Older");
      prev.addEventListener("click", () => void show(previous.pop()));
      next.addEventListener("click", () => {
        previous.push(current);
        void show(page.next_token ?? undefined);
      });
      replace(
        body,
        listTable(
          "Audit log",
          ["When", "Who", "Request", "Result"],
          page.entries,
          (e) => [
            h("td", null, formatDate(e.created_on)),
            h(
              "td",
              null,
              e.actor_type === "user" ? "Administrator " : "Application ",
              h("span", { class: "mono" }, e.actor_id),
            ),
            h("td", { class: "mono" }, `${e.method} ${e.path}`),
            h("td", null, String(e.status_code)),
          ],
          { flat: true },
        ),
        h("div", { class: "pager" }, prev, next),
      );
    } catch (error) {
      if (!leftScreen(error)) replace(body, errorBox(error));
    }
  };
  void show(undefined);
  return section(
    "Audit log",
    h("p", { class: "muted" }, "Changes made through the Management API and this dashboard."),
    body,
  );
}
