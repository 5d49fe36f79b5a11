// Shared by the /account tests: a clock the test moves, and a sign-in to the account pages the way a
// browser makes it — /account, the authorization endpoint, the hosted sign-in page (and its second
// step), the callback, the page.
import assert from "node:assert/strict";
import type { Clock } from "../../src/clock.js";
import type { TestServer } from "../helpers/server.js";
import type { UserAgent } from "../helpers/user-agent.js";

export interface MovableClock extends Clock {
  advance(seconds: number): void;
}

export function movableClock(): MovableClock {
  let now = Math.floor(Date.now() / 1000);
  return {
    now: () => now,
    advance(seconds) {
      now += seconds;
    },
  };
}

/** Every hidden field of a page's forms, by name (the CSRF token, a sealed secret …). */
export function hiddenFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    fields[match[1]!] = match[2]!;
  return fields;
}

export interface AccountSignInOptions {
  /** Where the sign-in starts (default: opening /account, which must send the browser to sign in). */
  start?: URL;
  /** Answers the second step with the authenticator app's code. */
  code?: () => string;
  /** Answers the second step with a recovery code. */
  recoveryCode?: string;
}

/**
 * Signs `agent` in to the account pages; returns the page it lands on (its HTML) and the pages the
 * sign-in showed on the way ("challenge": the second step was asked).
 */
export async function signInToAccount(
  server: TestServer,
  agent: UserAgent,
  user: { email: string; password: string },
  options: AccountSignInOptions = {},
): Promise<{ page: string; asked: string[] }> {
  const start = options.start ?? (await agent.redirectFrom("/account"));
  assert.equal(start.pathname, "/oauth2/auth", `sent to ${start.href}`);
  const signInPage = await agent.redirectFrom(start);
  assert.equal(signInPage.pathname, "/auth/sign-in");
  const hidden = await agent.openForm(signInPage);
  let reply = await agent.postForm("/auth/sign-in", {
    ...hidden,
    email: user.email,
    password: user.password,
  });
  const asked: string[] = [];
  for (let step = 0; step < 4 && reply.status === 200; step++) {
    const body = await reply.text();
    if (body.includes('action="/auth/mfa/skip"')) {
      asked.push("enrol");
      reply = await agent.postForm("/auth/mfa/skip", hidden);
    } else if (body.includes("<h1>Two-step verification</h1>")) {
      asked.push("challenge");
      if (options.recoveryCode !== undefined)
        reply = await agent.postForm("/auth/mfa/recovery", { ...hidden, code: options.recoveryCode });
      else {
        assert.ok(options.code, "the sign-in asked for a second step");
        reply = await agent.postForm("/auth/mfa/verify", { ...hidden, code: options.code() });
      }
    } else assert.fail(`unexpected page during sign-in: ${body.slice(0, 400)}`);
  }
  assert.equal(
    reply.status,
    303,
    `sign-in ended with ${reply.status}: ${(await reply.text()).slice(0, 400)}`,
  );
  const callback = new URL(reply.headers.get("location")!, server.url);
  assert.equal(callback.href.split("?")[0], `${server.url}/account/callback`);
  const back = await agent.redirectFrom(callback);
  const page = await agent.request(back);
  const html = await page.text();
  assert.equal(page.status, 200, html.slice(0, 400));
  return { page: html, asked };
}
