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
  it("are the same as the ones already stored: a delivery after an upgrade is still recognised", () => {
    const event = {
      accountId: "2d7b3c1e-0000-4000-8000-000000000001",
      kind: CallbackEventKind.DEPOSIT,
      transferId: "771234",
      transferStatus: 2,
      signed: { status: "2", amount: "0.300000000000000000", trackingId: "order-ünï-42", time: "1785000000" },
    };
    expect(idempotencyKeys(event)).toEqual({
      signedKey: "1785000000:db3bbc6a0c12a2765c3368bb5c3a979ac5027328aebfa5d08b29fffebcd40ee5",
      transferKey: "771234:3b0420dc57232d8935573500ac620eb5d7a73d08812572ad5291bb42022470ca",
    });
  });
});
