import { createCipheriv, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MasterKeyring } from "./keys.js";
import { SecretBox } from "./secret-box.js";

describe("SecretBox", () => {
  const master = randomBytes(32);
  const box = new SecretBox(new MasterKeyring(master));

  it("round-trips, names its key and never contains the plaintext", () => {
    const sealed = box.encrypt("JBSWY3DPEHPK3PXP", "user:1:totp");
    expect(sealed).not.toContain("JBSWY3DPEHPK3PXP");
    expect(sealed.startsWith(`v2.${new MasterKeyring(master).current.id}.`)).toBe(true);
    expect(box.decrypt(sealed, "user:1:totp")).toBe("JBSWY3DPEHPK3PXP");
  });

  it("refuses other associated data, another key and a tampered value", () => {
    const sealed = box.encrypt("secret", "user:1:totp");
    const [, id, payload] = sealed.split(".");
    expect(() => box.decrypt(sealed, "user:2:totp")).toThrow();
    expect(() => new SecretBox(new MasterKeyring(randomBytes(32))).decrypt(sealed, "user:1:totp")).toThrow(/not in the keyring/);
    const raw = Buffer.from(payload!, "base64url");
    for (const index of [0, 12, raw.length - 1]) {
      const tampered = Buffer.from(raw);
      tampered[index]! ^= 0x01;
      expect(() => box.decrypt(`v2.${id}.${tampered.toString("base64url")}`, "user:1:totp")).toThrow();
    }
  });

  it("uses a fresh nonce each time", () => {
    expect(box.encrypt("x", "a")).not.toBe(box.encrypt("x", "a"));
  });

  it("opens what a retired key sealed and reseals it under the current key", () => {
    const retired = randomBytes(32);
    const sealed = new SecretBox(new MasterKeyring(retired)).encrypt("seed", "user:1:totp");
    const rotated = new SecretBox(new MasterKeyring(master, [retired]));
    expect(rotated.decrypt(sealed, "user:1:totp")).toBe("seed");
    const resealed = rotated.reseal(sealed, "user:1:totp")!;
    expect(resealed.split(".")[1]).toBe(new MasterKeyring(master).current.id);
    expect(rotated.reseal(resealed, "user:1:totp")).toBeNull();
    // Once the retired key is gone, the resealed value still opens.
    expect(box.decrypt(resealed, "user:1:totp")).toBe("seed");
    expect(() => box.decrypt(sealed, "user:1:totp")).toThrow(/not in the keyring/);
  });

  it("opens the format without a key id under whichever key of the keyring sealed it", () => {
    const retired = randomBytes(32);
    const legacy = sealWithoutKeyId(new MasterKeyring(retired).current.boxKey, "seed", "user:1:totp");
    const rotated = new SecretBox(new MasterKeyring(master, [retired]));
    expect(rotated.decrypt(legacy, "user:1:totp")).toBe("seed");
    expect(rotated.reseal(legacy, "user:1:totp")!.startsWith("v2.")).toBe(true);
    expect(() => box.decrypt(legacy, "user:1:totp")).toThrow();
  });
});

/** The format sealed before ciphertexts named their key: `v1.<iv, tag and ciphertext>`. */
function sealWithoutKeyId(key: Buffer, plaintext: string, associatedData: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(associatedData, "utf8"));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return `v1.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url")}`;
}
