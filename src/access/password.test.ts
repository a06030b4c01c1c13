import { describe, expect, it } from "vitest";
import { hashPassword, verifyPassword } from "./password.js";

describe("password hashing", () => {
  it("is argon2id with m >= 19 MiB, t >= 2, p = 1 in the PHC string", async () => {
    const hash = await hashPassword("correct horse");
    const [, algorithm, version, parameters] = hash.split("$");
    expect(algorithm).toBe("argon2id");
    expect(version).toBe("v=19");
    const params = Object.fromEntries(parameters!.split(",").map((pair) => pair.split("=")));
    expect(Number(params.m)).toBeGreaterThanOrEqual(19_456);
    expect(Number(params.t)).toBeGreaterThanOrEqual(2);
    expect(Number(params.p)).toBe(1);
    expect(await verifyPassword(hash, "correct horse")).toBe(true);
    expect(await verifyPassword(hash, "wrong")).toBe(false);
    expect(await verifyPassword("not a hash", "x")).toBe(false);
  });
});
