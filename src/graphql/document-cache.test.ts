import { GraphQLError, print } from "graphql";
import { describe, expect, it } from "vitest";
import { DocumentCache } from "./document-cache.js";

describe("DocumentCache", () => {
  it("hands out one document per query text", () => {
    const cache = new DocumentCache();
    const first = cache.parse("subscription { callbackEvents { cursor } }");
    expect(cache.parse("subscription { callbackEvents { cursor } }")).toBe(first);
    expect(cache.parse("subscription { callbackEvents { amount } }")).not.toBe(first);
    expect(print(first)).toContain("cursor");
  });

  it("keeps the most recently used texts, and never a text over its length limit", () => {
    const cache = new DocumentCache(2, 40);
    const a = cache.parse("{ a }");
    const b = cache.parse("{ b }");
    expect(cache.parse("{ a }")).toBe(a);
    cache.parse("{ c }");
    expect(cache.parse("{ a }")).toBe(a);
    expect(cache.parse("{ b }")).not.toBe(b);
    const long = `{ ${"field ".repeat(10)}}`;
    expect(cache.parse(long)).not.toBe(cache.parse(long));
  });

  it("throws the syntax error of a query that does not parse, every time", () => {
    const cache = new DocumentCache();
    expect(() => cache.parse("{ a")).toThrow(GraphQLError);
    expect(() => cache.parse("{ a")).toThrow(GraphQLError);
  });
});
