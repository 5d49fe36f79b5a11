// The messages Latchkey sends, each as plain text and HTML built from one list of blocks, so the two
// parts always say the same thing. The HTML is what e-mail clients render reliably: a table layout,
// inline styles only, no scripts, no remote images or fonts (they would track the reader and are
// blocked by most clients anyway); every interpolated value is escaped. The plain-text part reads on
// its own. Subjects never carry a code or link: they are stored and listed in clear (the body is
// sealed) and show in notifications on a locked screen.

export type MailTemplate =
  | { kind: "verification_code"; code: string; expiresInSeconds: number }
  | { kind: "sign_in_code"; code: string; expiresInSeconds: number }
  | { kind: "password_reset_code"; code: string; expiresInSeconds: number }
  | { kind: "password_changed" }
  /** A code for the second step of a sign-in (multi-factor authentication). */
  | { kind: "mfa_code"; code: string; expiresInSeconds: number }
  /** The account's second factors changed: a recovery code was used, a factor added or removed. */
  | {
      kind: "mfa_notice";
      change: "recovery_code_used" | "factor_added" | "factors_reset";
      remaining?: number;
      /** factor_added: what was added, e.g. "an authenticator app". */
      factor?: string;
    }
  | {
      kind: "invitation";
      /** Where the invitation is accepted: an http(s) URL. */
      url: string;
      inviterName?: string;
      organizationName?: string;
      expiresInSeconds?: number;
    }
  /** `latchkey mail test`: proves the transport works. */
  | { kind: "test" };

export type MailKind = MailTemplate["kind"];

export const MAIL_KINDS: readonly MailKind[] = [
  "verification_code",
  "sign_in_code",
  "password_reset_code",
  "password_changed",
  "mfa_code",
  "mfa_notice",
  "invitation",
  "test",
];

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

export interface RenderContext {
  businessName: string;
  /** The recipient, named in notices so a reader with several accounts knows which one. */
  to: string;
}

type Block =
  | { type: "heading"; text: string }
  | { type: "paragraph"; text: string }
  /** A one-time code, set apart and large so it is easy to read and copy. */
  | { type: "code"; code: string }
  | { type: "action"; label: string; url: string }
  | { type: "footer"; text: string };

export function renderMail(template: MailTemplate, context: RenderContext): RenderedMail {
  const business = oneLine(context.businessName) || "Latchkey";
  const { subject, blocks } = compose(template, business, oneLine(context.to));
  return { subject, text: toText(blocks), html: toHtml(subject, blocks) };
}

function compose(template: MailTemplate, business: string, to: string): { subject: string; blocks: Block[] } {
  const ignore = (what: string): Block => ({
    type: "footer",
    text: `If you did not ${what}, you can ignore this message: nothing changes without the code.`,
  });
  switch (template.kind) {
    case "verification_code":
      return {
        subject: `Verify your e-mail address for ${business}`,
        blocks: [
          { type: "heading", text: `Verify your e-mail address for ${business}` },
          { type: "paragraph", text: "Enter this code to confirm that this address is yours:" },
          { type: "code", code: codeText(template.code) },
          { type: "paragraph", text: `The code expires in ${duration(template.expiresInSeconds)}.` },
          ignore(`sign up for ${business}`),
        ],
      };
    case "sign_in_code":
      return {
        subject: `Your sign-in code for ${business}`,
        blocks: [
          { type: "heading", text: `Sign in to ${business}` },
          { type: "paragraph", text: "Enter this code to sign in:" },
          { type: "code", code: codeText(template.code) },
          { type: "paragraph", text: `The code expires in ${duration(template.expiresInSeconds)}.` },
          ignore(`try to sign in to ${business}`),
        ],
      };
    case "password_reset_code":
      return {
        subject: `Reset your ${business} password`,
        blocks: [
          { type: "heading", text: `Reset your ${business} password` },
          { type: "paragraph", text: "Enter this code to choose a new password:" },
          { type: "code", code: codeText(template.code) },
          { type: "paragraph", text: `The code expires in ${duration(template.expiresInSeconds)}.` },
          ignore("ask to reset your password"),
        ],
      };
    case "password_changed":
      return {
        subject: `Your ${business} password was changed`,
        blocks: [
          { type: "heading", text: `Your ${business} password was changed` },
          {
            type: "paragraph",
            text: `The password of the ${business} account ${to} has just been changed, and every other session of that account was signed out.`,
          },
          {
            type: "paragraph",
            text: `If you did not change it, someone else may have: reset your password from the ${business} sign-in page ("Forgot password?") and tell ${business}'s administrators.`,
          },
          { type: "footer", text: "If it was you, there is nothing more to do." },
        ],
      };
    case "mfa_code":
      return {
        subject: `Your ${business} verification code`,
        blocks: [
          { type: "heading", text: `Confirm it is you signing in to ${business}` },
          { type: "paragraph", text: "Your password was accepted. Enter this code to finish signing in:" },
          { type: "code", code: codeText(template.code) },
          { type: "paragraph", text: `The code expires in ${duration(template.expiresInSeconds)}.` },
          {
            type: "footer",
            text: `If you are not signing in to ${business} right now, someone else knows your password: change it.`,
          },
        ],
      };
    case "mfa_notice": {
      const what = {
        recovery_code_used: `A recovery code was used to sign in to the ${business} account ${to}.${
          template.remaining !== undefined ? ` ${template.remaining} unused recovery codes remain.` : ""
        }`,
        factor_added: `A new second factor (${oneLine(template.factor ?? "an authenticator app")}) was added to the ${business} account ${to}.`,
        factors_reset: `The second factors of the ${business} account ${to} were removed, and its other sessions were signed out.`,
      }[template.change];
      return {
        subject: `Security notice for your ${business} account`,
        blocks: [
          { type: "heading", text: `Security notice for your ${business} account` },
          { type: "paragraph", text: what },
          {
            type: "paragraph",
            text: `If this was not you, reset your password from the ${business} sign-in page and tell ${business}'s administrators.`,
          },
          { type: "footer", text: "If it was you, there is nothing more to do." },
        ],
      };
    }
    case "invitation": {
      const url = httpUrl(template.url);
      const where = template.organizationName ? oneLine(template.organizationName) : business;
      const who = template.inviterName ? `${oneLine(template.inviterName)} invited you` : "You are invited";
      const expiry = template.expiresInSeconds
        ? ` The invitation expires in ${duration(template.expiresInSeconds)}.`
        : "";
      return {
        subject: `You are invited to join ${where} on ${business}`,
        blocks: [
          { type: "heading", text: `Join ${where}` },
          { type: "paragraph", text: `${who} to join ${where} on ${business}.${expiry}` },
          { type: "action", label: "Accept the invitation", url },
          { type: "footer", text: "If you were not expecting this invitation, you can ignore it." },
        ],
      };
    }
    case "test":
      return {
        subject: `Test message from ${business}`,
        blocks: [
          { type: "heading", text: `Test message from ${business}` },
          {
            type: "paragraph",
            text: `${business}'s sign-in service sent this message to check its e-mail settings (\`latchkey mail test\`). If it reached your mailbox, they work.`,
          },
          { type: "footer", text: "No action is needed." },
        ],
      };
  }
}

// ---- plain text ----------------------------------------------------------------------------------

function toText(blocks: readonly Block[]): string {
  return `${blocks.map(textOf).join("\n\n")}\n`;
}

function textOf(block: Block): string {
  switch (block.type) {
    case "heading":
    case "paragraph":
      return block.text;
    // Indented on a line of its own: easy to find, and to copy without surrounding words.
    case "code":
      return `    ${block.code}`;
    case "action":
      return `${block.label}:\n${block.url}`;
    case "footer":
      return `--\n${block.text}`;
  }
}

// ---- HTML ----------------------------------------------------------------------------------------

const FONT = "-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";

function toHtml(subject: string, blocks: readonly Block[]): string {
  const body = blocks.map(htmlOf).join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(subject)}</title>
</head>
<body style="margin:0;padding:0;background-color:#f4f4f5;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f4f4f5;">
<tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:480px;background-color:#ffffff;border-radius:8px;">
<tr><td style="padding:32px;font-family:${FONT};font-size:16px;line-height:24px;color:#18181b;">
${body}
</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
`;
}

function htmlOf(block: Block): string {
  switch (block.type) {
    case "heading":
      return `<h1 style="margin:0 0 16px 0;font-size:20px;line-height:28px;font-weight:600;color:#18181b;">${escapeHtml(block.text)}</h1>`;
    case "paragraph":
      return `<p style="margin:0 0 16px 0;">${escapeHtml(block.text)}</p>`;
    case "code":
      return (
        `<p style="margin:24px 0;text-align:center;">` +
        `<span style="display:inline-block;padding:12px 20px;background-color:#f4f4f5;border:1px solid #e4e4e7;border-radius:6px;` +
        `font-family:Menlo,Consolas,'Courier New',monospace;font-size:32px;line-height:40px;font-weight:700;letter-spacing:6px;color:#18181b;">` +
        `${escapeHtml(block.code)}</span></p>`
      );
    case "action":
      return (
        `<p style="margin:24px 0;text-align:center;">` +
        `<a href="${escapeHtml(block.url)}" style="display:inline-block;padding:12px 24px;background-color:#18181b;border-radius:6px;color:#ffffff;font-weight:600;text-decoration:none;">${escapeHtml(block.label)}</a></p>` +
        `<p style="margin:0 0 16px 0;font-size:13px;line-height:20px;color:#52525b;word-break:break-all;">${escapeHtml(block.url)}</p>`
      );
    case "footer":
      return `<p style="margin:24px 0 0 0;padding-top:16px;border-top:1px solid #e4e4e7;font-size:13px;line-height:20px;color:#71717a;">${escapeHtml(block.text)}</p>`;
  }
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

// ---- values --------------------------------------------------------------------------------------

/** Text on one line: a business name with a line break must not start a new header or paragraph. */
function oneLine(text: string): string {
  return text
    .replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
}

function codeText(code: string): string {
  const text = oneLine(code);
  if (!text) throw new Error("a mail template needs a code");
  return text;
}

/** Only http(s): a `javascript:` or `data:` link in a message would run in some clients. */
function httpUrl(raw: string): string {
  const url = new URL(raw);
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error("mail links must be http(s)");
  return url.href;
}

function duration(seconds: number): string {
  const minutes = Math.max(1, Math.round(seconds / 60));
  if (minutes % 1440 === 0) return plural(minutes / 1440, "day");
  if (minutes % 60 === 0) return plural(minutes / 60, "hour");
  return plural(minutes, "minute");
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}
