// An endpoint's recent deliveries on Settings › Webhooks (webhooks.ts): status, attempts, the
// receiver's last answer, the event as sent, Resend per row, Load more and Refresh; after a test
// event or a resend the table follows it for a while. Latchkey's GET /webhooks/{id}/deliveries and
// POST …/deliveries/{id}/resend.
import { api, query } from "../api.js";
import { formatDate, h, notify, replace, uid } from "../dom.js";
import { attempt } from "../view.js";
import { tableHead, visuallyHidden } from "../widgets.js";
import type { Webhook } from "./webhook-form.js";

interface Delivery {
  id: string;
  event_id: string;
  event_type: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  last_attempt_on: string | null;
  last_status_code: number | null;
  last_duration_ms: number | null;
  last_error: string | null;
  delivered_on: string | null;
  created_on: string;
}

interface DeliveriesPage {
  deliveries: Delivery[];
  next_token: string | null;
}

const PAGE_SIZE = 10;
/** The server's largest page (src/management/schemas.ts MAX_PAGE_SIZE). */
const MAX_PAGE_SIZE = 500;
/** How long the screen follows a test event or a resend before leaving it to "Refresh". */
const WATCH_MS = 20_000;
const WATCH_STEP_MS = 1_000;

function statusWords(delivery: Delivery): HTMLElement {
  if (delivery.status === "delivered") return h("span", { class: "status-ok" }, "Delivered");
  if (delivery.status === "failed") return h("span", { class: "status-bad" }, "Failed");
  return delivery.attempts > 0 ? h("span", { class: "status-bad" }, "Retrying") : h("span", null, "Pending");
}

/** A date over a time, each kept on one line (the log has many columns to fit). */
function when(value: string): HTMLElement {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return h("time", null, value);
  return h(
    "time",
    { datetime: value },
    h("span", null, date.toLocaleDateString(undefined, { dateStyle: "medium" })),
    " ",
    h("span", null, date.toLocaleTimeString(undefined, { timeStyle: "short" })),
  );
}

/**
 * An endpoint's deliveries, newest first: Show event (the event as sent) and Resend per row, Load
 * more and Refresh.
 */
export class DeliveriesTable {
  readonly element: HTMLElement;
  private readonly body = h("div", null, h("p", { class: "loading", role: "status" }, "Loading…"));
  private readonly failure = h("div");
  private readonly more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  private readonly path: string;
  private rows: Delivery[] = [];
  private next: string | null = null;
  /** Deliveries whose event is shown, and the events read so far (kept across redraws). */
  private readonly open = new Set<string>();
  private readonly events = new Map<string, string>();

  constructor(private readonly webhook: Webhook) {
    this.path = `/webhooks/${encodeURIComponent(webhook.id)}/deliveries`;
    const refresh = h("button", { type: "button", class: "secondary" }, "Refresh deliveries");
    refresh.addEventListener("click", async () => {
      if (await attempt(this.failure, () => this.refresh())) notify("Deliveries refreshed");
    });
    this.more.addEventListener("click", () => void this.loadMore());
    this.element = h(
      "div",
      { class: "deliveries" },
      this.body,
      h("div", { class: "pager deliveries-pager" }, this.more, refresh),
      this.failure,
    );
    void attempt(this.failure, () => this.refresh()).then((ok) => {
      if (!ok) replace(this.body);
    });
  }

  /** Reads the newest deliveries again, as many as are shown (at least a page). */
  async refresh(): Promise<void> {
    const size = Math.min(MAX_PAGE_SIZE, Math.max(PAGE_SIZE, this.rows.length));
    const page = await api<DeliveriesPage>("GET", `${this.path}${query({ page_size: size })}`);
    this.rows = page.deliveries;
    this.next = page.next_token;
    this.render();
  }

  private async loadMore(): Promise<void> {
    this.more.disabled = true;
    await attempt(this.failure, async () => {
      const page = await api<DeliveriesPage>(
        "GET",
        `${this.path}${query({ page_size: PAGE_SIZE, next_token: this.next ?? undefined })}`,
      );
      const firstNew = this.rows.length;
      this.rows.push(...page.deliveries);
      this.next = page.next_token;
      this.render();
      notify(
        `${page.deliveries.length} older ${page.deliveries.length === 1 ? "delivery" : "deliveries"} loaded`,
      );
      // Once everything is listed the button goes: focus the first row it brought instead.
      if (this.next === null)
        this.body.querySelectorAll<HTMLElement>('[data-action="show"]')[firstNew]?.focus();
    });
    this.more.disabled = false;
  }

  private render(): void {
    // Redrawing replaces the rows: the button that had focus gets it back on its new row.
    const focused = document.activeElement;
    const had =
      focused instanceof HTMLElement && this.body.contains(focused) && focused.dataset.delivery
        ? { delivery: focused.dataset.delivery, action: focused.dataset.action ?? "" }
        : undefined;
    this.more.hidden = this.next === null;
    if (this.rows.length === 0) {
      replace(
        this.body,
        h("p", { class: "muted" }, "No deliveries yet. Send a test event to try the endpoint."),
      );
      return;
    }
    replace(
      this.body,
      h(
        "div",
        { class: "table-wrap flat" },
        h(
          "table",
          { class: "deliveries" },
          tableHead(`Recent deliveries to ${this.webhook.name}`, [
            "Event",
            "Status",
            "Attempts",
            "Response",
            "Duration",
            "Last error",
            "Time",
            visuallyHidden("Actions"),
          ]),
          h(
            "tbody",
            null,
            this.rows.map((delivery) => this.row(delivery)),
          ),
        ),
      ),
    );
    if (had)
      this.body
        .querySelector<HTMLElement>(
          `[data-action="${CSS.escape(had.action)}"][data-delivery="${CSS.escape(had.delivery)}"]`,
        )
        ?.focus();
  }

  /** A delivery's row, and the row below it that "Show event" opens (hidden until then). */
  private row(delivery: Delivery): HTMLTableRowElement[] {
    const sent = formatDate(delivery.created_on);
    const resend = h(
      "button",
      {
        type: "button",
        class: "secondary small",
        "data-action": "resend",
        "data-delivery": delivery.id,
        "aria-label": `Resend ${delivery.event_type} of ${sent}`,
      },
      "Resend",
    );
    resend.addEventListener("click", async () => {
      resend.disabled = true;
      const ok = await attempt(this.failure, async () => {
        await api(
          "POST",
          `/webhooks/${encodeURIComponent(this.webhook.id)}/deliveries/${encodeURIComponent(delivery.id)}/resend`,
        );
        notify(
          this.webhook.is_enabled
            ? `${delivery.event_type} queued again`
            : `${delivery.event_type} queued again; it is sent when the endpoint is enabled`,
        );
        resend.disabled = false;
        resend.focus();
        await this.refresh();
      });
      if (!ok) resend.disabled = false;
      if (ok && this.webhook.is_enabled)
        void this.watch((d) => d.id === delivery.id, delivery.attempts, `The ${delivery.event_type} event`);
    });

    const detailId = uid("delivery-detail");
    const detail = h(
      "tr",
      { id: detailId, class: "delivery-detail", hidden: !this.open.has(delivery.id) },
      h("td", { colspan: 8 }),
    );
    const cell = detail.firstElementChild as HTMLElement;
    const show = h(
      "button",
      {
        type: "button",
        class: "secondary small",
        "data-action": "show",
        "data-delivery": delivery.id,
        "aria-expanded": String(this.open.has(delivery.id)),
        "aria-controls": detailId,
        "aria-label": `Show event ${delivery.event_type} of ${sent}`,
      },
      "Show event",
    );
    const fill = async () => {
      const cached = this.events.get(delivery.event_id);
      if (cached !== undefined) {
        replace(cell, h("pre", { class: "event-body" }, cached));
        return;
      }
      replace(cell, h("p", { class: "loading", role: "status" }, "Loading…"));
      const ok = await attempt(cell, async () => {
        const { event } = await api<{ event: Record<string, unknown> }>(
          "GET",
          `/events/${encodeURIComponent(delivery.event_id)}`,
        );
        // As text (a text node), never parsed as HTML: the data holds what users typed.
        const text = JSON.stringify(event, null, 2);
        this.events.set(delivery.event_id, text);
        replace(cell, h("pre", { class: "event-body" }, text));
      });
      if (!ok && !cell.querySelector(".alert")) replace(cell);
    };
    if (this.open.has(delivery.id)) void fill();
    show.addEventListener("click", () => {
      const open = show.getAttribute("aria-expanded") !== "true";
      show.setAttribute("aria-expanded", String(open));
      show.textContent = open ? "Hide event" : "Show event";
      show.setAttribute("aria-label", `${open ? "Hide" : "Show"} event ${delivery.event_type} of ${sent}`);
      detail.hidden = !open;
      if (open) {
        this.open.add(delivery.id);
        void fill();
      } else this.open.delete(delivery.id);
    });
    if (this.open.has(delivery.id)) {
      show.textContent = "Hide event";
      show.setAttribute("aria-label", `Hide event ${delivery.event_type} of ${sent}`);
    }

    const time = delivery.delivered_on ?? delivery.last_attempt_on ?? delivery.created_on;
    const row = h(
      "tr",
      { "data-delivery": delivery.id },
      h("td", null, h("code", null, delivery.event_type)),
      h("td", null, statusWords(delivery)),
      h("td", null, String(delivery.attempts)),
      h("td", null, delivery.last_status_code === null ? "—" : String(delivery.last_status_code)),
      h("td", null, delivery.last_duration_ms === null ? "—" : `${delivery.last_duration_ms} ms`),
      h("td", { class: "mono delivery-error" }, delivery.last_error ?? "—"),
      h("td", null, when(time)),
      h("td", null, h("div", { class: "row-actions" }, show, resend)),
    );
    return [row, detail];
  }

  /**
   * Refreshes the table every second for a while after a test event or a resend, until the
   * delivery `found` picks has had an attempt beyond its `attempts` ones, then says how it went.
   */
  async watch(found: (delivery: Delivery) => boolean, attempts: number, label: string): Promise<void> {
    try {
      const deadline = Date.now() + WATCH_MS;
      while (Date.now() < deadline && this.element.isConnected) {
        await new Promise((resolve) => window.setTimeout(resolve, WATCH_STEP_MS));
        if (!this.element.isConnected) return;
        await this.refresh();
        const delivery = this.rows.find(found);
        if (!delivery || delivery.attempts <= attempts) continue;
        notify(
          delivery.status === "delivered"
            ? `${label} was delivered (HTTP ${delivery.last_status_code ?? "2xx"})`
            : `${label} was not delivered: ${delivery.last_error ?? "no answer"}. Latchkey retries it.`,
        );
        return;
      }
    } catch {
      // Following is a courtesy; "Refresh deliveries" reports its own errors.
    }
  }
}
