import { describe, expect, it } from "vitest";
import { generateRecoveryCode, normaliseRecoveryCode } from "./recovery-codes.js";

describe("recovery codes", () => {
  it("are two groups of five base32 characters, all different", () => {
    const codes = Array.from({ length: 1000 }, generateRecoveryCode);
    for (const code of codes) expect(code).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}$/);
    expect(new Set(codes).size).toBe(1000);
    // Every character of the alphabet turns up: the five bits taken from each byte are uniform.
    expect(new Set(codes.join("").replace(/-/g, "")).size).toBe(32);
  });

  it.each([
    ["abcde-fgh23", "abcdefgh23"],
    ["ABCDE-FGH23", "abcdefgh23"],
    ["abcdefgh23", "abcdefgh23"],
    [" abcde fgh23 ", "abcdefgh23"],
  ])("reads %j as %j", (typed, normalised) => {
    expect(normaliseRecoveryCode(typed)).toBe(normalised);
  });

  it.each(["", "123456", "abcde-fgh2", "abcde-fgh234", "abcde-fgh18", "abcde_fgh23", "a".repeat(33), "abcde-fgh2é"])(
    "is not %j",
    (typed) => {
      expect(normaliseRecoveryCode(typed)).toBeNull();
    },
  );
});
