import { describe, expect, it } from "vitest";
import { shuttingDown } from "../domain-error.js";
import { Session, type GuardedSubscription } from "./session-guard.js";

/** A subscription whose consumer takes its last result when the test says so. */
function subscription(): GuardedSubscription & { handOver(): void; endedWith: unknown[] } {
  let handOver!: () => void;
  const settled = new Promise<void>((resolve) => (handOver = resolve));
  const endedWith: unknown[] = [];
  return { recheck: async () => {}, end: (error) => endedWith.push(error), settled, handOver, endedWith };
}

describe("Session.end", () => {
  it("ends every subscription and resolves only once each consumer was handed the error", async () => {
    const ended: unknown[] = [];
    const viewer = { userId: "u", accountId: "a", email: "u@example.com", kind: "HUMAN", isOwner: false } as never;
    const onEnd = (error: unknown) => ended.push(error);
    const session = new Session({ viewer, authorization: undefined, clientAddress: "127.0.0.1", expiresAt: null, accessVersion: 0, onEnd }, () => {});
    const first = subscription();
    const second = subscription();
    session.add(first);
    session.add(second);
    let resolved = false;
    const done = session.end(shuttingDown()).then(() => (resolved = true));
    expect(first.endedWith.map((error) => (error as { code: string }).code)).toEqual(["SHUTTING_DOWN"]);
    expect(second.endedWith).toHaveLength(1);
    expect(ended).toHaveLength(1);
    first.handOver();
    await new Promise((resolve) => setImmediate(resolve));
    expect(resolved).toBe(false);
    second.handOver();
    await done;
    expect(resolved).toBe(true);
    // Once ended, ending again resolves at once and ends nothing twice.
    await session.end(shuttingDown());
    expect(first.endedWith).toHaveLength(1);
  });
});
