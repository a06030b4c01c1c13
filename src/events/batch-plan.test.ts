import { describe, expect, it } from "vitest";
import { idempotencyKeys, timeOrderedId } from "./batch-plan.js";
import { CallbackEventKind } from "./event.js";

describe("timeOrderedId", () => {
  const VERSION_7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it("is a version 7 UUID whose first 48 bits are the time in milliseconds", () => {
    const now = Date.UTC(2026, 10, 27, 17, 30, 0, 123);
    const id = timeOrderedId(now);
    expect(id).toMatch(VERSION_7);
    expect(parseInt(id.replace(/-/g, "").slice(0, 12), 16)).toBe(now);
  });

  it("keeps the time's leading zeros, so that ids sort by time as text", () => {
    const early = timeOrderedId(1);
    expect(early.startsWith("00000000-0001-7")).toBe(true);
    const ids = [Date.UTC(2030, 0, 1), Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1) + 1].map(timeOrderedId);
    expect([...ids].sort()).toEqual([ids[1], ids[2], ids[0]]);
  });

  it("draws fresh random bits for each id", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => timeOrderedId(Date.UTC(2026, 10, 27))));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(VERSION_7);
  });
});

describe("idempotencyKeys", () => {
  const event = {
    accountId: "2d7b3c1e-0000-4000-8000-000000000001",
    kind: CallbackEventKind.DEPOSIT,
    operationId: "11203",
    transferId: "771234",
    transferStatusCode: 2,
    operationStatusCode: 3,
    signedMessage: "20.300000000000000000order-ünï-421785000000",
  };

  it("are pinned: keys stored by one release are recognised by the next", () => {
    expect(idempotencyKeys(event)).toEqual({
      signedKey: "1785000000:b5831521577cd7d5d8d0716feec07b0381a743375816582df9d5ffc71a7cd0fb",
      resendKey: "11203:60bdb4c384f4b46e0f9c7b993c1cf72ad72350a7e320f6a1a9abb01c8031ff71",
    });
  });

  it("identify a callback by its signed message alone, and a resend by the operation's state", () => {
    const keys = idempotencyKeys(event);
    const recut = idempotencyKeys({ ...event, kind: CallbackEventKind.PAYOUT, operationId: "9", transferId: "1", transferStatusCode: 1 });
    expect(recut.signedKey).toBe(keys.signedKey);
    const resent = idempotencyKeys({ ...event, signedMessage: "20.300000000000000000order-ünï-421785000999" });
    expect(resent.resendKey).toBe(keys.resendKey);
    expect(resent.signedKey).not.toBe(keys.signedKey);
    // A payout moving from Waiting to Approved, its transfer unchanged, is a new state.
    expect(idempotencyKeys({ ...event, operationStatusCode: 2 }).resendKey).not.toBe(keys.resendKey);
    expect(idempotencyKeys({ ...event, transferId: null, transferStatusCode: null }).resendKey).not.toBe(keys.resendKey);
    expect(idempotencyKeys({ ...event, accountId: "another" }).signedKey).not.toBe(keys.signedKey);
  });
});
