// Runs Kinde's own Management API client (@kinde/management-api-js 0.18, unchanged) against
// Latchkey, configured exactly as its README says (KINDE_DOMAIN, KINDE_MANAGEMENT_CLIENT_ID,
// KINDE_MANAGEMENT_CLIENT_SECRET). It runs in its own process because the client reads its
// configuration and Node reads NODE_EXTRA_CA_CERTS (our self-signed certificate) at start-up.
// Prints one JSON line per step: {step, ok, value | error}. Argument 1 is a tag that makes this
// run's emails and audience unique; argument 2 how many users to create.
import * as kinde from "@kinde/management-api-js";
import { step } from "../helpers/kinde-script.js";

// The package's .d.ts files use extension-less relative imports that NodeNext resolution cannot
// follow, so its classes are typed here by what this script calls.
type Call = (data?: Record<string, unknown>) => Promise<unknown>;
const { Applications, Callbacks, Apis, Users, ConnectedApps, init } = kinde as unknown as {
  Applications: Record<
    "createApplication" | "getApplication" | "getApplications" | "deleteApplication",
    Call
  >;
  Callbacks: Record<"addRedirectCallbackUrls" | "getCallbackUrls", Call>;
  Apis: Record<"addApis" | "getApi" | "updateApiApplications" | "deleteApi", Call>;
  Users: Record<"createUser" | "getUsers" | "getUserData" | "updateUser" | "deleteUser", Call>;
  ConnectedApps: Record<"getConnectedAppAuthUrl" | "getConnectedAppToken" | "revokeConnectedAppToken", Call>;
  init: () => void;
};

const tag = process.argv[2] ?? "run";
const userCount = Number(process.argv[3] ?? "7");

init();

// An application with callback URLs.
const created = (await step("createApplication", () =>
  Applications.createApplication({ requestBody: { name: "Made by management-api-js", type: "reg" } }),
)) as { application?: { id: string } } | undefined;
const id = created?.application?.id ?? "missing";
await step("getApplication", () => Applications.getApplication({ applicationId: id }));
await step("addRedirectCallbackUrls", () =>
  Callbacks.addRedirectCallbackUrls({
    appId: id,
    requestBody: { urls: ["https://app.example.com/callback"] },
  }),
);
await step("getCallbackUrls", () => Callbacks.getCallbackUrls({ appId: id }));
await step("getApplications", () => Applications.getApplications({ pageSize: 2 }));

// An API, and the application authorised for it.
const api = (await step("addApis", () =>
  Apis.addApis({ requestBody: { name: "Orders API", audience: `https://orders-${tag}.example.com` } }),
)) as { api?: { id: string } } | undefined;
const apiId = api?.api?.id ?? "missing";
await step("updateApiApplications", () =>
  Apis.updateApiApplications({ apiId, requestBody: { applications: [{ id }] } }),
);
await step("getApi", () => Apis.getApi({ apiId }));

// Users with email identities, listed page by page with next_token.
const userIds: string[] = [];
for (let i = 0; i < userCount; i++) {
  const user = (await step(`createUser:${i}`, () =>
    Users.createUser({
      requestBody: {
        profile: { given_name: `Given${i}`, family_name: `Family${i}` },
        identities: [{ type: "email", is_verified: true, details: { email: `user${i}.${tag}@example.com` } }],
      },
    }),
  )) as { id?: string } | undefined;
  if (user?.id) userIds.push(user.id);
}
let nextToken: string | undefined;
for (let page = 1; page <= 50; page++) {
  const listed = (await step(`getUsers:${page}`, () => Users.getUsers({ pageSize: 3, nextToken }))) as
    | { next_token?: string | null }
    | undefined;
  nextToken = listed?.next_token ?? undefined;
  if (!nextToken) break;
}

// Connected apps (the test configured one with key_code_ref "drive" beforehand): an auth URL for
// a user; its token is not ready until the user connects; revoking succeeds.
const [first, second] = userIds;
const auth = (await step("getConnectedAppAuthUrl", () =>
  ConnectedApps.getConnectedAppAuthUrl({ keyCodeRef: "drive", userId: first ?? "missing" }),
)) as { session_id?: string } | undefined;
await step("getConnectedAppToken", () =>
  ConnectedApps.getConnectedAppToken({ sessionId: auth?.session_id ?? "missing" }),
);
await step("revokeConnectedAppToken", () =>
  ConnectedApps.revokeConnectedAppToken({ sessionId: auth?.session_id ?? "missing" }),
);

// Update one user, delete another.
await step("updateUser", () =>
  Users.updateUser({ id: first ?? "missing", requestBody: { given_name: "Renamed", family_name: "Person" } }),
);
await step("getUpdatedUser", () => Users.getUserData({ id: first ?? "missing" }));
await step("deleteUser", () => Users.deleteUser({ id: second ?? "missing" }));
await step("getDeletedUser", () => Users.getUserData({ id: second ?? "missing" }));

// Delete the application (and the API, to leave nothing behind).
await step("deleteApplication", () => Applications.deleteApplication({ applicationId: id }));
await step("getDeletedApplication", () => Applications.getApplication({ applicationId: id }));
await step("deleteApi", () => Apis.deleteApi({ apiId }));
