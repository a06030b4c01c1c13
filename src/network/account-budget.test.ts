import { describe, expect, it } from "vitest";
import { AccountBudget } from "./account-budget.js";

function clockAt(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe("AccountBudget", () => {
  it("allows a burst of the whole budget, then refuses with the time until one operation is back", () => {
    const clock = clockAt();
    const budget = new AccountBudget(60, clock);
    for (let i = 0; i < 60; i++) expect(budget.charge("a")).toBeNull();
    const refused = budget.charge("a");
    expect(refused?.code).toBe("RATE_LIMITED");
    expect(refused?.details).toEqual({ retryAfterSeconds: 1 });
    // Refused operations spend nothing: one second later exactly one is back.
    clock.advance(1000);
    expect(budget.charge("a")).toBeNull();
    expect(budget.charge("a")?.code).toBe("RATE_LIMITED");
  });

  it("keeps accounts apart", () => {
    const budget = new AccountBudget(2, clockAt());
    expect([budget.charge("a"), budget.charge("a"), budget.charge("b")]).toEqual([null, null, null]);
    expect(budget.charge("a")?.details).toEqual({ retryAfterSeconds: 30 });
    expect(budget.charge("b")).toBeNull();
  });

  it("refills at the budget's rate, never above the budget", () => {
    const clock = clockAt();
    const budget = new AccountBudget(6, clock);
    for (let i = 0; i < 6; i++) budget.charge("a");
    clock.advance(60 * 60_000);
    for (let i = 0; i < 6; i++) expect(budget.charge("a")).toBeNull();
    expect(budget.charge("a")).not.toBeNull();
  });

  it("refills nothing when the clock goes back", () => {
    const clock = clockAt();
    const budget = new AccountBudget(1, clock);
    expect(budget.charge("a")).toBeNull();
    clock.advance(-120_000);
    expect(budget.charge("a")?.code).toBe("RATE_LIMITED");
    clock.advance(120_000 + 60_000);
    expect(budget.charge("a")).toBeNull();
  });

  it("forgets accounts whose budget is whole again, so memory holds only the recently active", () => {
    const clock = clockAt();
    const budget = new AccountBudget(10, clock);
    for (let i = 0; i < 1000; i++) budget.charge(`account-${i}`);
    expect(budget.size).toBe(1000);
    clock.advance(60_000);
    budget.charge("fresh");
    expect(budget.size).toBe(1);
  });
});
