import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/** A key of the keyring, as the box uses it: its id and its AES-256-GCM key. */
interface BoxKey {
  id: string;
  boxKey: Buffer;
}

/** The master keyring (`MasterKeyring` in `keys.ts`), as the box uses it. */
interface BoxKeyring {
  current: BoxKey;
  keys: readonly BoxKey[];
  get(id: string): BoxKey | undefined;
}

const FORMAT = "v2";
/** The format without a key id, sealed under whichever key was the master key then. */
const FORMAT_WITHOUT_KEY_ID = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM encryption of secrets the service must be able to use again (TOTP seeds, callback secrets):
 * `v2.<master key id>.<iv, tag and ciphertext>`, sealed under the current master key and opened under the key
 * it names. The associated data binds a ciphertext to its owner (e.g. `user:<id>:totp`): a value copied to
 * another row fails to decrypt instead of being used there.
 */
export class SecretBox {
  constructor(private readonly keyring: BoxKeyring) {}

  encrypt(plaintext: string, associatedData: string): string {
    const key = this.keyring.current;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", key.boxKey, iv);
    cipher.setAAD(Buffer.from(associatedData, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return `${FORMAT}.${key.id}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url")}`;
  }

  /**
   * Throws when the value was altered, is bound to other associated data, or was sealed under a key that is
   * not in the keyring.
   */
  decrypt(sealed: string, associatedData: string): string {
    const parts = sealed.split(".");
    if (parts[0] === FORMAT && parts.length === 3) {
      const key = this.keyring.get(parts[1]!);
      if (key === undefined) throw new Error(`Sealed under master key ${parts[1]}, which is not in the keyring`);
      return open(key, parts[2]!, associatedData);
    }
    if (parts[0] === FORMAT_WITHOUT_KEY_ID && parts.length === 2) {
      // The tag authenticates the key too: the one it opens under is the one it was sealed with.
      let failure: unknown;
      for (const key of this.keyring.keys) {
        try {
          return open(key, parts[1]!, associatedData);
        } catch (error) {
          failure = error;
        }
      }
      throw failure;
    }
    throw new Error("Unknown sealed secret format");
  }

  /** The same secret sealed under the current key; null when it already is. Throws as {@link decrypt} does. */
  reseal(sealed: string, associatedData: string): string | null {
    if (sealed.startsWith(`${FORMAT}.${this.keyring.current.id}.`)) return null;
    return this.encrypt(this.decrypt(sealed, associatedData), associatedData);
  }
}

function open(key: BoxKey, payload: string, associatedData: string): string {
  const raw = Buffer.from(payload, "base64url");
  const decipher = createDecipheriv("aes-256-gcm", key.boxKey, raw.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(associatedData, "utf8"));
  decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
}
