import { describe, expect, it } from "vitest";
import { checkChain, entryHash, type ChainedContent } from "./audit-chain.js";

/** A chain of `count` entries, each hashed over the one before. */
function chain(count: number): (ChainedContent & { id: number; hash: string | null })[] {
  const entries: (ChainedContent & { id: number; hash: string | null })[] = [];
  let previousHash: string | null = null;
  for (let id = 1; id <= count; id++) {
    const content: ChainedContent = {
      previousHash,
      accountId: "a1",
      actorId: "u1",
      actorEmail: "owner@example.com",
      action: "REGENERATE_CALLBACK_SECRET",
      outcome: "SUCCESS",
      clientAddress: "10.0.0.1",
      detail: `entry ${id}`,
      targetUserId: null,
      targetUserEmail: null,
      walletId: null,
      previousRole: null,
      role: null,
      createdAt: new Date(1_785_312_345_000 + id),
    };
    previousHash = entryHash(content);
    entries.push({ ...content, id, hash: previousHash });
  }
  return entries;
}

describe("the audit hash chain", () => {
  it("holds for entries as written, continuing across batches", () => {
    const entries = chain(4);
    const first = checkChain(entries.slice(0, 2), null);
    expect(first).toEqual({ lastHash: entries[1]!.hash });
    expect(checkChain(entries.slice(2), entries[1]!.hash)).toEqual({ lastHash: entries[3]!.hash });
  });

  it("names the first entry whose content changed, whose predecessor went, or that has no hash after the chain began", () => {
    const changed = chain(3);
    changed[1]!.outcome = "FORBIDDEN";
    expect(checkChain(changed, null)).toEqual({ broken: { id: 2, reason: "content does not match its hash" } });

    const removed = chain(3);
    removed.splice(1, 1);
    expect(checkChain(removed, null)).toEqual({ broken: { id: 3, reason: "previous hash does not match the entry before" } });

    const unhashed = chain(3);
    unhashed[2]!.hash = null;
    expect(checkChain(unhashed, null)).toEqual({ broken: { id: 3, reason: "no hash after the chain began" } });
  });

  it("accepts entries written before the chain only at its start", () => {
    const entries = chain(2);
    const older = { ...entries[0]!, id: 0, previousHash: null, hash: null };
    expect(checkChain([older, ...entries], null)).toEqual({ lastHash: entries[1]!.hash });
  });
});
