import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SecretBox } from "./secret-box.js";

describe("SecretBox", () => {
  const box = new SecretBox(randomBytes(32));

  it("round-trips and never contains the plaintext", () => {
    const sealed = box.encrypt("JBSWY3DPEHPK3PXP", "user:1:totp");
    expect(sealed).not.toContain("JBSWY3DPEHPK3PXP");
    expect(box.decrypt(sealed, "user:1:totp")).toBe("JBSWY3DPEHPK3PXP");
  });

  it("refuses other associated data, another key and a tampered value", () => {
    const sealed = box.encrypt("secret", "user:1:totp");
    expect(() => box.decrypt(sealed, "user:2:totp")).toThrow();
    expect(() => new SecretBox(randomBytes(32)).decrypt(sealed, "user:1:totp")).toThrow();
    const raw = Buffer.from(sealed.slice("v1.".length), "base64url");
    for (const index of [0, 12, raw.length - 1]) {
      const tampered = Buffer.from(raw);
      tampered[index]! ^= 0x01;
      expect(() => box.decrypt(`v1.${tampered.toString("base64url")}`, "user:1:totp")).toThrow();
    }
  });

  it("uses a fresh nonce each time", () => {
    expect(box.encrypt("x", "a")).not.toBe(box.encrypt("x", "a"));
  });
});
