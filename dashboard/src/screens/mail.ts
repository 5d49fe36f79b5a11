// Settings › E-mail: the outbox, newest first (GET /api/v1/mail/outbox, a Latchkey extension). In
// development, without SMTP_URL, Latchkey keeps every message here instead of sending it, so the
// code or link a person would have received can be read here ("Show message"). Over SMTP the
// server returns no text (a sent message's body is gone; a pending one is for its owner only): the
// rows then show delivery — status, attempts, the relay's last error. Every value the server sends,
// the body above all, goes into the page as text (h() makes text nodes), never as HTML.
import { api, query } from "../api.js";
import { emptyState, formatDate, h, notify, uid } from "../dom.js";
import { attempt, load, navigate, pageHeader, type Screen, section } from "../view.js";
import { tableHead, visuallyHidden } from "../widgets.js";

interface MailMessage {
  id: string;
  kind: string;
  to: string;
  subject: string;
  status: "pending" | "sent" | "failed" | "outbox";
  attempts: number;
  created_on: string;
  sent_on: string | null;
  last_error: string | null;
  body_text: string | null;
}

interface OutboxPage {
  messages: MailMessage[];
  next_token: string | null;
}

const PAGE_SIZE = 20;

const KIND_WORDS: Record<string, string> = {
  verification_code: "Verification code",
  sign_in_code: "Sign-in code",
  password_reset_code: "Password reset code",
  password_changed: "Password changed",
  invitation: "Invitation",
  test: "Test message",
};

function statusCell(message: MailMessage): HTMLElement {
  switch (message.status) {
    case "outbox":
      return h("td", null, "Kept, not sent");
    case "sent":
      return h("td", null, h("span", { class: "status-ok" }, "Sent"));
    case "failed":
      return h("td", null, h("span", { class: "status-bad" }, "Failed"));
    default:
      return h("td", null, message.attempts > 0 ? "Retrying" : "Sending");
  }
}

/** Why a row has no text to show: it went (or is going) over SMTP, or its body did not open. */
function missingBody(message: MailMessage): string {
  switch (message.status) {
    case "outbox":
      return "The text of this message could not be opened. Check that LATCHKEY_MASTER_KEY is the key it was written with.";
    case "sent":
      return "Delivered. Latchkey keeps no copy of the text of a message it has sent.";
    case "failed":
      return "Latchkey gave up sending this message. Its text is not shown: it may hold a code meant only for the recipient.";
    default:
      return "On its way to the recipient. Its text is not shown: it may hold a code meant only for them.";
  }
}

function when(value: string): HTMLElement {
  return h("time", { datetime: value }, formatDate(value));
}

/** A message's row, and the row below it that "Show message" opens (hidden until then). */
function messageRows(message: MailMessage): HTMLTableRowElement[] {
  const detailId = uid("mail-detail");
  const facts: [string, Node | string][] = [["Written", when(message.created_on)]];
  if (message.sent_on) facts.push(["Sent", when(message.sent_on)]);
  if (message.last_error) facts.push(["Last error", h("span", { class: "mono" }, message.last_error)]);
  const detail = h(
    "tr",
    { id: detailId, class: "mail-detail", hidden: true },
    h(
      "td",
      { colspan: 7 },
      h(
        "dl",
        { class: "facts" },
        facts.map(([term, value]) => [h("dt", null, term), h("dd", null, value)]),
      ),
      message.body_text !== null
        ? h("pre", { class: "mail-body" }, message.body_text)
        : h("p", { class: "muted" }, missingBody(message)),
    ),
  );
  const noun = message.body_text !== null ? "message" : "details";
  const toggle = h(
    "button",
    { type: "button", class: "secondary small", "aria-expanded": "false", "aria-controls": detailId },
    `Show ${noun}`,
  );
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    toggle.textContent = `${open ? "Hide" : "Show"} ${noun}`;
    detail.hidden = !open;
  });
  const row = h(
    "tr",
    null,
    h("td", null, when(message.created_on)),
    h("td", null, message.to),
    h("td", null, message.subject),
    h("td", null, KIND_WORDS[message.kind] ?? message.kind),
    statusCell(message),
    h("td", null, String(message.attempts)),
    h("td", null, toggle),
  );
  return [row, detail];
}

export const mailSettings: Screen = async (view) => {
  await load(view, async () => {
    const first = await api<OutboxPage>("GET", `/mail/outbox${query({ page_size: PAGE_SIZE })}`);
    const refresh = h(
      "button",
      {
        type: "button",
        class: "secondary",
        onclick: () => navigate("/admin/settings/email", { replace: true }),
      },
      "Refresh",
    );
    return [
      pageHeader("E-mail", {
        lead: "The messages Latchkey writes: verification, sign-in and password-reset codes, notices and invitations.",
        actions: [refresh],
      }),
      outboxSection(first),
    ];
  });
};

function outboxSection(first: OutboxPage): HTMLElement {
  if (first.messages.length === 0) {
    return section(
      "Outbox",
      emptyState(
        "No messages yet",
        "In development, without SMTP_URL, Latchkey keeps every e-mail here instead of sending it.",
      ),
    );
  }
  const outboxNote = h(
    "p",
    { class: "muted", hidden: true },
    "In development, without SMTP_URL, Latchkey keeps every e-mail here instead of sending it: open a message to read its code or link.",
  );
  const smtpNote = h(
    "p",
    { class: "muted", hidden: true },
    "Messages sent over SMTP show no text here: their codes and links are for the recipient only.",
  );
  const tbody = h("tbody");
  const failure = h("div");
  const more = h("button", { type: "button", class: "secondary" }, "Load more");
  let next = first.next_token;

  const add = (messages: MailMessage[]) => {
    for (const message of messages) tbody.append(...messageRows(message));
    if (messages.some((m) => m.status === "outbox")) outboxNote.hidden = false;
    if (messages.some((m) => m.status !== "outbox")) smtpNote.hidden = false;
    more.hidden = next === null;
  };
  more.addEventListener("click", async () => {
    more.disabled = true;
    await attempt(failure, async () => {
      const page = await api<OutboxPage>(
        "GET",
        `/mail/outbox${query({ page_size: PAGE_SIZE, next_token: next ?? undefined })}`,
      );
      const firstNew = tbody.rows.length;
      next = page.next_token;
      add(page.messages);
      notify(`${page.messages.length} older ${page.messages.length === 1 ? "message" : "messages"} loaded`);
      // The button goes once everything is listed: focus the first row it brought, not the page.
      if (next === null) tbody.rows[firstNew]?.querySelector("button")?.focus();
    });
    more.disabled = false;
  });
  add(first.messages);

  return section(
    "Outbox",
    h("p", { class: "muted" }, "Newest first."),
    outboxNote,
    smtpNote,
    h(
      "div",
      { class: "table-wrap flat" },
      h(
        "table",
        { class: "outbox" },
        tableHead("Outbox", [
          "When",
          "To",
          "Subject",
          "Kind",
          "Status",
          "Attempts",
          visuallyHidden("Message"),
        ]),
        tbody,
      ),
    ),
    h("div", { class: "pager outbox-pager" }, more),
    failure,
  );
}
