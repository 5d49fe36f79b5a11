// Runs Kinde's Management API client (@kinde/management-api-js 0.18, unchanged) against Latchkey
// for webhooks — configured as its README says (KINDE_DOMAIN, KINDE_MANAGEMENT_CLIENT_ID,
// KINDE_MANAGEMENT_CLIENT_SECRET), in its own process so NODE_EXTRA_CA_CERTS applies. It is also
// the webhook's receiver: an event id reaches a Kinde customer in a webhook body, so the script
// learns one the way they do — Users.createUser makes a user.created event happen, Latchkey
// delivers it here, Kinde's @kinde/webhooks decodeWebhook verifies it — and then reads that event
// back with Webhooks.getEvent. Prints one JSON line per step: {step, ok, value | error}.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import * as kinde from "@kinde/management-api-js";
import { decodeWebhook } from "@kinde/webhooks";
// The SDK's own request and response types (generated from Kinde's specification; a
// self-contained file). Its entry point's .d.ts files use extension-less relative imports that
// NodeNext cannot follow, and its package exports hide this file, hence the path.
import type {
  CreateUserData,
  CreateUserResponse,
  CreateWebHookData,
  CreateWebHookResponse,
  DeleteWebHookData,
  DeleteWebHookResponse,
  GetEventData,
  GetEventResponse,
  GetEventTypesResponse,
  GetWebHooksResponse,
  UpdateWebHookData,
  UpdateWebHookResponse,
} from "../../node_modules/@kinde/management-api-js/dist/api/types.gen.js";
import { step } from "../helpers/kinde-script.js";

const { Webhooks, Users, init } = kinde as unknown as {
  Webhooks: {
    createWebHook(data: CreateWebHookData): Promise<CreateWebHookResponse>;
    getWebHooks(): Promise<GetWebHooksResponse>;
    updateWebHook(data: UpdateWebHookData): Promise<UpdateWebHookResponse>;
    deleteWebHook(data: DeleteWebHookData): Promise<DeleteWebHookResponse>;
    getEventTypes(): Promise<GetEventTypesResponse>;
    getEvent(data: GetEventData): Promise<GetEventResponse>;
  };
  Users: { createUser(data: CreateUserData): Promise<CreateUserResponse> };
  init: () => void;
};

const tag = process.argv[2] ?? "run";
const domain = `https://${process.env.KINDE_DOMAIN}`;

// The receiver: keeps each body (a JWT) and answers 200.
const bodies: string[] = [];
const receiver = createServer((request, response) => {
  let body = "";
  request.setEncoding("utf8");
  request.on("data", (chunk: string) => {
    body += chunk;
  });
  request.on("end", () => {
    bodies.push(body);
    response.writeHead(200, { "content-type": "text/plain" }).end("ok");
  });
});
await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/kinde/${tag}`;

init();

await step("getEventTypes", () => Webhooks.getEventTypes());
await step("createWebHook:unknown-event-type", () =>
  Webhooks.createWebHook({
    requestBody: { endpoint, event_types: ["user.teleported"], name: `Refused ${tag}` },
  }),
);
await step("createWebHook:blank-name", () =>
  Webhooks.createWebHook({ requestBody: { endpoint, event_types: ["user.created"], name: "   " } }),
);
const created = await step("createWebHook", () =>
  Webhooks.createWebHook({
    requestBody: {
      endpoint,
      event_types: ["user.created"],
      name: `Receiver ${tag}`,
      description: "Made by management-api-js",
    },
  }),
);
const webhookId = created?.webhook?.id ?? "missing";
await step("getWebHooks", () => Webhooks.getWebHooks());
await step("updateWebHook", () =>
  Webhooks.updateWebHook({
    webhookId,
    requestBody: {
      event_types: ["user.created", "user.updated"],
      name: `  Renamed ${tag}  `,
      description: "Changed by management-api-js",
    },
  }),
);
await step("getWebHooks:updated", () => Webhooks.getWebHooks());
await step("updateWebHook:blank-name", () =>
  Webhooks.updateWebHook({ webhookId, requestBody: { name: " " } }),
);

const user = await step("createUser", () =>
  Users.createUser({
    requestBody: {
      profile: { given_name: "Grace", family_name: "Hopper" },
      identities: [{ type: "email", is_verified: true, details: { email: `grace.${tag}@example.com` } }],
    },
  }),
);

// The user.created event, as the receiver got it (the worker polls every second).
const event = await step("decodeWebhook", async () => {
  const deadline = Date.now() + 20_000;
  while (bodies.length === 0) {
    if (Date.now() > deadline) throw new Error("no delivery within 20 s");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const decoded = await decodeWebhook<{ event_id: string; data: { user: { id: string } } }>(
    bodies[0],
    domain,
  );
  if (!decoded) throw new Error(`decodeWebhook refused the body: ${bodies[0]!.slice(0, 80)}…`);
  if (decoded.data.user.id !== user?.id) throw new Error(`the event is about ${decoded.data.user.id}`);
  return decoded;
});
await step("getEvent", () => Webhooks.getEvent({ eventId: event?.event_id ?? "missing" }));
await step("getEvent:unknown", () => Webhooks.getEvent({ eventId: "event_000000000000000000000000000000" }));

await step("updateWebHook:unknown", () =>
  Webhooks.updateWebHook({
    webhookId: "webhook_00000000000000000000000000000000",
    requestBody: { name: "x" },
  }),
);
await step("deleteWebHook", () => Webhooks.deleteWebHook({ webhookId }));
await step("deleteWebHook:again", () => Webhooks.deleteWebHook({ webhookId }));
await step("getWebHooks:deleted", () => Webhooks.getWebHooks());

receiver.close();
