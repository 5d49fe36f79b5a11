// Runs Kinde's Management API client (@kinde/management-api-js 0.18, unchanged) against Latchkey
// for connections — configured as its README says (KINDE_DOMAIN, KINDE_MANAGEMENT_CLIENT_ID,
// KINDE_MANAGEMENT_CLIENT_SECRET), in its own process so NODE_EXTRA_CA_CERTS applies. It creates,
// lists, reads, updates, replaces and deletes connections, enables one for an application it
// created and for an organization, and provokes the refusals a client meets. Prints one JSON line
// per step: {step, ok, value | error}.
import * as kinde from "@kinde/management-api-js";
// The SDK's own request and response types (generated from Kinde's specification; a
// self-contained file). Its entry point's .d.ts files use extension-less relative imports that
// NodeNext cannot follow, and its package exports hide this file, hence the path.
import type {
  CreateApplicationData,
  CreateApplicationResponse,
  CreateConnectionData,
  CreateConnectionResponse,
  CreateOrganizationData,
  CreateOrganizationResponse,
  DeleteConnectionData,
  DeleteConnectionResponse,
  EnableConnectionData,
  EnableConnectionResponse,
  EnableOrgConnectionData,
  EnableOrgConnectionResponse,
  GetApplicationConnectionsData,
  GetApplicationConnectionsResponse,
  GetConnectionData,
  GetConnectionResponse,
  GetConnectionsData,
  GetConnectionsResponse,
  GetOrganizationConnectionsData,
  GetOrganizationConnectionsResponse,
  RemoveConnectionData,
  RemoveConnectionResponse,
  RemoveOrgConnectionData,
  RemoveOrgConnectionResponse,
  ReplaceConnectionData,
  ReplaceConnectionResponse,
  UpdateConnectionData,
  UpdateConnectionResponse,
} from "../../node_modules/@kinde/management-api-js/dist/api/types.gen.js";
import { step } from "../helpers/kinde-script.js";

const { Connections, Applications, Organizations, init } = kinde as unknown as {
  Connections: {
    getConnections(data?: GetConnectionsData): Promise<GetConnectionsResponse>;
    createConnection(data: CreateConnectionData): Promise<CreateConnectionResponse>;
    getConnection(data: GetConnectionData): Promise<GetConnectionResponse>;
    updateConnection(data: UpdateConnectionData): Promise<UpdateConnectionResponse>;
    replaceConnection(data: ReplaceConnectionData): Promise<ReplaceConnectionResponse>;
    deleteConnection(data: DeleteConnectionData): Promise<DeleteConnectionResponse>;
  };
  Applications: {
    createApplication(data: CreateApplicationData): Promise<CreateApplicationResponse>;
    getApplicationConnections(
      data: GetApplicationConnectionsData,
    ): Promise<GetApplicationConnectionsResponse>;
    enableConnection(data: EnableConnectionData): Promise<EnableConnectionResponse>;
    removeConnection(data: RemoveConnectionData): Promise<RemoveConnectionResponse>;
  };
  Organizations: {
    createOrganization(data: CreateOrganizationData): Promise<CreateOrganizationResponse>;
    getOrganizationConnections(
      data: GetOrganizationConnectionsData,
    ): Promise<GetOrganizationConnectionsResponse>;
    enableOrgConnection(data: EnableOrgConnectionData): Promise<EnableOrgConnectionResponse>;
    removeOrgConnection(data: RemoveOrgConnectionData): Promise<RemoveOrgConnectionResponse>;
  };
  init: () => void;
};

const tag = process.argv[2] ?? "run";
const MISSING = "conn_00000000000000000000000000000000";

init();

const application = await step("createApplication", () =>
  Applications.createApplication({ requestBody: { name: `Shop ${tag}`, type: "reg" } }),
);
const applicationId = application?.application?.id ?? "missing";
const organization = await step("createOrganization", () =>
  Organizations.createOrganization({ requestBody: { name: `Acme ${tag}` } }),
);
const orgCode = organization?.organization?.code ?? "missing";

await step("createConnection:unknown-strategy", () =>
  Connections.createConnection({
    requestBody: {
      name: "x",
      display_name: "x",
      strategy: "oauth2:myspace" as "oauth2:google",
      options: { client_id: "x" },
    },
  }),
);
await step("createConnection:saml", () =>
  Connections.createConnection({
    requestBody: {
      name: "x",
      display_name: "x",
      strategy: "saml:okta",
      options: { home_realm_domains: [`@${tag}.example.com`], saml_entity_id: "https://idp.example.com" },
    },
  }),
);
// Trusting a connection is an administrator's decision (docs/security.md): a machine is refused.
await step("createConnection:trusted", () =>
  Connections.createConnection({
    requestBody: {
      name: `trusted-${tag}`,
      display_name: "Google",
      strategy: "oauth2:google",
      options: { client_id: `${tag}.apps.googleusercontent.com`, is_trusted: true },
    },
  }),
);
const google = await step("createConnection", () =>
  Connections.createConnection({
    requestBody: {
      name: `google-${tag}`,
      display_name: "Google",
      strategy: "oauth2:google",
      enabled_applications: [applicationId],
      options: {
        client_id: `${tag}.apps.googleusercontent.com`,
        client_secret: `secret-${tag}`,
      },
    },
  }),
);
const googleId = google?.connection?.id ?? "missing";
const entra = await step("createConnection:azure_ad", () =>
  Connections.createConnection({
    requestBody: {
      name: `entra-${tag}`,
      display_name: "Microsoft Entra ID",
      strategy: "oauth2:azure_ad",
      organization_code: orgCode,
      options: {
        client_id: `entra-${tag}`,
        client_secret: `entra-secret-${tag}`,
        entra_id_domain: `${tag}.onmicrosoft.com`,
        home_realm_domains: [`@${tag}.example.com`],
        is_create_missing_user: true,
      },
    },
  }),
);
const entraId = entra?.connection?.id ?? "missing";

await step("getConnections", () => Connections.getConnections({ pageSize: 500 }));
await step("getConnections:page", () => Connections.getConnections({ pageSize: 1 }));
await step("getConnections:after", () => Connections.getConnections({ startingAfter: googleId }));
await step("getConnections:before", () => Connections.getConnections({ endingBefore: entraId }));
await step("getConnections:domain", () =>
  Connections.getConnections({ homeRealmDomain: `${tag}.example.com` }),
);
await step("getConnection", () => Connections.getConnection({ connectionId: googleId }));
await step("getConnection:unknown", () => Connections.getConnection({ connectionId: MISSING }));

await step("updateConnection", () =>
  Connections.updateConnection({
    connectionId: googleId,
    requestBody: { display_name: "Continue with Google", options: { is_trusted: false } },
  }),
);
await step("getConnection:updated", () => Connections.getConnection({ connectionId: googleId }));
await step("updateConnection:unknown", () =>
  Connections.updateConnection({ connectionId: MISSING, requestBody: { name: "x" } }),
);
await step("replaceConnection", () =>
  Connections.replaceConnection({
    connectionId: entraId,
    requestBody: {
      name: `entra-${tag}`,
      display_name: "Staff sign-in",
      options: {
        client_id: `entra-${tag}`,
        is_use_common_endpoint: true,
        home_realm_domains: [`@${tag}.example.com`, `@${tag}.example.org`],
      },
    },
  }),
);
await step("getConnection:replaced", () => Connections.getConnection({ connectionId: entraId }));

await step("getApplicationConnections", () => Applications.getApplicationConnections({ applicationId }));
await step("enableConnection", () => Applications.enableConnection({ applicationId, connectionId: entraId }));
await step("getApplicationConnections:enabled", () =>
  Applications.getApplicationConnections({ applicationId }),
);
await step("removeConnection", () =>
  Applications.removeConnection({ applicationId, connectionId: googleId }),
);
await step("removeConnection:again", () =>
  Applications.removeConnection({ applicationId, connectionId: googleId }),
);
await step("getApplicationConnections:removed", () =>
  Applications.getApplicationConnections({ applicationId }),
);

await step("getOrganizationConnections", () =>
  Organizations.getOrganizationConnections({ organizationCode: orgCode }),
);
await step("enableOrgConnection", () =>
  Organizations.enableOrgConnection({ organizationCode: orgCode, connectionId: googleId }),
);
await step("getOrganizationConnections:enabled", () =>
  Organizations.getOrganizationConnections({ organizationCode: orgCode }),
);
await step("removeOrgConnection", () =>
  Organizations.removeOrgConnection({ organizationCode: orgCode, connectionId: googleId }),
);

await step("deleteConnection", () => Connections.deleteConnection({ connectionId: googleId }));
await step("deleteConnection:again", () => Connections.deleteConnection({ connectionId: googleId }));
await step("getConnections:deleted", () => Connections.getConnections({ pageSize: 500 }));
