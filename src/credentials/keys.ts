import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import type { Config } from "../config.js";
import { loadOrCreateKeyFile } from "./key-file.js";
import { SecretBox } from "./secret-box.js";

/** Generated master key file of the embedded default. */
export const MASTER_KEY_FILE = "master.key";

/** The master key: `MASTER_KEY`, or a key file generated under the data directory (never in production). */
export function loadMasterKey(config: Pick<Config, "masterKey" | "dataDir">): Buffer {
  return config.masterKey ? Buffer.from(config.masterKey, "base64") : loadOrCreateKeyFile(config.dataDir, MASTER_KEY_FILE);
}

function derive(master: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync("sha256", master, Buffer.alloc(0), `access-subgraph/${purpose}`, 32));
}

/** Keyed hash of secrets the service only verifies (API secrets): HMAC-SHA-256 under a server-side key. */
export class SecretHasher {
  constructor(private readonly key: Buffer) {}

  hash(secret: string): string {
    return createHmac("sha256", this.key).update(secret, "utf8").digest("hex");
  }

  /** Constant-time comparison of the hash of `secret` with a stored hash. */
  verify(secret: string, storedHash: string | null): boolean {
    const actual = Buffer.from(this.hash(secret), "hex");
    const expected = Buffer.from(storedHash ?? "", "hex");
    // Compare against the actual hash itself when nothing is stored, so both paths take the same time.
    const equal = timingSafeEqual(actual, expected.length === actual.length ? expected : actual);
    return equal && expected.length === actual.length;
  }
}

/** Every key the service derives from the master key (HKDF-SHA-256, one purpose each). */
export interface DerivedKeys {
  /** AES-256-GCM for secrets the service must use again: TOTP seeds, callback secrets. */
  box: SecretBox;
  /** HMAC key for API secret hashes. */
  secretHasher: SecretHasher;
  /** HS256 key of the access tokens `/token` issues. */
  apiTokenKey: Uint8Array;
}

export function deriveKeys(master: Buffer): DerivedKeys {
  return {
    box: new SecretBox(derive(master, "secret-box")),
    secretHasher: new SecretHasher(derive(master, "api-secret-hash")),
    apiTokenKey: new Uint8Array(derive(master, "api-token-signing")),
  };
}
