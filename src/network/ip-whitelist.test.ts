import { describe, expect, it } from "vitest";
import { DomainError } from "../domain-error.js";
import { ClientAddressResolver } from "./client-address.js";
import { isAllowed, normaliseWhitelist } from "./ip-whitelist.js";

function refusal(entries: unknown[]): string {
  try {
    normaliseWhitelist(entries);
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe("BAD_USER_INPUT");
    return (error as DomainError).message;
  }
  throw new Error("accepted");
}

describe("normaliseWhitelist", () => {
  it("normalises addresses and ranges, IPv4-mapped IPv6 to IPv4, and drops duplicates", () => {
    expect(
      normaliseWhitelist([
        "203.0.113.7",
        " 198.51.100.0/24 ",
        "2001:DB8:0:0:0:0:0:1",
        "2001:db8::/32",
        "::ffff:203.0.113.9",
        "::ffff:192.0.2.0/120",
        "203.0.113.7/32",
        "[2001:db8::2]",
      ]),
    ).toEqual([
      "203.0.113.7",
      "198.51.100.0/24",
      "2001:db8::1",
      "2001:db8::/32",
      "203.0.113.9",
      "192.0.2.0/24",
      "2001:db8::2",
    ]);
  });

  it.each([
    [["0.0.0.0/0"], /would allow every address/],
    [["::/0"], /would allow every address/],
    [["10.0.0.1/8"], /host bits set; the range starts at 10\.0\.0\.0\/8/],
    [["2001:db8::1/32"], /host bits set; the range starts at 2001:db8::\/32/],
    [["10.0.0.0/33"], /longer than \/32/],
    [["2001:db8::/129"], /longer than \/128/],
    [["10.0.0.0/abc"], /invalid prefix/],
    [["10.0.0.256"], /is not an IPv4 or IPv6 address/],
    [["10.1"], /is not an IPv4 or IPv6 address/],
    [["example.com"], /is not an IPv4 or IPv6 address/],
    [["fe80::1%eth0"], /is not an IPv4 or IPv6 address/],
    [["1.2.3.4/24/8"], /is not an IPv4 or IPv6 address/],
    [[""], /must be an IPv4 or IPv6 address/],
    [[42], /must be an IPv4 or IPv6 address/],
    [["203.0.113.1", "bad"], /entries\[1\]/],
    [Array.from({ length: 101 }, (_, i) => `10.0.${Math.floor(i / 250)}.${i % 250}`), /at most 100 entries; got 101/],
  ])("refuses %j with a precise message", (entries, message) => {
    expect(refusal(entries)).toMatch(message);
  });

  it("accepts exactly 100 entries", () => {
    expect(normaliseWhitelist(Array.from({ length: 100 }, (_, i) => `10.0.0.${i}`))).toHaveLength(100);
  });
});

describe("isAllowed", () => {
  const list = normaliseWhitelist(["203.0.113.7", "198.51.100.0/24", "2001:db8::/32"]);
  it.each([
    ["203.0.113.7", true],
    ["::ffff:203.0.113.7", true],
    ["198.51.100.200", true],
    ["198.51.101.1", false],
    ["2001:db8:1::5", true],
    ["2001:db9::1", false],
    ["not an address", false],
  ])("%s -> %s", (address, expected) => {
    expect(isAllowed(list, address)).toBe(expected);
  });

  it("allows everything when the list is empty", () => {
    expect(isAllowed([], "192.0.2.1")).toBe(true);
  });
});

describe("ClientAddressResolver", () => {
  it("uses the socket address when no proxy is trusted, whatever X-Forwarded-For says", () => {
    const resolver = new ClientAddressResolver([]);
    expect(resolver.resolve("::ffff:127.0.0.1", "203.0.113.7")).toBe("127.0.0.1");
  });

  it("uses the socket address when the socket is not a trusted proxy", () => {
    const resolver = new ClientAddressResolver(["10.0.0.0/8"]);
    expect(resolver.resolve("192.0.2.10", "203.0.113.7")).toBe("192.0.2.10");
  });

  it("takes the right-most untrusted hop when the socket is a trusted proxy", () => {
    const resolver = new ClientAddressResolver(["10.0.0.0/8"]);
    expect(resolver.resolve("10.0.0.5", "198.51.100.1, 203.0.113.7, 10.0.0.9")).toBe("203.0.113.7");
    expect(resolver.resolve("10.0.0.5", undefined)).toBe("10.0.0.5");
    expect(resolver.resolve("10.0.0.5", "garbage")).toBe("10.0.0.5");
  });
});
