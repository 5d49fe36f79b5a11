// Request parameters as RFC 6749 §3.1/§3.2 define them: an empty value counts as absent, unknown
// parameters are ignored, and no parameter may appear twice.
import { OAuthError } from "./errors.js";

export type RawParams = Readonly<Record<string, unknown>>;

/** Upper bound for any single parameter value; longer values are refused, not truncated. */
export const MAX_PARAM_LENGTH = 4096;
/**
 * Upper bound for a token presented for revocation or introspection (RFC 7009 §2.1, RFC 7662 §2.1):
 * our own access tokens are JWTs that grow with their scopes, and a Management API token carrying
 * every scope is longer than MAX_PARAM_LENGTH.
 */
export const MAX_TOKEN_PARAM_LENGTH = 16_384;
const TOKEN_PARAMS: ReadonlySet<string> = new Set(["token"]);
/** Upper bound for the values of a repeatable parameter (audiences). */
export const MAX_REPEATED_VALUES = 20;

export class Params {
  constructor(private readonly raw: RawParams) {}

  /** One value, or undefined when absent or empty; invalid_request when repeated or not text. */
  get(name: string): string | undefined {
    const value = this.raw[name];
    if (value === undefined || value === null) return undefined;
    if (Array.isArray(value)) {
      const present = value.filter((v) => v !== "");
      if (present.length > 1) throw new OAuthError("invalid_request", `Parameter ${name} is repeated`);
      return this.checked(name, present[0]);
    }
    return this.checked(name, value);
  }

  require(name: string): string {
    const value = this.get(name);
    if (value === undefined) throw new OAuthError("invalid_request", `Missing required parameter ${name}`);
    return value;
  }

  /** Every value of a parameter that may repeat (Kinde's `audience`), split on spaces. */
  all(name: string): string[] {
    const value = this.raw[name];
    const values = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
    const all = values
      .map((v) => this.checked(name, v))
      .flatMap((v) => (v ?? "").split(" "))
      .filter((v) => v !== "" && v !== "undefined");
    if (all.length > MAX_REPEATED_VALUES) throw new OAuthError("invalid_request", `Too many ${name} values`);
    return all;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  private checked(name: string, value: unknown): string | undefined {
    if (typeof value !== "string") throw new OAuthError("invalid_request", `Parameter ${name} must be text`);
    if (value.length > (TOKEN_PARAMS.has(name) ? MAX_TOKEN_PARAM_LENGTH : MAX_PARAM_LENGTH))
      throw new OAuthError("invalid_request", `Parameter ${name} is too long`);
    return value === "" ? undefined : value;
  }
}
