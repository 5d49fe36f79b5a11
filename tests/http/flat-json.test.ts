// flatJson must write exactly what JSON.stringify writes, whatever it is given: the token endpoint's
// answers go out through it, and a client parses them as JSON.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { flatJson } from "../../src/http/flat-json.js";

/** Long ASCII (the per-character search path) with one character of any code below 0x80 put in. */
const longAscii = fc
  .tuple(
    fc.string({ minLength: 512, maxLength: 1200, unit: fc.constantFrom(..."abAB09-_.: ") }),
    fc.nat(),
    fc.integer({ min: 0, max: 0x7f }),
  )
  .map(([text, at, code]) => {
    const cut = at % (text.length + 1);
    return `${text.slice(0, cut)}${String.fromCharCode(code)}${text.slice(cut)}`;
  });

const value = fc.oneof(
  fc.string(),
  longAscii,
  fc.string({ minLength: 512, maxLength: 1200, unit: "binary" }),
  // Every code unit, lone surrogates and controls included: what JSON.stringify escapes.
  fc.string({ unit: "binary" }),
  fc.stringMatching(/^[A-Za-z0-9._-]*$/),
  fc.double(),
  fc.integer(),
  fc.constantFrom(0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e21, 5e-324),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.constant(() => 1),
  fc.constant(Symbol("s")),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
  fc.date({ noInvalidDate: true }),
);

describe("flatJson", () => {
  it("writes what JSON.stringify writes, for any object of any values", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: "binary" }), value, { maxKeys: 8 }), (object) => {
        assert.equal(flatJson(object), JSON.stringify(object));
      }),
      { numRuns: 2000 },
    );
  });

  it("writes a token response verbatim, and escapes what must be escaped", () => {
    const response = {
      access_token: `eyJhbGciOiJSUzI1NiJ9.${"a_-".repeat(300)}.sig`,
      token_type: "bearer",
      expires_in: 86_400,
      scope: "openid read:users",
      refresh_token: undefined,
    };
    assert.equal(flatJson(response), JSON.stringify(response));
    const { refresh_token: _absent, ...sent } = response;
    assert.deepEqual(JSON.parse(flatJson(response)), sent);
    const awkward = { scope: 'a"b\\c\u0000\u007f\u2028\ud800é' };
    assert.equal(flatJson(awkward), JSON.stringify(awkward));
    assert.equal(JSON.parse(flatJson(awkward)).scope, awkward.scope);
  });

  it("honours toJSON on the object itself", () => {
    const object = { a: "x", toJSON: () => ({ replaced: true }) };
    assert.equal(flatJson(object), '{"replaced":true}');
  });
});
