// Who may answer a device's request on /device (RFC 8628 §3.3), and how they sign in for it.
//
// The page is used with the browser's Latchkey session (the sign-in pages' cookie). Without one,
// the person signs in as for any application: /device is itself a first-party application of
// Latchkey ("Device sign-in", first-party-sign-in.ts) whose sign-in runs every step the policy asks
// — the verified address, a new password, the second factor — and ends by starting a session,
// which the callback admits only for this browser.
//
// Answering a device signs the person in to the *device's* application, so the session must also
// be good enough for that application, judged as the authorization endpoint judges a silent
// sign-in (session-admission.ts): the steps the policy asks are done, the second factor the
// organization entered asks for was given, a passkey exists where passkeys are mandatory, and a
// session made through a connection counts only where that connection is enabled for the device's
// application.
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Services } from "../services.js";
import type { User } from "../users/users.store.js";
import type { BrowserSignIn } from "./browser-sign-in.js";
import {
  type CallbackOutcome,
  FIRST_PARTY_LABELS,
  type FirstPartyApplication,
  FirstPartySignIn,
  firstPartyClientId,
} from "./first-party-sign-in.js";
import { connectionAdmits, policySatisfied } from "./session-admission.js";
import { lifetimeAdmits } from "./session-lifetime.js";
import type { BrowserSession } from "./sessions.js";
import type { SignInPolicy } from "./steps.js";

const DEVICE_APPLICATION: FirstPartyApplication = {
  name: "Device sign-in",
  clientIdLabel: FIRST_PARTY_LABELS.device,
  callbackPath: "/device/callback",
};
/** Where the callback may send the browser: /device, with a well-formed user code at most. */
const RETURN_PATH = /^\/device(?:\?user_code=[A-Z]{4}-[A-Z]{4})?$/;

export type DeviceAccess = { kind: "signed_in"; session: BrowserSession; user: User } | { kind: "sign_in" };

export function deviceReturnPath(value: unknown): string {
  return typeof value === "string" && RETURN_PATH.test(value) ? value : "/device";
}

/** The /device pages' client ID (the overview leaves Latchkey's own applications out). */
export function deviceSignInClientId(services: Pick<Services, "business">): Promise<string> {
  return firstPartyClientId(services, DEVICE_APPLICATION);
}

export class DeviceSignIn {
  private readonly firstParty: FirstPartySignIn;

  constructor(
    private readonly services: Services,
    signIn: BrowserSignIn,
    https: boolean,
    private readonly policy: SignInPolicy,
  ) {
    this.firstParty = new FirstPartySignIn(services, signIn, https, {
      application: DEVICE_APPLICATION,
      cookieName: "latchkey_device_sign_in",
      returnPath: deviceReturnPath,
    });
  }

  async access(request: FastifyRequest): Promise<DeviceAccess> {
    const signedIn = await this.firstParty.signedIn(request);
    return signedIn ? { kind: "signed_in", ...signedIn } : { kind: "sign_in" };
  }

  /**
   * Whether this session may sign its person in to `clientId` in `orgCode` without another step
   * (see the file's comment).
   */
  async admits(
    access: { session: BrowserSession },
    clientId: string,
    orgCode: string | null,
  ): Promise<boolean> {
    const request = { clientId, orgCode: orgCode ?? undefined };
    return (
      // Security review M2: the application's and the entered organization's session lifetimes.
      (await lifetimeAdmits(this.services.db, this.services.clock.now(), access.session, request)) &&
      (await policySatisfied(this.services, access.session, request, this.policy)) &&
      (await connectionAdmits(this.services, access.session, request))
    );
  }

  /**
   * Sends the browser to the authorization endpoint; back at `returnTo` once signed in. `fresh`
   * asks for a new proof whatever the session (prompt=login), with the organization whose policy
   * it must meet. Undefined when ISSUER_URL cannot carry the callback.
   */
  start(
    reply: FastifyReply,
    options: { returnTo: string; status: 302 | 303; fresh?: { orgCode: string | null; loginHint?: string } },
  ): Promise<FastifyReply | undefined> {
    const { returnTo, status, fresh } = options;
    return this.firstParty.start(reply, { returnTo, status, again: fresh !== undefined, ...fresh });
  }

  /** Checks the authorization response at /device/callback (and forgets the pending sign-in). */
  callback(
    request: FastifyRequest,
    reply: FastifyReply,
    query: Record<string, string | undefined>,
  ): Promise<CallbackOutcome> {
    return this.firstParty.callback(request, reply, query);
  }
}
