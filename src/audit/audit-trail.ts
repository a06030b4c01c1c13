import type { EntityManager, FilterQuery } from "@mikro-orm/core";
import { checkChain, type BrokenLink } from "./audit-chain.js";
import { AuditEntry } from "./audit-entry.entity.js";

/** How many entries are read at a time: the trail is walked, never loaded whole. */
const BATCH = 500;

/** Every entry matching `where`, oldest first, a batch at a time, each batch read in a fresh session. */
async function* entriesInOrder(em: EntityManager, where: FilterQuery<AuditEntry>): AsyncGenerator<AuditEntry[]> {
  let after = 0;
  for (;;) {
    const batch = await em.fork().find(AuditEntry, { $and: [where, { id: { $gt: after } }] }, { orderBy: { id: "asc" }, limit: BATCH });
    if (batch.length === 0) return;
    yield batch;
    after = batch[batch.length - 1]!.id;
  }
}

/** The outcome of walking the whole chain: how many entries it checked, or the first broken link. */
export type ChainVerification = { ok: true; entries: number } | { ok: false; entries: number; broken: BrokenLink };

/** Walks the chain over all entries, oldest first, and stops at the first broken link. */
export async function verifyAuditChain(em: EntityManager): Promise<ChainVerification> {
  let previousHash: string | null = null;
  let entries = 0;
  for await (const batch of entriesInOrder(em, {})) {
    const checked = checkChain(batch, previousHash);
    if ("broken" in checked) return { ok: false, entries: entries + batch.findIndex((entry) => entry.id === checked.broken.id), broken: checked.broken };
    previousHash = checked.lastHash;
    entries += batch.length;
  }
  return { ok: true, entries };
}

/** One entry as exported: everything it holds, its hash included, so that a reader can check the chain too. */
export function exportedEntry(entry: AuditEntry): Record<string, unknown> {
  return {
    id: entry.id,
    createdAt: entry.createdAt.toISOString(),
    accountId: entry.accountId,
    actorId: entry.actorId,
    actorEmail: entry.actorEmail,
    action: entry.action,
    outcome: entry.outcome,
    clientAddress: entry.clientAddress,
    detail: entry.detail,
    targetUserId: entry.targetUserId,
    targetUserEmail: entry.targetUserEmail,
    walletId: entry.walletId,
    previousRole: entry.previousRole,
    role: entry.role,
    previousHash: entry.previousHash,
    hash: entry.hash,
  };
}

/** Writes the entries written at or after `since` (of one account, when given) as JSON lines, oldest first. */
export async function exportAuditEntries(
  em: EntityManager,
  filter: { since: Date; accountId?: string },
  write: (line: string) => void | Promise<void>,
): Promise<number> {
  const where: FilterQuery<AuditEntry> = { createdAt: { $gte: filter.since }, ...(filter.accountId ? { accountId: filter.accountId } : {}) };
  let count = 0;
  for await (const batch of entriesInOrder(em, where)) {
    for (const entry of batch) await write(`${JSON.stringify(exportedEntry(entry))}\n`);
    count += batch.length;
  }
  return count;
}
