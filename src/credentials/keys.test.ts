import { createHmac, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MasterKeyring, SecretHasher, keyIdOf, masterKeyId } from "./keys.js";

describe("SecretHasher", () => {
  const current = randomBytes(32);
  const retired = randomBytes(32);
  const hasher = new SecretHasher(new MasterKeyring(current));

  it("hashes deterministically under the current key, naming it", () => {
    const hash = hasher.hash("api-secret");
    expect(hash).toBe(hasher.hash("api-secret"));
    expect(keyIdOf(hash)).toBe(masterKeyId(current));
    expect(hash).not.toContain("api-secret");
    expect(hasher.verify("api-secret", hash)).toBe(true);
    expect(hasher.verify("other", hash)).toBe(false);
    expect(hasher.verify("api-secret", null)).toBe(false);
    expect(hasher.verify("api-secret", "h2.000000000000.AAAA")).toBe(false);
  });

  it("verifies a hash under a retired key and re-hashes it without the secret", () => {
    const old = new SecretHasher(new MasterKeyring(retired)).hash("invitation-token");
    const rotated = new SecretHasher(new MasterKeyring(current, [retired]));
    expect(rotated.verify("invitation-token", old)).toBe(true);
    expect(rotated.candidates("invitation-token")).toContain(old);
    const rehashed = rotated.rehash(old)!;
    expect(rehashed).toBe(hasher.hash("invitation-token"));
    expect(rotated.rehash(rehashed)).toBeNull();
    // Without the retired key, the old hash no longer verifies and the re-hashed one does.
    expect(hasher.verify("invitation-token", old)).toBe(false);
    expect(hasher.verify("invitation-token", rehashed)).toBe(true);
  });

  it("verifies the format without a key id under any key of the keyring, and cannot re-hash it", () => {
    const legacyKey = new MasterKeyring(retired).current.legacyHashKey;
    const legacy = createHmac("sha256", legacyKey).update("api-secret", "utf8").digest("hex");
    const rotated = new SecretHasher(new MasterKeyring(current, [retired]));
    expect(rotated.verify("api-secret", legacy)).toBe(true);
    expect(rotated.verify("other", legacy)).toBe(false);
    expect(rotated.candidates("api-secret")).toContain(legacy);
    expect(rotated.rehash(legacy)).toBeNull();
    expect(hasher.verify("api-secret", legacy)).toBe(false);
  });

  it("refuses a hash whose wrapped digest was altered", () => {
    const rotated = new SecretHasher(new MasterKeyring(current, [retired]));
    const old = new SecretHasher(new MasterKeyring(retired)).hash("x");
    const [format, id, wrapped] = old.split(".");
    const raw = Buffer.from(wrapped!, "base64url");
    raw[5]! ^= 1;
    expect(() => rotated.rehash(`${format}.${id}.${raw.toString("base64url")}`)).toThrow();
  });
});

describe("MasterKeyring", () => {
  it("refuses a key that is both current and retired, and keys of the wrong size", () => {
    const key = randomBytes(32);
    expect(() => new MasterKeyring(key, [key])).toThrow(/both current and retired/);
    expect(() => new MasterKeyring(randomBytes(16))).toThrow(/32 bytes/);
  });
});
