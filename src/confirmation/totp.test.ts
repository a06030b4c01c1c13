import { describe, expect, it } from "vitest";
import { totpCodeAt, totpStepOf } from "./totp.js";

const SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const T = 1_700_000_000_000;
const STEP = Math.floor(T / 30_000);

describe("totpStepOf", () => {
  it("accepts the current step and the one before, not the next or older ones", () => {
    expect(totpStepOf(SECRET, totpCodeAt(SECRET, T), T)).toBe(STEP);
    expect(totpStepOf(SECRET, totpCodeAt(SECRET, T - 30_000), T)).toBe(STEP - 1);
    expect(totpStepOf(SECRET, totpCodeAt(SECRET, T + 30_000), T)).toBeNull();
    expect(totpStepOf(SECRET, totpCodeAt(SECRET, T - 60_000), T)).toBeNull();
  });

  it("matches the RFC 6238 SHA-1 test vector", () => {
    // RFC 6238 appendix B: secret "12345678901234567890", T = 59 s, 8 digits 94287082 -> 6 digits 287082.
    const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    expect(totpCodeAt(rfcSecret, 59_000)).toBe("287082");
  });

  it.each(["", "12345", "1234567", "abcdef", "12 345"])("refuses the malformed code %j", (code) => {
    expect(totpStepOf(SECRET, code, T)).toBeNull();
  });
});
