import { describe, expect, it } from "vitest";
import { settledWithin } from "./settled-within.js";

describe("settledWithin", () => {
  it("is true when the work resolves or rejects in time, false when it does not", async () => {
    expect(await settledWithin(Promise.resolve(1), 1000)).toBe(true);
    expect(await settledWithin(Promise.reject(new Error("refused")), 1000)).toBe(true);
    expect(await settledWithin(new Promise(() => {}), 20)).toBe(false);
  });
});
