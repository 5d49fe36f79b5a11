// The messages Latchkey sends, each as plain text and HTML built from one list of blocks, so the two
// parts always say the same thing. The HTML is what e-mail clients render reliably: a table layout,
// inline styles only, no scripts, no remote images or fonts (they would track the reader and are
// blocked by most clients anyway); every interpolated value is escaped. The plain-text part reads on
// its own. Subjects never carry a code or link: they are stored and listed in clear (the body is
// sealed) and show in notifications on a locked screen. The text is the catalogue's (src/i18n/en-mail.ts).

import { lifetime, plural, t } from "../i18n/catalogue.js";
import type { Locale } from "../i18n/locale.js";

/** One message, and the language it is written in (src/i18n/; English when not given). */
export type MailTemplate = (
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
      /**
       * factor_added: what was added, in English words (a message queued before languages);
       * new ones name it by `smsTo` (a masked number), or by nothing for an authenticator app.
       */
      factor?: string;
      /** factor_added: text messages to this (masked) number. */
      smsTo?: string;
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
  | { kind: "test" }
) & {
  /**
   * The language of the sign-in that sent it (the authorization request's locale), or the
   * inviter's choice for an invitation; English when none was known.
   */
  locale?: Locale;
};

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
  const locale = template.locale ?? "en";
  const { subject, blocks } = compose(template, locale, business, oneLine(context.to));
  return { subject, text: toText(blocks), html: toHtml(locale, subject, blocks) };
}

function compose(
  template: MailTemplate,
  locale: Locale,
  business: string,
  to: string,
): { subject: string; blocks: Block[] } {
  const ignore = (what: string): Block => ({ type: "footer", text: t(locale, "mail.ignore", { what }) });
  const expires = (seconds: number): Block => ({
    type: "paragraph",
    text: t(locale, "mail.code_expires", { duration: duration(locale, seconds) }),
  });
  switch (template.kind) {
    case "verification_code": {
      const subject = t(locale, "mail.verify_subject", { business });
      return {
        subject,
        blocks: [
          { type: "heading", text: subject },
          { type: "paragraph", text: t(locale, "mail.verify_lead") },
          { type: "code", code: codeText(template.code) },
          expires(template.expiresInSeconds),
          ignore(t(locale, "mail.verify_ignore", { business })),
        ],
      };
    }
    case "sign_in_code":
      return {
        subject: t(locale, "mail.sign_in_subject", { business }),
        blocks: [
          { type: "heading", text: t(locale, "mail.sign_in_heading", { business }) },
          { type: "paragraph", text: t(locale, "mail.sign_in_lead") },
          { type: "code", code: codeText(template.code) },
          expires(template.expiresInSeconds),
          ignore(t(locale, "mail.sign_in_ignore", { business })),
        ],
      };
    case "password_reset_code": {
      const subject = t(locale, "mail.reset_subject", { business });
      return {
        subject,
        blocks: [
          { type: "heading", text: subject },
          { type: "paragraph", text: t(locale, "mail.reset_lead") },
          { type: "code", code: codeText(template.code) },
          expires(template.expiresInSeconds),
          ignore(t(locale, "mail.reset_ignore")),
        ],
      };
    }
    case "password_changed": {
      const subject = t(locale, "mail.changed_subject", { business });
      return {
        subject,
        blocks: [
          { type: "heading", text: subject },
          { type: "paragraph", text: t(locale, "mail.changed_lead", { business, to }) },
          { type: "paragraph", text: t(locale, "mail.changed_not_you", { business }) },
          { type: "footer", text: t(locale, "mail.was_you") },
        ],
      };
    }
    case "mfa_code":
      return {
        subject: t(locale, "mail.mfa_subject", { business }),
        blocks: [
          { type: "heading", text: t(locale, "mail.mfa_heading", { business }) },
          { type: "paragraph", text: t(locale, "mail.mfa_lead") },
          { type: "code", code: codeText(template.code) },
          expires(template.expiresInSeconds),
          { type: "footer", text: t(locale, "mail.mfa_not_you", { business }) },
        ],
      };
    case "mfa_notice": {
      const factor = oneLine(
        template.smsTo !== undefined
          ? t(locale, "mail.notice_sms", { phone: template.smsTo })
          : (template.factor ?? t(locale, "mail.notice_an_app")),
      );
      const what = {
        recovery_code_used: `${t(locale, "mail.notice_recovery", { business, to })}${
          template.remaining !== undefined
            ? ` ${plural(locale, "mail.notice_remaining", template.remaining)}`
            : ""
        }`,
        factor_added: t(locale, "mail.notice_added", { factor, business, to }),
        factors_reset: t(locale, "mail.notice_reset", { business, to }),
      }[template.change];
      const subject = t(locale, "mail.notice_subject", { business });
      return {
        subject,
        blocks: [
          { type: "heading", text: subject },
          { type: "paragraph", text: what },
          { type: "paragraph", text: t(locale, "mail.notice_not_you", { business }) },
          { type: "footer", text: t(locale, "mail.was_you") },
        ],
      };
    }
    case "invitation": {
      const url = httpUrl(template.url);
      const where = template.organizationName ? oneLine(template.organizationName) : business;
      const who = template.inviterName
        ? t(locale, "mail.invite_by", { inviter: oneLine(template.inviterName), where, business })
        : t(locale, "mail.invite_anonymous", { where, business });
      const expiry = template.expiresInSeconds
        ? ` ${t(locale, "mail.invite_expires", { duration: duration(locale, template.expiresInSeconds) })}`
        : "";
      return {
        subject: t(locale, "mail.invite_subject", { where, business }),
        blocks: [
          { type: "heading", text: t(locale, "mail.invite_heading", { where }) },
          { type: "paragraph", text: `${who}${expiry}` },
          { type: "action", label: t(locale, "mail.invite_accept"), url },
          { type: "footer", text: t(locale, "mail.invite_ignore") },
        ],
      };
    }
    case "test": {
      const subject = t(locale, "mail.test_subject", { business });
      return {
        subject,
        blocks: [
          { type: "heading", text: subject },
          { type: "paragraph", text: t(locale, "mail.test_lead", { business }) },
          { type: "footer", text: t(locale, "mail.test_footer") },
        ],
      };
    }
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

function toHtml(locale: Locale, subject: string, blocks: readonly Block[]): string {
  const body = blocks.map(htmlOf).join("\n");
  return `<!DOCTYPE html>
<html lang="${locale}">
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

/** A lifetime in whole days, hours or minutes, in the message's language. */
function duration(locale: Locale, seconds: number): string {
  const minutes = Math.max(1, Math.round(seconds / 60));
  if (minutes % 1440 === 0) return plural(locale, "time.days", minutes / 1440);
  return lifetime(locale, minutes * 60);
}
