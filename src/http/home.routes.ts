// The server's front door: `/` is a small page in the hosted pages' style (no script) pointing to
// what a person who just started Latchkey looks for — the dashboard, the discovery document their
// SDK needs, the health check — and saying when no administrator exists yet. Also the favicon, so
// pages whose layout names none do not each log a 404 for /favicon.ico.
import type { FastifyInstance } from "fastify";
import { noUsableAdministrator } from "../cli/admin-first-run.js";
import type { Services } from "../services.js";
import { FAVICON_SVG, faviconIco } from "./favicon.js";
import { html, page } from "./html.js";

const ICON_CACHE = "public, max-age=86400";

export function homePage(options: {
  businessName: string;
  issuer: string;
  noAdministrator: boolean;
}): string {
  const link = (href: string, label: string, hint: string) =>
    html`<li><a class="connection" href="${href}">${label}</a><p class="hint">${hint}</p></li>`;
  return page({
    title: "Latchkey",
    businessName: options.businessName,
    body: html`<h1>Latchkey is running</h1>
<p class="lead">The sign-in service at ${options.issuer}.</p>
${
  options.noAdministrator
    ? html`<p class="notice" role="status">No administrator can sign in yet. Create one on the server: run
<code>latchkey admins create</code> on a terminal (it asks for the e-mail address and the password), or set
<code>BOOTSTRAP_ADMIN_EMAIL</code> and <code>BOOTSTRAP_ADMIN_PASSWORD</code> and restart.</p>
`
    : ""
}<ul class="connections">
${link("/admin/", "Admin dashboard", "Applications, users and settings, for administrators.")}
${link("/.well-known/openid-configuration", "OpenID Connect discovery", "What your application's SDK reads to find the endpoints.")}
${link("/health/ready", "Health", "Whether this instance can serve: its database answers.")}
${link("/account", "Your account", "Your profile, password and sign-ins, for anyone with an account.")}
</ul>`,
  });
}

export function registerHomeRoutes(app: FastifyInstance, services: Services): void {
  const config = { config: { surface: "page" as const } };

  app.get("/", config, async (_request, reply) => {
    const [businessName, noAdministrator] = await Promise.all([
      services.business.name(),
      noUsableAdministrator(services.db),
    ]);
    return reply
      .type("text/html; charset=utf-8")
      .send(homePage({ businessName, issuer: services.oauth.issuer, noAdministrator }));
  });

  app.get("/favicon.ico", config, async (_request, reply) =>
    reply.type("image/x-icon").header("cache-control", ICON_CACHE).send(faviconIco()),
  );

  app.get("/favicon.svg", config, async (_request, reply) =>
    reply.type("image/svg+xml").header("cache-control", ICON_CACHE).send(FAVICON_SVG),
  );
}
