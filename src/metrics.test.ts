import { describe, expect, it } from "vitest";
import { metricsAccess } from "./metrics.js";

describe("who may read /metrics", () => {
  const token = "m".repeat(32);
  it.each([
    [{ production: false, metricsToken: undefined }, undefined, "allowed"],
    [{ production: true, metricsToken: undefined }, undefined, "off"],
    [{ production: true, metricsToken: undefined }, `Bearer ${token}`, "off"],
    [{ production: true, metricsToken: token }, undefined, "refused"],
    [{ production: true, metricsToken: token }, "Bearer nope", "refused"],
    [{ production: false, metricsToken: token }, "Bearer ", "refused"],
    [{ production: true, metricsToken: token }, `Bearer ${token}`, "allowed"],
  ] as const)("%j with %s: %s", (config, authorization, expected) => {
    expect(metricsAccess(config)(authorization)).toBe(expected);
  });
});
