import { describe, expect, it } from "vitest";
import { DomainError } from "./domain-error.js";
import { decodeCursor, encodeCursor, parsePageArgs, toPage } from "./pagination.js";

describe("pagination", () => {
  it("round-trips cursors", () => {
    expect(decodeCursor(encodeCursor("wallet-42"))).toBe("wallet-42");
  });

  it.each([
    [{ first: 0 }],
    [{ first: -1 }],
    [{ first: 101 }],
    [{ first: 100000 }],
    [{ after: "x".repeat(201) }],
    [{ after: "not a cursor!" }],
    [{ after: Buffer.from("other:1").toString("base64url") }],
    [{ after: "" }],
  ])("refuses %j with BAD_USER_INPUT", (args) => {
    expect(() => parsePageArgs(args)).toThrow(DomainError);
    try {
      parsePageArgs(args);
    } catch (error) {
      expect((error as DomainError).code).toBe("BAD_USER_INPUT");
    }
  });

  it("defaults to 20 and marks the next page from the extra row", () => {
    const request = parsePageArgs({});
    expect(request).toEqual({ limit: 20, afterKey: null });
    const page = toPage(["a", "b", "c"], { limit: 2, afterKey: null }, (row) => row);
    expect(page.items.map((item) => item.node)).toEqual(["a", "b"]);
    expect(page.hasNextPage).toBe(true);
    expect(decodeCursor(page.items[1]!.cursor)).toBe("b");
  });
});
