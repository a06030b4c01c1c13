import { webcrypto } from "node:crypto";

/**
 * An HMAC-SHA256 key for verifying tokens, imported once and kept: the token library imports raw key bytes again
 * for every token it checks, which costs as much as the check itself.
 */
export function hmacVerifyKey(secret: Uint8Array): () => Promise<webcrypto.CryptoKey> {
  let imported: Promise<webcrypto.CryptoKey> | undefined;
  return () =>
    (imported ??= webcrypto.subtle.importKey("raw", new Uint8Array(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]));
}
