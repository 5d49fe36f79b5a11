// "Test connection" (issue 17): an administrator signs in once through a connection and sees what
// its provider says, with nothing linked, created or signed in.
//
//   POST /api/v1/connections/{id}/test   (connections/connection-test.routes.ts) a single-use ticket
//   GET  /auth/connections/test?ticket=… the ticket used up; a 'test' state bound to this browser
//   GET  /auth/connections/callback      the normal callback: a 'test' state comes here (finish)
//
// The round trip is a real sign-in's in every check (upstream-state.ts: single use, this browser,
// the pinned issuer, nonce and PKCE; upstream-providers.ts: RFC 9207 `iss`, the ID token or the
// user API), so a test that passes means sign-ins will. Only the last step differs: the page shows
// the claims received instead of finding an account. Nothing of the person is stored (the state
// row is deleted by the callback), and the page makes no cookie but the sign-in pages' CSRF one.
//
// Who sees the claims: whoever opens the ticket, in the browser that opened it. The ticket goes
// only to an administrator (the API refuses machine tokens) and works once within 10 minutes; the
// claims shown are those of the account that signs in at the provider, in that same browser.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { SignInConnection } from "../connections/connections.service.js";
import { randomToken } from "../crypto/random.js";
import { page, type SafeHtml, html as safe } from "../http/html.js";
import { newCodeVerifier } from "../outbound/oauth-client.js";
import type { Services } from "../services.js";
import type { Form } from "./browser-sign-in.js";
import { field } from "./browser-sign-in.js";
import type { SignInBasics } from "./connection-email-proof.js";
import {
  SIGN_IN_STRATEGIES,
  type UpstreamProfile,
  type UpstreamProviders,
  UpstreamRefusal,
} from "./upstream-providers.js";
import { TestTickets, type UpstreamState, type UpstreamStates } from "./upstream-state.js";

export const CONNECTION_TEST_PATH = "/auth/connections/test";

/** What the page shows of a provider's answer: enough to judge a mapping, never unbounded. */
const MAX_CLAIMS = 60;
const MAX_CLAIM_NAME = 100;
const MAX_CLAIM_VALUE = 1_000;

export interface ConnectionTest {
  /** The callback's end for a 'test' state (the browser already checked). */
  finish(request: FastifyRequest, reply: FastifyReply, minted: UpstreamState, params: Form): Promise<unknown>;
}

export function registerConnectionTest(
  app: FastifyInstance,
  services: Services,
  deps: Pick<SignInBasics, "pageConfig" | "html" | "signIn"> & {
    states: UpstreamStates;
    providers: UpstreamProviders;
  },
): ConnectionTest {
  const { pageConfig, html, signIn, states, providers } = deps;
  const tickets = new TestTickets(services.db, services.clock);

  const resultPage = async (reply: FastifyReply, status: number, title: string, body: SafeHtml) =>
    html(
      reply,
      status,
      page({
        title,
        businessName: await services.business.name(),
        body: safe`<h1>${title}</h1>${body}
<p class="hint">This was a test: nothing was linked, no account was created or changed, and nobody was signed in. You can close this tab.</p>`,
      }),
    );

  const failed = (reply: FastifyReply, connection: SignInConnection | undefined, refusal: UpstreamRefusal) =>
    resultPage(
      reply,
      refusal.status,
      connection ? `Testing ${connection.displayName} failed` : "The test could not run",
      safe`<p class="error" role="alert"><strong>${refusal.title}.</strong> ${refusal.detail}</p>`,
    );

  app.get<{ Querystring: Form }>(CONNECTION_TEST_PATH, pageConfig, async (request, reply) => {
    const ticket = await tickets.consume(field(request.query, "ticket"));
    if (!ticket)
      return failed(
        reply,
        undefined,
        new UpstreamRefusal(
          400,
          "This test link has expired or was already used",
          "Start the test again from the dashboard.",
        ),
      );
    const connection = await services.connections.find(ticket.connectionId);
    if (!connection || !SIGN_IN_STRATEGIES.has(connection.strategy))
      return failed(
        reply,
        connection,
        new UpstreamRefusal(
          connection ? 400 : 404,
          connection ? "Signing in this way is not supported yet" : "This connection no longer exists",
          "Nothing was sent to any provider.",
        ),
      );
    let prepared: Awaited<ReturnType<UpstreamProviders["prepare"]>>;
    try {
      prepared = await providers.prepare(request.log, connection);
    } catch (error) {
      if (error instanceof UpstreamRefusal) return failed(reply, connection, error);
      throw error;
    }
    const nonce = randomToken();
    const codeVerifier = newCodeVerifier();
    const state = await states.create({
      requestId: "",
      connectionId: connection.id,
      issuer: prepared.issuer,
      nonce,
      codeVerifier,
      // The CSRF cookie binds the test to this browser, as for a sign-in (set now if it has none).
      browser: signIn.browserBindingOf(signIn.csrfToken(request, reply)),
      purpose: "test",
      userId: ticket.userId,
    });
    request.log.info(
      { event: "connection_test_started", connectionId: connection.id, userId: ticket.userId },
      "connection test sent to provider",
    );
    const location = prepared.authorizationRequest({ state, nonce, codeVerifier });
    return reply.code(302).header("location", location).send();
  });

  return {
    finish: async (request, reply, minted, params) => {
      const connection = await services.connections.find(minted.connectionId);
      if (!connection)
        return failed(
          reply,
          undefined,
          new UpstreamRefusal(404, "This connection no longer exists", "It was deleted during the test."),
        );
      let profile: UpstreamProfile;
      try {
        profile = await providers.finish(request.log, connection, minted, params);
      } catch (error) {
        if (!(error instanceof UpstreamRefusal)) throw error;
        request.log.info(
          {
            event: "connection_test",
            connectionId: connection.id,
            userId: minted.userId,
            outcome: "refused",
          },
          "connection test failed",
        );
        return failed(reply, connection, error);
      }
      request.log.info(
        { event: "connection_test", connectionId: connection.id, userId: minted.userId, outcome: "ok" },
        "connection test passed",
      );
      return resultPage(reply, 200, `${connection.displayName} works`, claimsView(connection, profile));
    },
  };
}

/** The verified profile and the claims as received, bounded (escaped by the html template). */
function claimsView(connection: SignInConnection, profile: UpstreamProfile): SafeHtml {
  const vouched = profile.emailVerified && connection.options.is_trusted === true;
  const entries = Object.entries(profile.claims);
  const shown = entries.slice(0, MAX_CLAIMS);
  const facts: [string, string][] = [
    ["Subject (the provider's id of this person)", profile.subject],
    ["Email", profile.email ?? "None sent"],
    ["Email verified by the provider", profile.emailVerified ? "Yes" : "No"],
    [
      "At a sign-in, this address",
      vouched
        ? "links at once to an existing account with it (trusted connection, verified address)"
        : profile.email
          ? "links to an existing account with it only after an e-mail code"
          : "is missing: the person is created without one, or asked for one where the provider never tells",
    ],
  ];
  return safe`<p class="lead">The provider answered, and every check a sign-in makes passed.</p>
<dl class="facts">
${facts.map(([term, value]) => safe`<dt>${term}</dt><dd>${value}</dd>\n`)}</dl>
<h2>Claims received (${String(entries.length)})</h2>
<table class="claims">
<thead><tr><th scope="col">Claim</th><th scope="col">Value</th></tr></thead>
<tbody>
${shown.map(([name, value]) => safe`<tr><th scope="row">${bounded(name, MAX_CLAIM_NAME)}</th><td>${bounded(display(value), MAX_CLAIM_VALUE)}</td></tr>\n`)}</tbody>
</table>
${entries.length > shown.length ? safe`<p class="hint">${String(entries.length - shown.length)} more not shown.</p>` : ""}`;
}

function display(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

const bounded = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text);
