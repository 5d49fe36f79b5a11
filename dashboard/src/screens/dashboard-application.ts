// The admin dashboard's own application, shown read-only. Latchkey keeps it in step with
// ISSUER_URL at every start (src/dashboard/dashboard-app.ts), and the Management API refuses every
// change to it, administrators included (403 DASHBOARD_APPLICATION_PROTECTED): a callback URL added
// to it would send an administrator's authorization code elsewhere, a longer lifetime would stretch
// every administrator's session. Forms and switches for it could only ever be refused, so its
// settings are shown as text with one sentence saying why.
import { formatDuration, h } from "../dom.js";
import { section } from "../view.js";
import { listTable } from "../widgets.js";

export interface ManagedApplication {
  type: string;
  access_token_lifetime: number;
  refresh_token_lifetime: number;
  id_token_lifetime: number;
}

/** Why nothing about the dashboard's application can be changed in the dashboard. */
export function managedSentence(issuer: string): string {
  return `Latchkey manages this application from ISSUER_URL (${issuer}); it cannot be changed here.`;
}

/** The sentence at the top of the dashboard's application page. */
export function managedNote(issuer: string): HTMLElement {
  return h("p", { class: "alert info" }, managedSentence(issuer));
}

/** The sections of the dashboard's application page after its credentials, all read-only. */
export function managedSections(
  application: ManagedApplication,
  callbacks: string[],
  logouts: string[],
  apis: { name: string; audience: string }[],
): HTMLElement[] {
  return [
    urlsSection(callbacks, logouts),
    apisSection(apis),
    tokensSection(application),
    section(
      "Settings",
      h(
        "p",
        { class: "muted" },
        "This dashboard signs in with this application, so it cannot be renamed or deleted here.",
      ),
    ),
  ];
}

function urlsSection(callbacks: string[], logouts: string[]): HTMLElement {
  const rows = [
    ...callbacks.map((url) => ({ use: "Callback", url })),
    ...logouts.map((url) => ({ use: "Logout redirect", url })),
  ];
  return section(
    "Callback and logout URLs",
    rows.length === 0
      ? h("p", { class: "muted" }, "None.")
      : listTable(
          "Callback and logout URLs",
          ["Use", "URL"],
          rows,
          (row) => [h("td", null, row.use), h("td", { class: "mono" }, row.url)],
          { flat: true },
        ),
  );
}

function apisSection(apis: { name: string; audience: string }[]): HTMLElement {
  return section(
    "APIs",
    apis.length === 0
      ? h("p", { class: "muted" }, "Not authorised for any API.")
      : listTable(
          "Authorised APIs",
          ["API", "Audience"],
          apis,
          (a) => [h("td", null, a.name), h("td", { class: "mono" }, a.audience)],
          { flat: true },
        ),
  );
}

function tokensSection(application: ManagedApplication): HTMLElement {
  const lifetimes: [string, number][] = [["Access token lifetime", application.access_token_lifetime]];
  if (application.type !== "m2m")
    lifetimes.push(
      ["ID token lifetime", application.id_token_lifetime],
      ["Refresh token lifetime", application.refresh_token_lifetime],
    );
  return section(
    "Tokens",
    listTable(
      "Token lifetimes",
      ["Token", "Lifetime"],
      lifetimes,
      ([label, seconds]) => [
        h("td", null, label),
        h("td", null, `${formatDuration(seconds)} (${seconds} s)`),
      ],
      { flat: true },
    ),
  );
}
