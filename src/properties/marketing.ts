// The marketing parameters @kinde/js-utils puts on /oauth2/auth from its `properties` login option
// (its KindeProperties type), which Kinde stores as the new user's properties at sign-up. Only these
// keys are read, and each value is bounded: attribution data must never be a way to store anything
// else, nor a reason to refuse a sign-in (a bad value is dropped, not answered with an error).
import type { Params } from "../oauth/params.js";

export const MARKETING_PROPERTY_KEYS: readonly string[] = [
  "utm_source",
  "utm_medium",
  "utm_campaign",
  "utm_content",
  "utm_term",
  "gclid",
  "click_id",
  "hsa_acc",
  "hsa_cam",
  "hsa_grp",
  "hsa_ad",
  "hsa_src",
  "hsa_tgt",
  "hsa_kw",
  "hsa_mt",
  "hsa_net",
  "hsa_ver",
  "match_type",
  "keyword",
  "device",
  "ad_group_id",
  "campaign_id",
  "creative",
  "network",
  "ad_position",
  "fbclid",
  "li_fat_id",
  "msclkid",
  "twclid",
  "ttclid",
];

/** Longest value kept: click identifiers run to about 100 characters, campaign names less. */
export const MAX_MARKETING_VALUE_LENGTH = 255;

const CONTROL = /\p{Cc}/u;

/**
 * The marketing parameters of an authorization request that are worth keeping, or undefined when
 * there are none. A repeated parameter, a value too long, with control characters, or the TS SDK's
 * literal "undefined" is left out.
 */
export function marketingParameters(params: Params): Record<string, string> | undefined {
  let found: Record<string, string> | undefined;
  for (const key of MARKETING_PROPERTY_KEYS) {
    let value: string | undefined;
    try {
      value = params.get(key)?.trim();
    } catch {
      continue;
    }
    if (!value || value === "undefined" || value.length > MAX_MARKETING_VALUE_LENGTH || CONTROL.test(value))
      continue;
    found ??= {};
    found[key] = value;
  }
  return found;
}
