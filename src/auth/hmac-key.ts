import { webcrypto } from "node:crypto";
import { decodeProtectedHeader, jwtVerify, type JWTVerifyOptions, type JWTVerifyResult } from "jose";

/**
 * An HMAC-SHA256 key for verifying tokens, imported once and kept: the token library imports raw key bytes again
 * for every token it checks, which costs as much as the check itself.
 */
export function hmacVerifyKey(secret: Uint8Array): () => Promise<webcrypto.CryptoKey> {
  let imported: Promise<webcrypto.CryptoKey> | undefined;
  return () =>
    (imported ??= webcrypto.subtle.importKey("raw", new Uint8Array(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]));
}

/** A local HS256 key of a keyring: the `kid` of the tokens it signs, and its verification key. */
export interface KeyringEntry {
  kid: string;
  verifyKey: () => Promise<webcrypto.CryptoKey>;
}

/**
 * Verifies an HS256 token under a keyring (the signing key first): under the key its `kid` names; when its `kid`
 * names no key in particular (`namesNoKey`: none, or a form from before kids named keys), under each key in
 * order. A keyring of one key checks every token under that key, without reading the header. Throws the last
 * failure.
 */
export async function verifyUnderKeyring(
  token: string,
  keys: readonly KeyringEntry[],
  options: JWTVerifyOptions,
  namesNoKey: (kid: string | undefined) => boolean,
): Promise<JWTVerifyResult> {
  let candidates = keys;
  if (keys.length > 1) {
    const { kid } = decodeProtectedHeader(token);
    if (!namesNoKey(kid)) candidates = keys.filter((key) => key.kid === kid);
  }
  let failure: unknown = new Error("no key of the keyring has this kid");
  for (const key of candidates) {
    try {
      return await jwtVerify(token, await key.verifyKey(), options);
    } catch (error) {
      failure = error;
    }
  }
  throw failure;
}
