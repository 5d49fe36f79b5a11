// Minimal server-rendered HTML: one layout, escaping for every interpolated value, no third-party
// resources (RFC 9700 §4.2.4: nothing on our pages may leak the URL through Referer).

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Tagged template that escapes every interpolation except values wrapped in `raw()`. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? "";
  values.forEach((value, i) => {
    out += renderValue(value) + (strings[i + 1] ?? "");
  });
  return new SafeHtml(out);
}

export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export function raw(value: string): SafeHtml {
  return new SafeHtml(value);
}

function renderValue(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(renderValue).join("");
  if (value === undefined || value === null || value === false) return "";
  return escapeHtml(String(value));
}

export const STYLESHEET_PATH = "/assets/latchkey.css";

export function page(options: { title: string; body: SafeHtml; businessName?: string }): string {
  return `<!doctype html>${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${options.title}${options.businessName ? ` · ${options.businessName}` : ""}</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
</head>
<body>
<main class="card">
${options.businessName ? html`<p class="business">${options.businessName}</p>` : ""}
${options.body}
</main>
</body>
</html>`}`;
}

export function errorPage(title: string, message: string, businessName?: string): string {
  return page({
    title,
    businessName,
    body: html`<h1>${title}</h1><p class="error" role="alert">${message}</p>`,
  });
}
