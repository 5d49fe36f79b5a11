// Quick starts on an application's page: one tab for each SDK that fits the application's kind,
// each with its snippet (quick-start-snippets.ts) and a copy button.
import { copyButton, h, uid } from "../dom.js";
import { section } from "../view.js";
import {
  type QuickStart,
  type QuickStartApplication,
  quickStarts,
  quickStartValues,
} from "./quick-start-snippets.js";

/** Tabs (WAI-ARIA tabs pattern: arrow keys, Home and End move between them). */
function tabs(label: string, items: { label: string; panel: HTMLElement }[]): HTMLElement {
  const base = uid("quick-start");
  const buttons = items.map((item, index) =>
    h(
      "button",
      {
        type: "button",
        role: "tab",
        id: `${base}-${index}`,
        "aria-controls": `${base}-${index}-panel`,
        "aria-selected": String(index === 0),
        tabindex: index === 0 ? "0" : "-1",
      },
      item.label,
    ),
  );
  const panels = items.map((item, index) =>
    h(
      "div",
      {
        role: "tabpanel",
        id: `${base}-${index}-panel`,
        "aria-labelledby": `${base}-${index}`,
        hidden: index !== 0,
      },
      item.panel,
    ),
  );
  const select = (index: number, focus: boolean) => {
    buttons.forEach((button, i) => {
      button.setAttribute("aria-selected", String(i === index));
      button.tabIndex = i === index ? 0 : -1;
      panels[i]!.hidden = i !== index;
    });
    if (focus) buttons[index]!.focus();
  };
  const moves: Record<string, (index: number, last: number) => number> = {
    ArrowRight: (i, last) => (i === last ? 0 : i + 1),
    ArrowLeft: (i, last) => (i === 0 ? last : i - 1),
    Home: () => 0,
    End: (_i, last) => last,
  };
  buttons.forEach((button, index) => {
    button.addEventListener("click", () => select(index, false));
    button.addEventListener("keydown", (event) => {
      const move = moves[event.key];
      if (!move) return;
      event.preventDefault();
      select(move(index, buttons.length - 1), true);
    });
  });
  return h(
    "div",
    { class: "quick-start-tabs" },
    h("div", { role: "tablist", "aria-label": label }, buttons),
    panels,
  );
}

function snippetPanel(quickStart: QuickStart): HTMLElement {
  return h(
    "div",
    { class: "snippet" },
    h(
      "div",
      { class: "snippet-head" },
      h("p", { class: "muted" }, quickStart.lead, " ", h("code", null, quickStart.sdk)),
      copyButton(`${quickStart.label} snippet`, () => quickStart.code),
    ),
    h("pre", { tabindex: "0", "aria-label": `${quickStart.label} code` }, h("code", null, quickStart.code)),
  );
}

/** The "Quick start" section of an application's page. */
export function quickStartSection(
  domain: string,
  application: QuickStartApplication,
  callbacks: string[],
  logouts: string[],
): HTMLElement {
  const items = quickStarts(application.type, quickStartValues(domain, application, callbacks, logouts));
  return section(
    "Quick start",
    h(
      "p",
      { class: "muted" },
      "Copy one of these into your app. The values are this application's; the secret stays in an environment variable.",
    ),
    tabs(
      "Quick start SDKs",
      items.map((q) => ({ label: q.label, panel: snippetPanel(q) })),
    ),
  );
}
