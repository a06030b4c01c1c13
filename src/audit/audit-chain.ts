import { createHash } from "node:crypto";

/** What an entry's hash covers: everything it says, and the hash of the entry before it. */
export interface ChainedContent {
  previousHash: string | null;
  accountId: string;
  actorId: string | null;
  actorEmail: string | null;
  action: string;
  outcome: string;
  clientAddress: string;
  detail: string | null;
  targetUserId: string | null;
  targetUserEmail: string | null;
  walletId: string | null;
  previousRole: string | null;
  role: string | null;
  createdAt: Date;
}

/**
 * SHA-256 (hex) over the previous entry's hash and the entry's content, as one JSON array in a fixed order. The
 * entry's id is left out: the database assigns it on insert, and the order of the chain is the one the
 * `previousHash` links give.
 */
export function entryHash(content: ChainedContent): string {
  const canonical = JSON.stringify([
    content.previousHash,
    content.accountId,
    content.actorId,
    content.actorEmail,
    content.action,
    content.outcome,
    content.clientAddress,
    content.detail,
    content.targetUserId,
    content.targetUserEmail,
    content.walletId,
    content.previousRole,
    content.role,
    content.createdAt.toISOString(),
  ]);
  return createHash("sha256").update(canonical).digest("hex");
}

/** The first entry, in id order, that breaks the chain, and why. */
export interface BrokenLink {
  id: number;
  reason: string;
}

/**
 * Checks entries given in id order, continuing from `previousHash` (the hash of the last entry checked before
 * them; null at the start). Entries written before the chain existed (no hash) may only come first. Returns the
 * first broken link, or the hash to continue from.
 */
export function checkChain(
  entries: (ChainedContent & { id: number; hash: string | null })[],
  previousHash: string | null,
): { broken: BrokenLink } | { lastHash: string | null } {
  let last = previousHash;
  for (const entry of entries) {
    if (entry.hash === null) {
      if (last !== null) return { broken: { id: entry.id, reason: "no hash after the chain began" } };
      continue;
    }
    if (entry.previousHash !== last) return { broken: { id: entry.id, reason: "previous hash does not match the entry before" } };
    if (entryHash(entry) !== entry.hash) return { broken: { id: entry.id, reason: "content does not match its hash" } };
    last = entry.hash;
  }
  return { lastHash: last };
}
