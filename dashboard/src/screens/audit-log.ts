// The audit log (issue 20): what was changed through the Management API and this dashboard, in
// words ("Ada Lovelace created application Acme Web"), newest first, filtered by who, what and
// when, a page at a time (keyset: GET /api/v1/audit_log's next_token), and exported as CSV.
// Filters and the page live in the address, so reload, Back and a shared link keep them.
import { api, query, SignInRequired } from "../api.js";
import { currentSession } from "../auth.js";
import { emptyState, field, formatDate, h, notify, replace, selectField } from "../dom.js";
import { errorBox, leftScreen, load, navigate, pageHeader, type Screen } from "../view.js";
import { listTable } from "../widgets.js";

const PAGE_SIZE = 50;
const FILTERS = ["actor", "action", "from", "to"] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

interface AuditEntry {
  id: string;
  created_on: string;
  actor_type: "application" | "user";
  actor_id: string;
  actor_name: string | null;
  description: string;
  method: string;
  path: string;
  status_code: number;
}

function filtersInAddress(): Filters {
  const search = new URLSearchParams(location.search);
  const filters: Filters = {};
  for (const name of FILTERS) {
    const value = search.get(name)?.trim();
    if (value) filters[name] = value;
  }
  return filters;
}

function address(filters: Filters, page?: string): string {
  return `/admin/audit-log${query({ ...filters, page })}`;
}

/** The sentence, its actor's name a link that shows only what they did. */
function whatHappened(entry: AuditEntry, filters: Filters): HTMLElement {
  const actor = entry.actor_name ?? entry.actor_id;
  const rest = entry.description.startsWith(actor)
    ? entry.description.slice(actor.length)
    : ` ${entry.description}`;
  return h(
    "td",
    null,
    h(
      "a",
      {
        href: address({ ...filters, actor: entry.actor_id }),
        title: `Only what ${actor} did`,
      },
      actor,
    ),
    rest,
    entry.actor_type === "application" ? h("span", { class: "muted small" }, " (application)") : null,
  );
}

/** Fetches the CSV with the administrator's token and hands it to the browser as a download. */
async function exportCsv(filters: Filters, button: HTMLButtonElement, slot: HTMLElement): Promise<void> {
  slot.replaceChildren();
  const session = currentSession();
  if (!session) {
    leftScreen(new SignInRequired());
    return;
  }
  button.disabled = true;
  button.textContent = "Exporting…";
  try {
    const response = await fetch(`/api/v1/audit_log/export${query(filters)}`, {
      headers: { authorization: `Bearer ${session.accessToken}`, accept: "text/csv" },
    });
    if (response.status === 401) throw new SignInRequired(true);
    if (!response.ok) {
      const body = (await response.json().catch(() => null)) as { errors?: { message?: string }[] } | null;
      throw new Error(body?.errors?.[0]?.message ?? `The export failed (HTTP ${response.status}).`);
    }
    const text = await response.text();
    const name =
      /filename="([^"]+)"/.exec(response.headers.get("content-disposition") ?? "")?.[1] ??
      "latchkey-audit-log.csv";
    const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
    const link = h("a", { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
    const rows = Math.max(0, text.split("\r\n").length - 2);
    const stopped = /Export stopped at [\d]+ rows[^\r\n]*/.exec(text);
    if (stopped)
      slot.append(h("div", { class: "alert warning", role: "alert" }, stopped[0].replace(/^"|"$/g, "")));
    else notify(`Exported ${rows} entr${rows === 1 ? "y" : "ies"}`);
  } catch (error) {
    if (!leftScreen(error)) slot.append(errorBox(error));
  } finally {
    button.disabled = false;
    button.textContent = "Export CSV";
  }
}

function filterForm(filters: Filters, actions: { code: string; name: string }[]): HTMLFormElement {
  const actor = field({
    label: "Who (optional)",
    name: "actor",
    value: filters.actor,
    hint: "An e-mail address, user ID or application's client ID.",
  });
  const action = selectField({
    label: "Action",
    name: "action",
    value: filters.action ?? "",
    choices: [{ value: "", label: "Any action" }, ...actions.map((a) => ({ value: a.code, label: a.name }))],
  });
  const from = field({ label: "From (optional)", name: "from", type: "date", value: filters.from });
  const to = field({ label: "To (optional)", name: "to", type: "date", value: filters.to });
  const form = h(
    "form",
    { class: "toolbar", role: "search", "aria-label": "Filter the audit log" },
    actor.element,
    action.element,
    from.element,
    to.element,
    h("button", { type: "submit", class: "secondary" }, "Apply filters"),
    Object.keys(filters).length
      ? h("a", { href: "/admin/audit-log", class: "button secondary" }, "Clear")
      : null,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next: Filters = {
      actor: actor.input.value.trim() || undefined,
      action: action.input.value || undefined,
      from: from.input.value || undefined,
      to: to.input.value || undefined,
    };
    if (next.from && next.to && next.from > next.to) {
      to.setError("The end date is before the start date");
      return;
    }
    navigate(address(next));
  });
  return form;
}

export const auditLog: Screen = async (view) => {
  const filters = filtersInAddress();
  const page = new URLSearchParams(location.search).get("page") ?? undefined;
  const exportSlot = h("div", { "aria-live": "polite" });
  const exportButton = h("button", { type: "button", class: "secondary" }, "Export CSV");
  exportButton.addEventListener("click", () => void exportCsv(filters, exportButton, exportSlot));
  await load(view, async () => {
    const [{ actions }, result] = await Promise.all([
      api<{ actions: { code: string; name: string }[] }>("GET", "/audit_log/actions"),
      api<{ entries: AuditEntry[]; next_token: string | null }>(
        "GET",
        `/audit_log${query({ ...filters, page_size: PAGE_SIZE, next_token: page })}`,
      ),
    ]);
    const results = h("div", null);
    if (result.entries.length === 0) {
      replace(
        results,
        Object.keys(filters).length || page
          ? emptyState(
              "Nothing matches",
              "No change recorded matches these filters. Widen the dates or clear them.",
            )
          : emptyState(
              "No changes recorded yet",
              "Every change made through the Management API or this dashboard appears here.",
            ),
      );
    } else {
      replace(
        results,
        listTable("Audit log", ["When", "What happened", "Result"], result.entries, (e) => [
          h("td", null, h("time", { datetime: e.created_on }, formatDate(e.created_on))),
          whatHappened(e, filters),
          h(
            "td",
            { title: `${e.method} ${e.path}` },
            e.status_code < 400
              ? h("span", { class: "status-ok" }, "Done")
              : h("span", { class: "status-bad" }, `Refused (${e.status_code})`),
          ),
        ]),
        h(
          "nav",
          { class: "pager", "aria-label": "Audit log pages" },
          page ? h("a", { href: address(filters), class: "button secondary" }, "Newest") : h("span"),
          result.next_token
            ? h("a", { href: address(filters, result.next_token), class: "button secondary" }, "Older")
            : null,
        ),
      );
    }
    return [
      pageHeader("Audit log", {
        lead: "Who changed what, through the Management API and this dashboard. Sign-ins are not listed here.",
        actions: [exportButton],
      }),
      exportSlot,
      filterForm(filters, actions),
      results,
    ];
  });
};
