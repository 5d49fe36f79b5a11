// SCIM discovery (RFC 7644 §4): what this service provider supports (ServiceProviderConfig, RFC
// 7643 §5), its resource types (§6) and the schemas of the attributes it understands (§7). IdPs
// read these to decide, for example, whether to send PATCH or PUT.
import { MAX_OPERATIONS, MAX_RESULTS, SCHEMA } from "./scim-protocol.js";

const CONFIG_URN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_URN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:Schema";

export function serviceProviderConfig(baseUrl: string) {
  return {
    schemas: [CONFIG_URN],
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [
      {
        type: "oauthbearertoken",
        name: "Bearer token",
        description: `The directory's secret token, as "Authorization: Bearer <token>"; at most ${MAX_OPERATIONS} PATCH operations per request.`,
        primary: true,
      },
    ],
    meta: { resourceType: "ServiceProviderConfig", location: `${baseUrl}/ServiceProviderConfig` },
  };
}

export function resourceTypes(baseUrl: string) {
  return [
    {
      schemas: [RESOURCE_TYPE_URN],
      id: "User",
      name: "User",
      endpoint: "/Users",
      schema: SCHEMA.user,
      schemaExtensions: [{ schema: SCHEMA.enterpriseUser, required: false }],
      meta: { resourceType: "ResourceType", location: `${baseUrl}/ResourceTypes/User` },
    },
    {
      schemas: [RESOURCE_TYPE_URN],
      id: "Group",
      name: "Group",
      endpoint: "/Groups",
      schema: SCHEMA.group,
      meta: { resourceType: "ResourceType", location: `${baseUrl}/ResourceTypes/Group` },
    },
  ];
}

interface SchemaAttribute {
  name: string;
  type: string;
  multiValued: boolean;
  required: boolean;
  caseExact: boolean;
  mutability: string;
  returned: string;
  uniqueness: string;
  subAttributes?: SchemaAttribute[];
}

const attr = (
  name: string,
  extra: {
    type?: string;
    required?: boolean;
    multiValued?: boolean;
    uniqueness?: string;
    mutability?: string;
  } = {},
  subAttributes?: SchemaAttribute[],
): SchemaAttribute => ({
  name,
  type: extra.type ?? "string",
  multiValued: extra.multiValued ?? false,
  required: extra.required ?? false,
  caseExact: false,
  mutability: extra.mutability ?? "readWrite",
  returned: "default",
  uniqueness: extra.uniqueness ?? "none",
  ...(subAttributes ? { subAttributes } : {}),
});

export function schemas(baseUrl: string) {
  const multi = (name: string) =>
    attr(name, { type: "complex", multiValued: true }, [
      attr("value"),
      attr("type"),
      attr("primary", { type: "boolean" }),
    ]);
  return [
    {
      schemas: [SCHEMA_URN],
      id: SCHEMA.user,
      name: "User",
      description: "User Account",
      attributes: [
        attr("userName", { required: true, uniqueness: "server" }),
        attr("name", { type: "complex" }, [attr("formatted"), attr("givenName"), attr("familyName")]),
        attr("displayName"),
        attr("active", { type: "boolean" }),
        multi("emails"),
        multi("phoneNumbers"),
        attr("groups", { type: "complex", multiValued: true, mutability: "readOnly" }, [
          attr("value"),
          attr("display"),
        ]),
      ],
      meta: { resourceType: "Schema", location: `${baseUrl}/Schemas/${SCHEMA.user}` },
    },
    {
      schemas: [SCHEMA_URN],
      id: SCHEMA.group,
      name: "Group",
      description: "Group; a group named like a role key gives its members that role in the organization",
      attributes: [
        attr("displayName", { required: true, uniqueness: "server" }),
        attr("members", { type: "complex", multiValued: true }, [attr("value"), attr("display")]),
      ],
      meta: { resourceType: "Schema", location: `${baseUrl}/Schemas/${SCHEMA.group}` },
    },
  ];
}
