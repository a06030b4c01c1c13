import { describe, expect, it } from "vitest";
import { timeOrderedId } from "./event-batch.js";

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
