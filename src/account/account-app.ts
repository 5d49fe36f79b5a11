// The account pages (/account) sign people in as an ordinary application of Latchkey, through the
// authorization endpoint: a first-party application ("Account settings") with its client ID
// derived from the business row's id, registered when missing, whose code account-sign-in.ts
// consumes itself. Why it is made this way is sign-in/first-party-sign-in.ts's header.
import type { Services } from "../services.js";
import {
  FIRST_PARTY_LABELS,
  type FirstPartyApplication,
  firstPartyClientId,
} from "../sign-in/first-party-sign-in.js";

export const ACCOUNT_APPLICATION: FirstPartyApplication = {
  name: "Account settings",
  clientIdLabel: FIRST_PARTY_LABELS.account,
  callbackPath: "/account/callback",
};

/** The account pages' client ID (the overview leaves Latchkey's own applications out). */
export function accountClientId(services: Pick<Services, "business">): Promise<string> {
  return firstPartyClientId(services, ACCOUNT_APPLICATION);
}
