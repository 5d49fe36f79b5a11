// Settings › Authentication: how people sign in to the business's applications. A page of sections,
// one a way of signing in: today the built-in methods of the hosted sign-in page (password, a code
// by e-mail — GET/PUT /api/v1/business/sign_in_methods, a Latchkey extension), then social and
// enterprise connections (issue 17, connections.ts), then the second factors and passkeys they may be
// asked for (issue 22, mfa.ts).
import { api } from "../api.js";
import { checkbox, h, notify, uid } from "../dom.js";
import { load, pageHeader, type Screen, section } from "../view.js";
import { pageForm } from "../widgets.js";
import { connectionsSection } from "./connections.js";
import { mfaSettingsSections } from "./mfa.js";

interface SignInMethods {
  password: boolean;
  email_code: boolean;
}

export const authenticationSettings: Screen = async (view) => {
  await load(view, async () => {
    const [{ sign_in_methods: methods }, connections, mfa] = await Promise.all([
      api<{ sign_in_methods: SignInMethods }>("GET", "/business/sign_in_methods"),
      connectionsSection(view.config),
      mfaSettingsSections(),
    ]);
    return [
      pageHeader("Authentication", {
        lead: "How people sign in to your applications on Latchkey's sign-in page.",
      }),
      signInMethodsSection(methods),
      connections,
      ...mfa,
    ];
  });
};

function signInMethodsSection(current: SignInMethods): HTMLElement {
  const password = checkbox({
    label: "Password",
    name: "password",
    checked: current.password,
    hint: "Email address and password. “Forgot your password?” sends a code to choose a new one.",
  });
  const emailCode = checkbox({
    label: "Code by email",
    name: "email_code",
    checked: current.email_code,
    hint: "A 6-digit code sent to the person's email address, no password needed. Accounts created without a password (through the Management API or the CLI) sign in this way.",
  });
  const errorId = uid("sign-in-methods-error");
  const problem = h("p", { id: errorId, class: "field-error" });
  const methods = h(
    "fieldset",
    { "aria-describedby": errorId },
    h("legend", null, "Offer on the sign-in page"),
    password.element,
    emailCode.element,
  );
  // Both off would leave nobody a way in, administrators included: the server refuses it too.
  const atLeastOne = {
    check() {
      const ok = password.input.checked || emailCode.input.checked;
      problem.textContent = ok ? "" : "Keep at least one method on, or nobody could sign in.";
      for (const box of [password.input, emailCode.input]) {
        if (ok) box.removeAttribute("aria-invalid");
        else box.setAttribute("aria-invalid", "true");
      }
      return ok;
    },
    focus: () => password.input.focus(),
  };
  for (const box of [password.input, emailCode.input]) {
    box.addEventListener("change", () => {
      if (problem.textContent) atLeastOne.check();
    });
  }
  const form = pageForm({
    content: [
      methods,
      problem,
      h(
        "p",
        { class: "muted" },
        "Codes that confirm an email address or reset a password are sent whatever you choose here. With passwords off, sign-up asks for no password either, and a new password an administrator asked for waits until passwords are back on.",
      ),
    ],
    fields: [atLeastOne],
    submit: async () => {
      const saved = await api<{ sign_in_methods: SignInMethods }>("PUT", "/business/sign_in_methods", {
        password: password.input.checked,
        email_code: emailCode.input.checked,
      });
      password.input.checked = saved.sign_in_methods.password;
      emailCode.input.checked = saved.sign_in_methods.email_code;
      notify("Sign-in methods saved");
    },
  });
  return section("Sign-in methods", form);
}
