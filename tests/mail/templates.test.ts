// The message templates: every kind in text and HTML with the business name, every interpolated
// value escaped (a business name carrying markup stays text), nothing an e-mail client would load
// or run (no scripts, no <style>, no remote images, fonts or stylesheets), a plain-text part that
// reads on its own with the code on a line of its own, and subjects without codes or links.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAIL_KINDS, type MailTemplate, renderMail } from "../../src/mail/templates.js";

const HOSTILE = `Acme <script>alert("x")</script> & "Co" 'Ltd'`;
const CODE = "048213";
const INVITE = "https://auth.example.com/invite?token=abc&org=1";

const SAMPLES: Record<MailTemplate["kind"], MailTemplate> = {
  verification_code: { kind: "verification_code", code: CODE, expiresInSeconds: 7_200 },
  sign_in_code: { kind: "sign_in_code", code: CODE, expiresInSeconds: 600 },
  password_reset_code: { kind: "password_reset_code", code: CODE, expiresInSeconds: 3_600 },
  password_changed: { kind: "password_changed" },
  mfa_code: { kind: "mfa_code", code: CODE, expiresInSeconds: 600 },
  mfa_notice: { kind: "mfa_notice", change: "recovery_code_used", remaining: 9 },
  invitation: {
    kind: "invitation",
    url: INVITE,
    inviterName: "Ann <b>Admin</b>",
    organizationName: "Widgets & <Gadgets>",
    expiresInSeconds: 7 * 86_400,
  },
  test: { kind: "test" },
};

describe("mail templates", () => {
  it("has a sample of every kind", () => {
    assert.deepEqual(Object.keys(SAMPLES).sort(), [...MAIL_KINDS].sort());
  });

  for (const kind of MAIL_KINDS) {
    it(`${kind}: escaped, inert HTML and a readable text part, with the business name`, () => {
      const mail = renderMail(SAMPLES[kind], { businessName: HOSTILE, to: "ann@example.com" });
      // The business name is in the subject and both parts; as text, never as markup.
      assert.match(mail.subject, /Acme <script>/, "the subject is plain text (the mailer encodes it)");
      assert.ok(mail.text.includes(HOSTILE.replace(/\s+/g, " ")), "the text part names the business");
      assert.ok(
        mail.html.includes(
          "Acme &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;Co&quot; &#39;Ltd&#39;",
        ),
        "the HTML part names the business, escaped",
      );
      assert.doesNotMatch(mail.html, /<script/i);
      assert.doesNotMatch(mail.html, /<style|<link|<img|<iframe|<object|<embed|<form|@import|url\(/i);
      assert.doesNotMatch(mail.html, /\son[a-z]+\s*=/i, "no event handler attributes");
      // The only URL in the HTML is a link the reader chooses to follow, never a resource it loads.
      assert.doesNotMatch(mail.html, /\s(src|background|srcset)\s*=/i);
      for (const href of mail.html.matchAll(/href="([^"]*)"/g))
        assert.equal(href[1], INVITE.replace(/&/g, "&amp;"));
      assert.doesNotMatch(mail.html, /<b>|<\/b>|<Gadgets>/, "invitation names are escaped too");
      // The text part stands alone: no markup, no entities.
      // (The names themselves are text, shown as typed; the template adds no markup of its own.)
      const ownText = [HOSTILE, "Ann <b>Admin</b>", "Widgets & <Gadgets>"].reduce(
        (text, name) => text.split(name).join(""),
        mail.text,
      );
      assert.doesNotMatch(ownText, /<\/?[a-z][^>]*>|&[a-z]+;/i);
      assert.match(mail.text, /\n$/);
      if ("code" in SAMPLES[kind]) {
        assert.match(mail.text, new RegExp(`^ {4}${CODE}$`, "m"), "the code on a line of its own");
        assert.ok(mail.html.includes(`>${CODE}</span>`), "the code set apart in the HTML");
        assert.ok(!mail.subject.includes(CODE), "no code in the subject (stored and listed in clear)");
      }
      if (kind === "invitation") {
        assert.ok(mail.text.includes(INVITE), "the link is in the text part whole");
        assert.ok(!mail.subject.includes("http"), "no link in the subject");
      }
    });
  }

  it("says how long a code lives", () => {
    const text = (seconds: number) =>
      renderMail(
        { kind: "sign_in_code", code: CODE, expiresInSeconds: seconds },
        { businessName: "A", to: "a@b.example" },
      ).text;
    assert.match(text(7_200), /expires in 2 hours/);
    assert.match(text(600), /expires in 10 minutes/);
    assert.match(text(3_600), /expires in 1 hour\./);
  });

  it("keeps a business name with line breaks on one line (no header or paragraph injection)", () => {
    const mail = renderMail(SAMPLES.test, {
      businessName: "Acme\r\nBcc: victim@example.com",
      to: "a@b.example",
    });
    assert.equal(mail.subject, "Test message from Acme Bcc: victim@example.com");
    assert.doesNotMatch(mail.subject, /[\r\n]/);
  });

  it("refuses an invitation link that is not http(s)", () => {
    assert.throws(() =>
      renderMail(
        { kind: "invitation", url: "javascript:alert(1)" },
        { businessName: "A", to: "a@b.example" },
      ),
    );
  });
});
