// Settings › Webhooks (issue 18): the endpoints Latchkey POSTs events to, each event a JWT signed
// with the business's signing keys (body application/jwt, Kinde's format; receivers verify it with
// @kinde/webhooks against /.well-known/jwks.json). Add an endpoint and choose its events, edit
// them, disable, enable or delete it, send it a test event, and read its recent deliveries (status,
// attempts, the receiver's last answer) with "Resend" per row and "Load more". An endpoint whose
// deliveries failed for 72 hours is disabled by the worker (src/webhooks/worker.ts); this screen
// says so on the endpoint, and webhookAlert() says so on every other screen.
//
// Management API: GET/POST /webhooks, PATCH/DELETE /webhooks/{id}, GET /event_types, and
// Latchkey's GET /webhooks/{id}/deliveries, POST …/deliveries/{id}/resend, POST /webhooks/{id}/test.
import { api } from "../api.js";
import { type Child, emptyState, formatDate, h, notify, replace, uid } from "../dom.js";
import { attempt, load, navigate, pageHeader, type Screen, scopesMissing } from "../view.js";
import { formDialog, whenConfirmed } from "../widgets.js";
import { DeliveriesTable } from "./webhook-deliveries.js";
import { type EventType, endpointForm, type Webhook } from "./webhook-form.js";

const PATH = "/admin/settings/webhooks";

const FAILED_WARNING =
  "Deliveries to this endpoint failed for 72 hours; it receives nothing until you re-enable it.";

/**
 * Whether the worker disabled the endpoint after its deliveries failed for too long (its reason
 * is "deliveries failed for 72 hours"; an administrator's is "disabled by an administrator").
 */
export function disabledByFailures(webhook: Pick<Webhook, "is_enabled" | "disabled_reason">): boolean {
  return !webhook.is_enabled && /^deliveries failed/i.test(webhook.disabled_reason ?? "");
}

async function loadWebhooks(): Promise<Webhook[]> {
  return (await api<{ webhooks: Webhook[] }>("GET", "/webhooks")).webhooks;
}

// ---- the alert on other screens -----------------------------------------------------------------

/** How long one count of failed endpoints is reused across screens (one GET per minute at most). */
const ALERT_CACHE_MS = 60_000;
let alertCount: { at: number; count: Promise<number> } | undefined;

/** Keeps the count this screen has just read, so other screens say what it showed. */
function rememberFailures(webhooks: Webhook[]): void {
  alertCount = { at: Date.now(), count: Promise.resolve(webhooks.filter(disabledByFailures).length) };
}

function failedEndpointCount(): Promise<number> {
  if (!alertCount || Date.now() - alertCount.at > ALERT_CACHE_MS) {
    alertCount = {
      at: Date.now(),
      // A hint, not the screen's content: a token without read:webhooks (a tab signed in before
      // the dashboard asked for it) or any other failure shows no alert, and the screen itself
      // still reports its own errors.
      count: loadWebhooks().then(
        (webhooks) => webhooks.filter(disabledByFailures).length,
        () => 0,
      ),
    };
  }
  return alertCount.count;
}

/**
 * Puts a warning under the page heading of any screen but this one while an endpoint is disabled
 * after 72 hours of failures, so an administrator hears of it wherever they are (issue 18).
 * `current` tells whether the screen is still the one shown when the answer arrives.
 */
export async function webhookAlert(main: HTMLElement, current: () => boolean): Promise<void> {
  if (location.pathname.startsWith(PATH)) return;
  const count = await failedEndpointCount();
  if (count === 0 || !current() || main.querySelector(".webhook-alert")) return;
  const banner = h(
    "div",
    { class: "alert warning webhook-alert" },
    h(
      "p",
      null,
      count === 1
        ? "A webhook endpoint is disabled: its deliveries failed for 72 hours, and it receives nothing until you re-enable it. "
        : `${count} webhook endpoints are disabled: their deliveries failed for 72 hours, and they receive nothing until you re-enable them. `,
      h("a", { href: PATH }, "Review webhooks"),
    ),
  );
  // After the heading and its lead, where focus lands and reading goes on.
  const header = main.querySelector(".page-header");
  if (header) header.after(banner);
  else main.prepend(banner);
}

// ---- the screen ---------------------------------------------------------------------------------

export const webhooksSettings: Screen = async (view) => {
  await load(view, async () => {
    const header = pageHeader("Webhooks", {
      lead: "Latchkey POSTs each event to the endpoints subscribed to it, as a JWT signed with your signing keys (body application/jwt; verify it with @kinde/webhooks). Failed deliveries are retried with growing gaps for 72 hours.",
      actions: [
        h(
          "button",
          { type: "button", class: "secondary", onclick: () => navigate(PATH, { replace: true }) },
          "Refresh",
        ),
      ],
    });
    let loaded: [Webhook[], EventType[]];
    try {
      loaded = await Promise.all([
        loadWebhooks(),
        api<{ event_types: EventType[] }>("GET", "/event_types").then((r) => r.event_types),
      ]);
    } catch (error) {
      const refused = scopesMissing(error, "webhooks");
      if (refused) return [header, refused];
      throw error;
    }
    const [webhooks, types] = loaded;
    rememberFailures(webhooks);
    return [header, new WebhooksList(webhooks, types).element];
  });
};

/** The endpoints: a summary of disabled ones, a panel for each, and the button that adds one. */
class WebhooksList {
  readonly element = h("div");
  private readonly summary = h("div");
  private readonly panels = h("div");
  private readonly failure = h("div");
  private readonly addButton = h(
    "button",
    { type: "button", class: "primary", onclick: () => this.openAdd() },
    "Add endpoint",
  );

  constructor(
    private webhooks: Webhook[],
    private readonly types: EventType[],
  ) {
    replace(
      this.element,
      this.summary,
      h("div", { class: "actions webhooks-add" }, this.addButton),
      this.failure,
      this.panels,
    );
    this.render();
  }

  private render(): void {
    const failed = this.webhooks.filter(disabledByFailures);
    replace(
      this.summary,
      failed.length > 0
        ? h(
            "div",
            { class: "alert warning" },
            h(
              "p",
              null,
              failed.length === 1
                ? `${failed[0]!.name} is disabled: its deliveries failed for 72 hours. Fix the receiver, then choose Enable on it.`
                : `${failed.length} endpoints are disabled: their deliveries failed for 72 hours. Fix the receivers, then choose Enable on each.`,
            ),
          )
        : null,
    );
    this.addButton.hidden = this.webhooks.length === 0;
    if (this.webhooks.length === 0) {
      replace(
        this.panels,
        emptyState(
          "No endpoints yet",
          "Add the URL of your app's webhook receiver and choose the events it wants: users, organizations, roles and permissions created, changed or deleted, and sign-ins.",
          h("button", { type: "button", class: "primary", onclick: () => this.openAdd() }, "Add endpoint"),
        ),
      );
      return;
    }
    replace(
      this.panels,
      this.webhooks.map((webhook) => this.panel(webhook)),
    );
  }

  /** Reads the endpoints again (the server's word on their state) and redraws. */
  private async reload(): Promise<void> {
    this.webhooks = await loadWebhooks();
    rememberFailures(this.webhooks);
    this.render();
  }

  private panelOf(id: string): HTMLElement | null {
    return this.panels.querySelector<HTMLElement>(`section[data-webhook="${CSS.escape(id)}"]`);
  }

  /** Moves focus to `selector` inside the endpoint's panel, or its heading. */
  private focusIn(id: string, selector?: string): void {
    const panel = this.panelOf(id);
    const target =
      (selector ? panel?.querySelector<HTMLElement>(selector) : null) ??
      panel?.querySelector<HTMLElement>("h2");
    target?.focus();
  }

  private openAdd(): void {
    const form = endpointForm(this.types, undefined);
    formDialog({
      title: "Add an endpoint",
      description: "Latchkey sends the chosen events to this URL as they happen.",
      wide: true,
      content: form.content,
      fields: form.fields,
      submitLabel: "Add endpoint",
      submit: async (dialog) => {
        const body = {
          name: form.name.input.value.trim(),
          endpoint: form.url.input.value.trim(),
          event_types: form.events.chosen(),
          ...(form.description.input.value.trim()
            ? { description: form.description.input.value.trim() }
            : {}),
        };
        let created: { webhook: { id: string } };
        try {
          created = await api<{ webhook: { id: string } }>("POST", "/webhooks", body);
        } catch (error) {
          if (form.showProblem(error)) return;
          throw error;
        }
        dialog.close();
        await attempt(this.failure, () => this.reload());
        notify(`Endpoint ${body.name} added`);
        this.focusIn(created.webhook.id);
      },
    });
  }

  private openEdit(webhook: Webhook): void {
    const form = endpointForm(this.types, webhook);
    formDialog({
      title: `Edit ${webhook.name}`,
      description: "The URL cannot change: add a new endpoint for another URL.",
      wide: true,
      content: form.content,
      fields: form.fields,
      submit: async (dialog) => {
        try {
          await api("PATCH", `/webhooks/${encodeURIComponent(webhook.id)}`, {
            name: form.name.input.value.trim(),
            description: form.description.input.value.trim() || null,
            event_types: form.events.chosen(),
          });
        } catch (error) {
          if (form.showProblem(error)) return;
          throw error;
        }
        dialog.close();
        await attempt(this.failure, () => this.reload());
        notify(`Endpoint ${form.name.input.value.trim()} saved`);
        this.focusIn(webhook.id, '[data-action="edit"]');
      },
    });
  }

  private panel(webhook: Webhook): HTMLElement {
    const headingId = uid("webhook");
    const failure = h("div");
    const deliveries = new DeliveriesTable(webhook);

    const test = h(
      "button",
      { type: "button", class: "secondary", "data-action": "test" },
      "Send test event",
    );
    test.addEventListener("click", async () => {
      test.disabled = true;
      await attempt(failure, async () => {
        const { event_id } = await api<{ event_id: string }>(
          "POST",
          `/webhooks/${encodeURIComponent(webhook.id)}/test`,
        );
        notify(
          webhook.is_enabled
            ? "Test event queued"
            : "Test event queued; it is sent when the endpoint is enabled again",
        );
        await deliveries.refresh();
        if (webhook.is_enabled) void deliveries.watch((d) => d.event_id === event_id, 0, "The test event");
      });
      test.disabled = false;
      // The button stays where it was: focus stays on it.
      test.focus();
    });

    const edit = h(
      "button",
      { type: "button", class: "secondary", "data-action": "edit", onclick: () => this.openEdit(webhook) },
      "Edit",
    );

    const toggle = h(
      "button",
      { type: "button", class: "secondary", "data-action": "toggle" },
      webhook.is_enabled ? "Disable" : "Enable",
    );
    const setEnabled = async (enabled: boolean) => {
      await api("PATCH", `/webhooks/${encodeURIComponent(webhook.id)}`, { is_enabled: enabled });
      await this.reload();
      notify(
        enabled ? `${webhook.name} enabled; its waiting deliveries are sent now` : `${webhook.name} disabled`,
      );
      this.focusIn(webhook.id, '[data-action="toggle"]');
    };
    if (webhook.is_enabled) {
      whenConfirmed(
        toggle,
        {
          title: `Disable ${webhook.name}?`,
          message:
            "Events that happen while it is disabled are not sent to it, even after you enable it again. Deliveries already waiting are kept and go when it is enabled.",
          confirmLabel: "Disable endpoint",
        },
        failure,
        () => setEnabled(false),
      );
    } else {
      toggle.addEventListener("click", () => void attempt(failure, () => setEnabled(true)));
    }

    const remove = h("button", { type: "button", class: "danger", "data-action": "delete" }, "Delete");
    whenConfirmed(
      remove,
      {
        title: `Delete ${webhook.name}?`,
        message:
          "Latchkey stops sending events to it at once, and its delivery log is deleted with it. This cannot be undone.",
        confirmLabel: "Delete endpoint",
        danger: true,
      },
      failure,
      async () => {
        await api("DELETE", `/webhooks/${encodeURIComponent(webhook.id)}`);
        await this.reload();
        notify(`Endpoint ${webhook.name} deleted`);
        // The heading of the next endpoint, or the page's when none is left.
        (
          this.panels.querySelector<HTMLElement>("section[data-webhook] h2") ??
          document.querySelector<HTMLElement>("main h1")
        )?.focus();
      },
    );

    const typeName = (code: string) => this.types.find((t) => t.code === code)?.name ?? code;
    const facts: [string, Child][] = [
      ["URL", h("span", { class: "mono" }, webhook.endpoint)],
      [
        "Events",
        h(
          "ul",
          { class: "event-list" },
          webhook.event_types.map((code) =>
            h(
              "li",
              null,
              h("code", null, code),
              h("span", { class: "visually-hidden" }, ` (${typeName(code)})`),
            ),
          ),
        ),
      ],
    ];
    if (webhook.description) facts.push(["Description", webhook.description]);
    facts.push(["Added", h("time", { datetime: webhook.created_on }, formatDate(webhook.created_on))]);

    return h(
      "section",
      { class: "panel webhook", "data-webhook": webhook.id, "aria-labelledby": headingId },
      h(
        "div",
        { class: "webhook-head" },
        h(
          "h2",
          { id: headingId, tabindex: "-1" },
          webhook.name,
          webhook.is_enabled ? null : [" ", h("span", { class: "badge warn" }, "Disabled")],
        ),
      ),
      stateNote(webhook),
      h(
        "dl",
        { class: "facts" },
        facts.map(([term, value]) => [h("dt", null, term), h("dd", null, value)]),
      ),
      h("div", { class: "actions webhook-actions" }, test, edit, toggle, remove),
      failure,
      h("h3", { class: "form-heading" }, "Recent deliveries"),
      deliveries.element,
    );
  }
}

/** What the endpoint's state means for its events: disabled (and why), failing, or nothing. */
function stateNote(webhook: Webhook): HTMLElement | null {
  const since = webhook.disabled_on ? ` Disabled on ${formatDate(webhook.disabled_on)}.` : "";
  if (disabledByFailures(webhook))
    return h(
      "div",
      { class: "alert warning" },
      h("p", { class: "strong" }, FAILED_WARNING),
      h(
        "p",
        null,
        `${since.trim()} Check the last error below and fix the receiver, then choose Enable: the deliveries waiting for it are sent at once.`,
      ),
    );
  if (!webhook.is_enabled)
    return h(
      "div",
      { class: "alert info" },
      h("p", null, `Disabled by an administrator: it receives nothing until you enable it again.${since}`),
    );
  if (webhook.next_attempt_on)
    return h(
      "div",
      { class: "alert warning" },
      h(
        "p",
        null,
        `Deliveries to this endpoint are failing. The next attempt is at ${formatDate(webhook.next_attempt_on)}; after 72 hours of failures the endpoint is disabled.`,
      ),
    );
  return null;
}
