import { describe, expect, it } from "vitest";
import { EpochLineage, placeCursor, positionKey, positionOfKey } from "./epoch.js";

// first -> restored (forked at 10 for account A) -> restored again (forked at 14 for A, from the second epoch).
const FIRST = "0000000000000001";
const SECOND = "0000000000000002";
const THIRD = "0000000000000003";
const line = new EpochLineage([
  { id: FIRST, parentId: null },
  { id: SECOND, parentId: FIRST },
  { id: THIRD, parentId: SECOND },
]);
const forks = new Map([
  [SECOND, 10],
  [THIRD, 14],
]);
const account = { head: 20, prunedThrough: 0, forks };

describe("placeCursor", () => {
  it.each([
    ["the current epoch, below the head", { epoch: THIRD, sequence: 17 }, { inHistory: true, sequence: 17 }],
    ["the current epoch, at the head", { epoch: THIRD, sequence: 20 }, { inHistory: true, sequence: 20 }],
    ["the current epoch, beyond the head: read all again", { epoch: THIRD, sequence: 21 }, { inHistory: false, rereadAfter: 0 }],
    ["the parent, at its fork point", { epoch: SECOND, sequence: 14 }, { inHistory: true, sequence: 14 }],
    ["the parent, beyond its fork point", { epoch: SECOND, sequence: 15 }, { inHistory: false, rereadAfter: 14 }],
    ["the first epoch, within both fork points", { epoch: FIRST, sequence: 10 }, { inHistory: true, sequence: 10 }],
    // Its events 11 to 14 were lost at the first restore, though the second epoch numbered events up to 14 again.
    ["the first epoch, beyond the lower fork point", { epoch: FIRST, sequence: 12 }, { inHistory: false, rereadAfter: 10 }],
    ["a cursor naming no epoch is the first epoch's", { epoch: null, sequence: 12 }, { inHistory: false, rereadAfter: 10 }],
    ["a cursor naming no epoch, within the fork points", { epoch: null, sequence: 3 }, { inHistory: true, sequence: 3 }],
    ["an epoch this database does not know: read all again", { epoch: "00000000000000ff", sequence: 3 }, { inHistory: false, rereadAfter: 0 }],
  ])("%s", (_case, position, placement) => {
    expect(placeCursor(line, position, account)).toEqual(placement);
  });

  it("counts an epoch without a fork point for the account as forked before its first event", () => {
    expect(placeCursor(line, { epoch: FIRST, sequence: 1 }, { ...account, forks: new Map([[THIRD, 14]]) })).toEqual({ inHistory: false, rereadAfter: 0 });
  });

  it("never sends a reader back before what retention kept", () => {
    expect(placeCursor(line, { epoch: SECOND, sequence: 15 }, { ...account, prunedThrough: 16 })).toEqual({ inHistory: false, rereadAfter: 16 });
    expect(placeCursor(line, { epoch: "00000000000000ff", sequence: 3 }, { ...account, prunedThrough: 16 })).toEqual({ inHistory: false, rereadAfter: 16 });
  });

  it("reads a database with only its first epoch (or none recorded) as cursors did before epochs", () => {
    for (const only of [new EpochLineage([{ id: FIRST, parentId: null }]), new EpochLineage([])]) {
      expect(only.cursorEpoch).toBeNull();
      expect(placeCursor(only, { epoch: null, sequence: 5 }, { head: 5, prunedThrough: 0, forks: new Map() })).toEqual({ inHistory: true, sequence: 5 });
      expect(placeCursor(only, { epoch: null, sequence: 6 }, { head: 5, prunedThrough: 0, forks: new Map() })).toEqual({ inHistory: false, rereadAfter: 0 });
    }
    expect(line.cursorEpoch).toBe(THIRD);
  });
});

describe("cursor keys", () => {
  it("write the first epoch's positions as a sequence number alone, and later ones with their epoch", () => {
    expect(positionKey({ epoch: null, sequence: 7 })).toBe("7");
    expect(positionKey({ epoch: SECOND, sequence: 7 })).toBe(`${SECOND}:7`);
    expect(positionOfKey("7")).toEqual({ epoch: null, sequence: 7 });
    expect(positionOfKey(`${SECOND}:7`)).toEqual({ epoch: SECOND, sequence: 7 });
  });

  it.each(["", "-1", "1.5", "x:7", `${SECOND}:`, "00000000000000AB:7", `${SECOND}0:7`, "1".repeat(16), `${SECOND}:7:8`])(
    "refuse %j",
    (key) => {
      expect(positionOfKey(key)).toBeNull();
    },
  );
});
