// Runs Kinde's own Management API client (@kinde/management-api-js 0.18, unchanged) against
// Latchkey, configured exactly as its README says (KINDE_DOMAIN, KINDE_MANAGEMENT_CLIENT_ID,
// KINDE_MANAGEMENT_CLIENT_SECRET). It runs in its own process because the client reads its
// configuration and Node reads NODE_EXTRA_CA_CERTS (our self-signed certificate) at start-up.
// Prints one JSON line per step: {step, ok, value | error}.
import * as kinde from "@kinde/management-api-js";

// The package's .d.ts files use extension-less relative imports that NodeNext resolution cannot
// follow, so its classes are typed here by what this script calls.
type Call = (data?: Record<string, unknown>) => Promise<unknown>;
const { Applications, Callbacks, ApiError, init } = kinde as unknown as {
  Applications: Record<
    "createApplication" | "getApplication" | "getApplications" | "deleteApplication",
    Call
  >;
  Callbacks: Record<"addRedirectCallbackUrls" | "getCallbackUrls", Call>;
  ApiError: new (...args: never[]) => Error & { status: number; body: unknown };
  init: () => void;
};

async function step(name: string, work: () => Promise<unknown>): Promise<unknown> {
  try {
    const value = await work();
    process.stdout.write(`${JSON.stringify({ step: name, ok: true, value })}\n`);
    return value;
  } catch (error) {
    const detail = error instanceof ApiError ? { status: error.status, body: error.body } : String(error);
    process.stdout.write(`${JSON.stringify({ step: name, ok: false, error: detail })}\n`);
    return undefined;
  }
}

init();
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
await step("deleteApplication", () => Applications.deleteApplication({ applicationId: id }));
await step("getDeletedApplication", () => Applications.getApplication({ applicationId: id }));
