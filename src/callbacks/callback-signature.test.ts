import { describe, expect, it } from "vitest";
import { CallbackEventKind } from "../events/event.js";
import { callbackSignature, signedMessage, verifyCallbackSignature, type SignedParts } from "./callback-signature.js";

// The v3 test vector of the domain notes (section 2.5).
const SECRET = "coinsbuy-test-secret";
const PARTS: SignedParts = {
  kind: CallbackEventKind.DEPOSIT,
  transfer: { status: "2", amount: "0.00042100" },
  operationStatus: null,
  trackingId: "inv_1_1785312000",
  time: "1785312345",
};
const FIELDS = signedMessage(PARTS);
const SIGN = "605b183272033540a239670c40a6d0c7df7fcbb89a28273ed3a7f874da724ba2";

describe("callback signature", () => {
  it("matches the test vector", () => {
    expect(callbackSignature(SECRET, FIELDS)).toBe(SIGN);
    expect(verifyCallbackSignature([SECRET], FIELDS, SIGN)).toBe(true);
  });

  it("accepts the signature under any of the verifying secrets", () => {
    expect(verifyCallbackSignature(["other-secret", SECRET], FIELDS, SIGN)).toBe(true);
    expect(verifyCallbackSignature(["other-secret"], FIELDS, SIGN)).toBe(false);
    expect(verifyCallbackSignature([], FIELDS, SIGN)).toBe(false);
  });

  it.each<[string, Partial<SignedParts>]>([
    ["a re-formatted amount", { transfer: { status: "2", amount: "0.000421" } }],
    ["the status rendered as 2.0", { transfer: { status: "2.0", amount: "0.00042100" } }],
    ["another tracking id", { trackingId: "inv_1_1785312001" }],
    ["another time", { time: "1785312346" }],
    ["separators", { transfer: { status: "2|", amount: "0.00042100" } }],
  ])("refuses %s", (_name, change) => {
    expect(verifyCallbackSignature([SECRET], signedMessage({ ...PARTS, ...change }), SIGN)).toBe(false);
  });

  it("signs the parts each variant of the platform signs, with no separator", () => {
    expect(FIELDS).toBe("20.00042100inv_1_17853120001785312345");
    expect(signedMessage({ ...PARTS, transfer: null, operationStatus: "3" })).toBe("3inv_1_17853120001785312345");
    expect(signedMessage({ ...PARTS, kind: CallbackEventKind.PAYOUT, transfer: null, operationStatus: "3" })).toBe(
      "inv_1_17853120001785312345",
    );
  });

  it.each([
    ["upper-case hex", SIGN.toUpperCase()],
    ["63 characters", SIGN.slice(0, 63)],
    ["65 characters", SIGN + "0"],
    ["empty", ""],
    ["non-hex characters", "z".repeat(64)],
    ["a multibyte character", SIGN.slice(0, 63) + "é"],
    ["a number", 42],
    ["null", null],
    ["an object", { sign: SIGN }],
  ])("refuses a signature that is %s, without throwing", (_name, sign) => {
    expect(verifyCallbackSignature([SECRET], FIELDS, sign)).toBe(false);
  });

  it("offers the SHA-256 key derivation as the documented alternative", () => {
    expect(callbackSignature(SECRET, FIELDS, "sha256")).not.toBe(SIGN);
    expect(verifyCallbackSignature([SECRET], FIELDS, callbackSignature(SECRET, FIELDS, "sha256"), "sha256")).toBe(true);
  });
});
