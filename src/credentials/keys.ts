import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import type { Config } from "../config.js";
import { loadOrCreateKeyFile } from "./key-file.js";
import { SecretBox } from "./secret-box.js";

/** Generated master key file of the embedded default. */
export const MASTER_KEY_FILE = "master.key";

/**
 * The master keyring: `MASTER_KEY` (or, on the embedded default, a key file generated under the data directory,
 * never in production) writes; the keys of `MASTER_KEYS_RETIRED` only decrypt and verify what is still under them.
 */
export function loadMasterKeyring(config: Pick<Config, "masterKey" | "retiredMasterKeys" | "dataDir">): MasterKeyring {
  const current = config.masterKey ? Buffer.from(config.masterKey, "base64") : loadOrCreateKeyFile(config.dataDir, MASTER_KEY_FILE);
  return new MasterKeyring(current, config.retiredMasterKeys.map((key) => Buffer.from(key, "base64")));
}

function derive(master: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync("sha256", master, Buffer.alloc(0), `access-subgraph/${purpose}`, 32));
}

/** The id of a master key: 12 hex digits derived from it, written into every ciphertext, hash and token it makes. */
export function masterKeyId(master: Buffer): string {
  return derive(master, "key-id").subarray(0, 6).toString("hex");
}

/** The keys one master key stands for (HKDF-SHA-256, one purpose each). */
export interface MasterKey {
  id: string;
  /** AES-256-GCM key for secrets the service must use again: TOTP seeds, callback secrets. */
  boxKey: Buffer;
  /** AES key-wrap key sealing the SHA-256 digests of secrets the service only verifies. */
  hashKey: Buffer;
  /** HMAC key of hashes in the format without a key id; only verified, never written. */
  legacyHashKey: Buffer;
  /** HS256 key of the access tokens `/token` issues. */
  apiTokenKey: Uint8Array;
}

/** The current master key, which writes, and the retired ones, which only read. */
export class MasterKeyring {
  readonly current: MasterKey;
  /** Every key, the current one first. */
  readonly keys: MasterKey[];
  private readonly byId: Map<string, MasterKey>;

  constructor(current: Buffer, retired: Buffer[] = []) {
    for (const key of [current, ...retired]) {
      if (key.length !== 32) throw new Error("A master key is exactly 32 bytes");
    }
    this.keys = [current, ...retired].map((master) => ({
      id: masterKeyId(master),
      boxKey: derive(master, "secret-box"),
      hashKey: derive(master, "secret-hash-wrap"),
      legacyHashKey: derive(master, "api-secret-hash"),
      apiTokenKey: new Uint8Array(derive(master, "api-token-signing")),
    }));
    this.current = this.keys[0]!;
    this.byId = new Map(this.keys.map((key) => [key.id, key]));
    if (this.byId.size !== this.keys.length) throw new Error("The same master key is both current and retired");
  }

  /** The key with that id, or undefined when it is not in the keyring. */
  get(id: string): MasterKey | undefined {
    return this.byId.get(id);
  }

  /** The ids of the retired keys. */
  get retiredIds(): string[] {
    return this.keys.slice(1).map((key) => key.id);
  }
}

const HASH_FORMAT = "h2";
/** RFC 3394's default initial value: unwrapping checks it, so a wrong key or an altered value is detected. */
const KEY_WRAP_IV = Buffer.from("A6A6A6A6A6A6A6A6", "hex");

function wrapDigest(key: Buffer, digest: Buffer): string {
  const cipher = createCipheriv("id-aes256-wrap", key, KEY_WRAP_IV);
  return Buffer.concat([cipher.update(digest), cipher.final()]).toString("base64url");
}

function unwrapDigest(key: Buffer, wrapped: string): Buffer {
  const decipher = createDecipheriv("id-aes256-wrap", key, KEY_WRAP_IV);
  return Buffer.concat([decipher.update(Buffer.from(wrapped, "base64url")), decipher.final()]);
}

/**
 * Keyed hashes of secrets the service only verifies (API secrets, invitation tokens, recovery codes):
 * `h2.<key id>.<SHA-256 digest of the secret, wrapped with AES key wrap under the key's hash key>`. The key
 * acts as a pepper that, unlike an HMAC key, can be rotated: a digest is unwrapped with a retired key and wrapped
 * again with the current one, without the secret. The wrap is deterministic, so a hash can be looked up.
 *
 * A bare 64-hex-digit hash is the format without a key id: HMAC-SHA-256 under a key derived from the master key.
 * It is still verified under every key of the keyring, but cannot be re-hashed (see {@link rehash}).
 */
export class SecretHasher {
  constructor(private readonly keyring: MasterKeyring) {}

  hash(secret: string): string {
    return this.hashUnder(this.keyring.current, secret);
  }

  private hashUnder(key: MasterKey, secret: string): string {
    return `${HASH_FORMAT}.${key.id}.${wrapDigest(key.hashKey, createHash("sha256").update(secret, "utf8").digest())}`;
  }

  /** Every stored form `secret` may have under the keyring, to look a hash up by. */
  candidates(secret: string): string[] {
    return this.keyring.keys.flatMap((key) => [
      this.hashUnder(key, secret),
      createHmac("sha256", key.legacyHashKey).update(secret, "utf8").digest("hex"),
    ]);
  }

  /** Constant-time comparison of the hash of `secret` with a stored hash, under the key it names. */
  verify(secret: string, storedHash: string | null): boolean {
    const stored = storedHash ?? "";
    const key = this.keyring.get(keyIdOf(stored) ?? "");
    let equal = false;
    if (key !== undefined) {
      equal = constantTimeEqual(this.hashUnder(key, secret), stored);
    } else if (/^[0-9a-f]{64}$/.test(stored)) {
      for (const candidate of this.keyring.keys) {
        equal = constantTimeEqual(createHmac("sha256", candidate.legacyHashKey).update(secret, "utf8").digest("hex"), stored) || equal;
      }
    } else {
      // Compared all the same, so an unknown or missing hash takes as long as a wrong secret (never equal: the
      // stored value names no key of the keyring).
      equal = constantTimeEqual(this.hash(secret), stored);
    }
    return equal;
  }

  /** True when the stored hash is under the current key. */
  isCurrent(storedHash: string): boolean {
    return keyIdOf(storedHash) === this.keyring.current.id;
  }

  /**
   * The same hash under the current key; null when it already is, or when it cannot be re-hashed: in the format
   * without a key id (only the secret could), or under a key that is not in the keyring.
   */
  rehash(storedHash: string): string | null {
    const [format, id, wrapped] = storedHash.split(".");
    if (format !== HASH_FORMAT || wrapped === undefined || id === this.keyring.current.id) return null;
    const key = this.keyring.get(id!);
    if (key === undefined) return null;
    return `${HASH_FORMAT}.${this.keyring.current.id}.${wrapDigest(this.keyring.current.hashKey, unwrapDigest(key.hashKey, wrapped))}`;
  }
}

function constantTimeEqual(actual: string, expected: string): boolean {
  const a = Buffer.from(actual, "utf8");
  const b = Buffer.from(expected, "utf8");
  // Compare against the actual value itself when the lengths differ, so both paths take the same time.
  return timingSafeEqual(a, b.length === a.length ? b : a) && b.length === a.length;
}

/**
 * The master key id a stored ciphertext or hash names (`v2.<id>.…`, `h2.<id>.…`); null for the formats without
 * one.
 */
export function keyIdOf(stored: string): string | null {
  const [format, id, rest] = stored.split(".");
  return (format === HASH_FORMAT || format === "v2") && rest !== undefined && id ? id : null;
}

/** Every key the service uses, from the master keyring. */
export interface DerivedKeys {
  keyring: MasterKeyring;
  /** AES-256-GCM for secrets the service must use again: TOTP seeds, callback secrets. */
  box: SecretBox;
  /** Keyed hashes of secrets the service only verifies. */
  secretHasher: SecretHasher;
}

export function deriveKeys(keyring: MasterKeyring): DerivedKeys {
  return { keyring, box: new SecretBox(keyring), secretHasher: new SecretHasher(keyring) };
}
