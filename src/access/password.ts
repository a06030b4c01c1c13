import argon2 from "argon2";

/**
 * argon2id at OWASP's figures or above (m = 19 MiB, t = 2, p = 1). The parameters live in the PHC string, so
 * raising them later re-hashes nothing: old hashes still verify.
 */
const PARAMETERS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, PARAMETERS);
}

/** False for a wrong password and for a hash that cannot be read; never throws on bad input. */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}
