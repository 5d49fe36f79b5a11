// A business's connected-app configurations, as the Management API lists, creates, updates and
// deletes them, and what the other parts read of one: the provider definition it uses (generic
// providers take their endpoints from settings, filled from OIDC discovery at creation) and its
// client credentials, the secret sealed with the master key and bound to the app's key.
import { redirectUrlProblem } from "../applications/urls.js";
import { type ProviderCredentials, providerUrlProblem } from "../outbound/oauth-client.js";
import { type DiscoveryDocument, fetchDiscoveryDocument, OidcError } from "../outbound/oidc.js";
import { GENERIC_PROVIDER_ID, type ProviderDefinition } from "./catalog.js";
import {
  ConnectedAppError,
  type ConnectedAppInput,
  type ConnectedAppRow,
  type ConnectedAppsContext,
  secretAad,
} from "./connected-apps.shared.js";

export class ConnectedAppConfigs {
  constructor(private readonly ctx: ConnectedAppsContext) {}

  list(): Promise<ConnectedAppRow[]> {
    return this.ctx.db.selectFrom("connected_apps").selectAll().orderBy("key_code_ref").execute();
  }

  find(key: string): Promise<ConnectedAppRow | undefined> {
    return this.ctx.db
      .selectFrom("connected_apps")
      .selectAll()
      .where("key_code_ref", "=", key)
      .executeTakeFirst();
  }

  async create(input: ConnectedAppInput): Promise<ConnectedAppRow> {
    const provider = this.catalogEntry(input.provider);
    if (provider.id === GENERIC_PROVIDER_ID && input.settings?.issuer) {
      input = { ...input, settings: await this.discover(input.settings) };
    }
    this.validate(input, provider.id);
    const now = this.ctx.clock.now();
    const inserted = await this.ctx.db
      .insertInto("connected_apps")
      .values({
        key_code_ref: input.key_code_ref,
        provider: provider.id,
        name: input.name?.trim() || provider.name,
        client_id: input.client_id,
        client_secret_sealed: this.ctx.secretBox.seal(input.client_secret, secretAad(input.key_code_ref)),
        callback_url: input.callback_url,
        scopes: JSON.stringify(input.scopes ?? []),
        settings: JSON.stringify(input.settings ?? {}),
        offer_at_sign_in: input.offer_at_sign_in ? 1 : 0,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.column("key_code_ref").doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) {
      throw new ConnectedAppError(
        "CONNECTED_APP_EXISTS",
        "A connected app with this key_code_ref already exists",
      );
    }
    return (await this.find(input.key_code_ref))!;
  }

  async update(
    key: string,
    changes: Partial<Omit<ConnectedAppInput, "key_code_ref" | "provider">>,
  ): Promise<ConnectedAppRow> {
    const app = await this.require(key);
    this.validate({ ...this.inputOf(app), ...changes }, app.provider);
    // The stored secret goes, with users' refresh tokens, wherever the endpoints point: whoever
    // moves them must know the secret already, or a caller allowed to edit the app but never shown
    // its secret could point the token endpoint at itself and receive both at the next refresh.
    if (
      changes.settings !== undefined &&
      changes.client_secret === undefined &&
      endpointsOf(changes.settings) !== endpointsOf(JSON.parse(app.settings) as ConnectedAppInput["settings"])
    )
      throw new ConnectedAppError(
        "INVALID_REQUEST",
        "Changing the provider's endpoints (issuer, authorization_url, token_url, revocation_url) needs client_secret in the same request",
      );
    await this.ctx.db
      .updateTable("connected_apps")
      .set({
        ...(changes.name !== undefined ? { name: changes.name.trim() || app.name } : {}),
        ...(changes.client_id !== undefined ? { client_id: changes.client_id } : {}),
        ...(changes.client_secret !== undefined
          ? { client_secret_sealed: this.ctx.secretBox.seal(changes.client_secret, secretAad(key)) }
          : {}),
        ...(changes.callback_url !== undefined ? { callback_url: changes.callback_url } : {}),
        ...(changes.scopes !== undefined ? { scopes: JSON.stringify(changes.scopes) } : {}),
        ...(changes.settings !== undefined ? { settings: JSON.stringify(changes.settings) } : {}),
        ...(changes.offer_at_sign_in !== undefined
          ? { offer_at_sign_in: changes.offer_at_sign_in ? 1 : 0 }
          : {}),
        updated_at: this.ctx.clock.now(),
      })
      .where("key_code_ref", "=", key)
      .execute();
    return (await this.find(key))!;
  }

  /**
   * Disconnects a connected app: its configuration and its users' connections are removed here.
   * As in Kinde, this does NOT revoke what users granted at the provider — call revoke for that.
   */
  async delete(key: string): Promise<void> {
    await this.require(key);
    await this.ctx.db.transaction().execute(async (trx) => {
      await trx.deleteFrom("connections").where("key_code_ref", "=", key).execute();
      await trx.deleteFrom("connected_apps").where("key_code_ref", "=", key).execute();
    });
  }

  async require(key: string): Promise<ConnectedAppRow> {
    const app = await this.find(key);
    if (!app) throw new ConnectedAppError("CONNECTED_APP_NOT_FOUND", "Connected app not found");
    return app;
  }

  private catalogEntry(id: string): ProviderDefinition {
    if (id === GENERIC_PROVIDER_ID) {
      return {
        id,
        name: "OAuth 2.0",
        authorizationUrl: "",
        tokenUrl: "",
        clientAuth: "body",
        bodyFormat: "form",
        scopeSeparator: " ",
        pkce: true,
      };
    }
    const provider = this.ctx.options.catalog.get(id);
    if (!provider) throw new ConnectedAppError("INVALID_PROVIDER", `Unknown provider ${id.slice(0, 50)}`);
    return provider;
  }

  /** The provider definition a connected app uses (generic providers take their endpoints from settings). */
  providerOf(app: ConnectedAppRow): ProviderDefinition {
    const provider = this.catalogEntry(app.provider);
    if (app.provider !== GENERIC_PROVIDER_ID) return provider;
    const settings = JSON.parse(app.settings) as ConnectedAppInput["settings"];
    return {
      ...provider,
      authorizationUrl: settings?.authorization_url ?? "",
      tokenUrl: settings?.token_url ?? "",
      revocationUrl: settings?.revocation_url,
      clientAuth: settings?.client_auth ?? provider.clientAuth,
    };
  }

  credentialsOf(app: ConnectedAppRow): ProviderCredentials {
    return {
      clientId: app.client_id,
      clientSecret: this.ctx.secretBox.open(app.client_secret_sealed, secretAad(app.key_code_ref)),
    };
  }

  private inputOf(app: ConnectedAppRow): ConnectedAppInput {
    return {
      key_code_ref: app.key_code_ref,
      provider: app.provider,
      client_id: app.client_id,
      client_secret: "unchanged",
      callback_url: app.callback_url,
      settings: JSON.parse(app.settings) as ConnectedAppInput["settings"],
    };
  }

  private validate(input: ConnectedAppInput, providerId: string) {
    const problem = redirectUrlProblem(input.callback_url);
    if (problem) throw new ConnectedAppError("INVALID_URL", `callback_url ${problem}`);
    const provider = this.providerOf({
      provider: providerId,
      settings: JSON.stringify(input.settings ?? {}),
    } as ConnectedAppRow);
    const urls = {
      authorization_url: provider.authorizationUrl,
      token_url: provider.tokenUrl,
      revocation_url: provider.revocationUrl,
    };
    for (const [name, url] of Object.entries(urls)) {
      if (url === undefined) continue;
      const urlProblem = providerUrlProblem(url, this.ctx.options.allowPrivateNetworks);
      if (urlProblem) throw new ConnectedAppError("INVALID_URL", `${name} ${urlProblem}`);
    }
  }

  /**
   * Fills a generic provider's missing endpoints from its issuer's OIDC discovery document (read
   * afresh: an administrator configuring a provider wants what it publishes now). Only the issuer
   * is required of the document: the endpoints it lacks may be in the settings.
   */
  private async discover(
    settings: NonNullable<ConnectedAppInput["settings"]>,
  ): Promise<ConnectedAppInput["settings"]> {
    const issuer = settings.issuer!.replace(/\/+$/, "");
    const problem = providerUrlProblem(issuer, this.ctx.options.allowPrivateNetworks);
    if (problem) throw new ConnectedAppError("INVALID_URL", `issuer ${problem}`);
    let metadata: DiscoveryDocument;
    try {
      metadata = await fetchDiscoveryDocument(issuer, { http: this.ctx.http, cache: false });
    } catch (error) {
      // OIDC Discovery §4.3: the document must be about the issuer we asked.
      if (error instanceof OidcError && error.reason === "issuer_mismatch") {
        throw new ConnectedAppError("INVALID_PROVIDER", "The discovery document names another issuer");
      }
      // The detail (refused addresses, connection errors, status codes) stays in the log: shown to
      // the caller it would map Latchkey's network for them.
      this.ctx.options.logger?.warn(
        {
          event: "connected_app_discovery_failed",
          issuer,
          reason: error instanceof Error ? error.message : String(error),
        },
        "connected app: the issuer's discovery document could not be read",
      );
      throw new ConnectedAppError("INVALID_PROVIDER", "Could not read the issuer's discovery document");
    }
    return {
      ...settings,
      authorization_url: settings.authorization_url ?? metadata.authorization_endpoint,
      token_url: settings.token_url ?? metadata.token_endpoint,
      revocation_url: settings.revocation_url ?? metadata.revocation_endpoint,
    };
  }
}

/** The endpoints a generic provider's settings name, as one comparable string. */
function endpointsOf(settings: ConnectedAppInput["settings"]): string {
  return JSON.stringify([
    settings?.issuer ?? null,
    settings?.authorization_url ?? null,
    settings?.token_url ?? null,
    settings?.revocation_url ?? null,
  ]);
}
