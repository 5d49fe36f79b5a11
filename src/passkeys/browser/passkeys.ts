// The one script of the hosted pages (issue 22): it runs the WebAuthn ceremonies the server asks
// for and posts their result in an ordinary form, so the server's page flow stays as it is. Bundled
// with @simplewebauthn/browser by scripts/bundle-browser.mjs and served from /assets/passkeys.js
// (same origin: the pages' CSP allows script-src 'self' and nothing inline).
//
// A form opts in with data-passkey="authenticate" | "register" and data-options (where to POST for
// the ceremony's options: the form's own hidden fields, request and csrf, go with it); the form
// carries a hidden `response` field that is filled with the authenticator's answer before submitting.
// data-autofill="on" also starts conditional mediation (passkeys offered in the e-mail field's
// autofill) when the browser supports it.
import {
  browserSupportsWebAuthn,
  browserSupportsWebAuthnAutofill,
  startAuthentication,
  startRegistration,
  WebAuthnError,
} from "@simplewebauthn/browser";

type Ceremony = "authenticate" | "register";

function responseField(form: HTMLFormElement): HTMLInputElement | undefined {
  const field = form.elements.namedItem("response");
  return field instanceof HTMLInputElement ? field : undefined;
}

function errorBox(form: HTMLFormElement): HTMLElement | null {
  return form.querySelector<HTMLElement>("[data-passkey-error]");
}

/** The page's own words for `name` (data-* on the error box, in the page's language), else English. */
function words(
  form: HTMLFormElement,
  name: "closed" | "exists" | "unsupported" | "failed" | "expired",
  english: string,
): string {
  return errorBox(form)?.dataset[name] || english;
}

function showError(form: HTMLFormElement, message: string): void {
  const box = errorBox(form);
  if (!box) return;
  box.textContent = message;
  box.hidden = false;
}

/** The ceremony's options, asked for with the form's hidden fields (request, csrf). */
async function fetchOptions(form: HTMLFormElement): Promise<unknown> {
  const body = new URLSearchParams();
  for (const input of form.querySelectorAll<HTMLInputElement>('input[type="hidden"]'))
    if (input.name !== "response") body.append(input.name, input.value);
  const reply = await fetch(form.dataset.options ?? "", {
    method: "POST",
    body,
    credentials: "same-origin",
    headers: { accept: "application/json" },
  });
  const json = (await reply.json().catch(() => ({}))) as { options?: unknown; error?: string };
  if (!reply.ok || !json.options)
    throw new Error(json.error ?? words(form, "expired", "This page has expired. Reload it and try again."));
  return json.options;
}

async function run(form: HTMLFormElement, ceremony: Ceremony, autofill: boolean): Promise<void> {
  const field = responseField(form);
  if (!field) return;
  const options = await fetchOptions(form);
  const result =
    ceremony === "register"
      ? await startRegistration({
          optionsJSON: options as Parameters<typeof startRegistration>[0]["optionsJSON"],
        })
      : await startAuthentication({
          optionsJSON: options as Parameters<typeof startAuthentication>[0]["optionsJSON"],
          useBrowserAutofill: autofill,
        });
  field.value = JSON.stringify(result);
  form.submit();
}

function explain(form: HTMLFormElement, error: unknown): string | undefined {
  // Starting another ceremony aborts the one waiting in autofill: nothing to say.
  if (error instanceof WebAuthnError && error.code === "ERROR_CEREMONY_ABORTED") return undefined;
  if (error instanceof Error && error.name === "AbortError") return undefined;
  if (error instanceof Error && error.name === "NotAllowedError")
    return words(form, "closed", "The passkey prompt was closed or timed out. Try again.");
  if (error instanceof Error && error.name === "InvalidStateError")
    return words(form, "exists", "This device already has a passkey for your account.");
  return error instanceof Error ? error.message : words(form, "failed", "Something went wrong. Try again.");
}

function start(): void {
  const forms = document.querySelectorAll<HTMLFormElement>("form[data-passkey]");
  if (forms.length === 0) return;
  if (!browserSupportsWebAuthn()) {
    for (const form of forms)
      showError(form, words(form, "unsupported", "This browser cannot use passkeys."));
    return;
  }
  for (const form of forms) {
    const ceremony: Ceremony = form.dataset.passkey === "register" ? "register" : "authenticate";
    // Shown only where a passkey can work: without this script the section stays hidden.
    const section = form.closest<HTMLElement>("[data-passkey-section]") ?? form;
    section.hidden = false;
    form.addEventListener("submit", (event) => {
      if (responseField(form)?.value) return;
      event.preventDefault();
      run(form, ceremony, false).catch((error: unknown) => {
        const message = explain(form, error);
        if (message) showError(form, message);
      });
    });
    if (ceremony === "authenticate" && form.dataset.autofill === "on")
      void browserSupportsWebAuthnAutofill().then((supported) => {
        if (supported) run(form, ceremony, true).catch(() => {});
      });
  }
}

start();
