// "Try sign-in" on an application's page: Latchkey mints a ticket bound to this browser
// (POST /applications/{id}/try_sign_in), the administrator signs in on the hosted page as a test
// user, and Latchkey's /admin/try-callback shows the ID and access tokens' claims. Nothing is added
// to the application's callback URLs (src/applications/try-sign-in.ts says why that is safe).
import { api } from "../api.js";
import { h } from "../dom.js";
import { attempt, section } from "../view.js";

export function trySignInSection(application: { id: string; type: string }): HTMLElement | null {
  if (application.type !== "reg" && application.type !== "spa") return null;
  const failure = h("div");
  const button = h("button", { type: "button", class: "secondary" }, "Try sign-in");
  button.addEventListener("click", async () => {
    button.disabled = true;
    const started = await attempt(failure, async () => {
      const { authorization_url } = await api<{ authorization_url: string }>(
        "POST",
        `/applications/${encodeURIComponent(application.id)}/try_sign_in`,
      );
      location.assign(authorization_url);
    });
    if (!started) button.disabled = false;
  });
  return section(
    "Try sign-in",
    h(
      "p",
      { class: "muted" },
      "Sign in to this application as a test user and see the claims its tokens carry, without running the app. Latchkey receives the result itself; the application's callback URLs are not used or changed.",
    ),
    h("div", { class: "actions" }, button),
    failure,
  );
}
