import { describe, expect, it } from "vitest";
import { DomainError } from "../domain-error.js";
import {
  canonicalJson,
  parseCreateAccount,
  parseCreateWallet,
  parseSetWalletBalance,
  parseUpdateWallet,
  requestHash,
  requireAccountId,
  requireBalance,
  requirePrecision,
  requireRequestKey,
} from "./provisioning-input.js";

/** The field a refusal names, or "no refusal". */
function refusedField(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe("BAD_USER_INPUT");
    return (error as DomainError).details.field ?? "(request)";
  }
  return "no refusal";
}

const BTC = { iso: 1000, alpha: "BTC", name: "Bitcoin", exp: 8 };
const wallet = { accountId: "0b6f7c1e-3f7c-4c57-9d0e-5a4b0f1f2a3b", walletId: "w-1", label: "BTC", currency: BTC };

describe("provisioning input", () => {
  it.each([
    ["a", true],
    ["x".repeat(128), true],
    ["order-42:retry_1.a", true],
    ["", false],
    ["x".repeat(129), false],
    ["with space", false],
    ["slash/", false],
    ["ключ", false],
  ])("request key %j accepted: %s", (key, ok) => {
    expect(refusedField(() => requireRequestKey(key))).toBe(ok ? "no refusal" : "requestKey");
  });

  it.each([
    ["0", "confirmed", true],
    ["12.48231", "confirmed", true],
    ["0.00000001", "unusable", true],
    ["-0.015", "pending", true],
    ["-1", "confirmed", false],
    ["-1", "unusable", false],
    ["01", "confirmed", false],
    ["1.", "confirmed", false],
    [".5", "confirmed", false],
    ["1e5", "confirmed", false],
    ["+1", "confirmed", false],
    [" 1", "confirmed", false],
    ["1".repeat(41), "confirmed", false],
    [12.5, "confirmed", false],
    [null, "confirmed", false],
  ] as const)("balance %j as %s accepted: %s", (value, name, ok) => {
    expect(refusedField(() => requireBalance(value, name))).toBe(ok ? "no refusal" : `balances.${name}`);
  });

  it("refuses more decimals than the currency carries, and accepts as many", () => {
    expect(refusedField(() => requirePrecision({ confirmed: "1.12345678" }, 8))).toBe("no refusal");
    expect(refusedField(() => requirePrecision({ confirmed: "1.123456789" }, 8))).toBe("balances.confirmed");
    expect(refusedField(() => requirePrecision({ pending: "-1.5" }, 0))).toBe("balances.pending");
    expect(refusedField(() => requirePrecision({ unusable: "7" }, 0))).toBe("no refusal");
  });

  it("normalises an account request: trimmed name, lower-cased e-mail", () => {
    expect(parseCreateAccount({ name: "  Acme Ltd ", ownerEmail: " Boss@Acme.COM" })).toEqual({ name: "Acme Ltd", ownerEmail: "boss@acme.com" });
    expect(requireAccountId("0B6F7C1E-3F7C-4C57-9D0E-5A4B0F1F2A3B")).toBe("0b6f7c1e-3f7c-4c57-9d0e-5a4b0f1f2a3b");
  });

  it.each([
    [() => parseCreateAccount({ name: "", ownerEmail: "a@b.co" }), "name"],
    [() => parseCreateAccount({ name: "x".repeat(201), ownerEmail: "a@b.co" }), "name"],
    [() => parseCreateAccount({ name: "a\u0000b", ownerEmail: "a@b.co" }), "name"],
    [() => parseCreateAccount({ name: "Acme", ownerEmail: "not an address" }), "ownerEmail"],
    [() => parseCreateAccount({ name: "Acme", ownerEmail: 5 }), "ownerEmail"],
    [() => parseCreateAccount({ name: "Acme", ownerEmail: "a@b.co", owner: "x" }), "owner"],
    [() => parseCreateAccount([]), "(request)"],
    [() => parseCreateWallet({ ...wallet, accountId: "42" }), "accountId"],
    [() => parseCreateWallet({ ...wallet, walletId: "has space" }), "walletId"],
    [() => parseCreateWallet({ ...wallet, walletId: 7 }), "walletId"],
    [() => parseCreateWallet({ ...wallet, label: "x".repeat(101) }), "label"],
    [() => parseCreateWallet({ ...wallet, currency: { ...BTC, exp: 41 } }), "currency.exp"],
    [() => parseCreateWallet({ ...wallet, currency: { ...BTC, exp: 8.5 } }), "currency.exp"],
    [() => parseCreateWallet({ ...wallet, currency: { ...BTC, iso: -1 } }), "currency.iso"],
    [() => parseCreateWallet({ ...wallet, currency: { ...BTC, alpha: "B T C" } }), "currency.alpha"],
    [() => parseCreateWallet({ ...wallet, currency: { ...BTC, symbol: "₿" } }), "currency.symbol"],
    [() => parseCreateWallet({ ...wallet, type: "merchant" }), "type"],
    [() => parseCreateWallet({ ...wallet, status: 3 }), "status"],
    [() => parseCreateWallet({ ...wallet, balances: { confirmed: "0.123456789" } }), "balances.confirmed"],
    [() => parseCreateWallet({ ...wallet, balances: { available: "1" } }), "balances.available"],
    [() => parseUpdateWallet({ walletId: "w-1" }), "(request)"],
    [() => parseUpdateWallet({ walletId: "w-1", status: "GONE" }), "status"],
    [() => parseSetWalletBalance({ walletId: "w-1", balances: {} }), "balances"],
    [() => parseSetWalletBalance({ walletId: "w-1" }), "balances"],
  ])("refuses case %#, naming %s", (action, field) => {
    expect(refusedField(action)).toBe(field);
  });

  it("applies a wallet's defaults, so that leaving them out and sending them are one request", () => {
    const minimal = parseCreateWallet(wallet);
    expect(minimal).toMatchObject({ type: "MERCHANT", status: "ACTIVE" });
    expect(requestHash("CREATE_WALLET", minimal)).toBe(requestHash("CREATE_WALLET", parseCreateWallet({ ...wallet, type: "MERCHANT", status: "ACTIVE" })));
    expect(requestHash("CREATE_WALLET", minimal)).not.toBe(requestHash("CREATE_WALLET", parseCreateWallet({ ...wallet, status: "NOT_ACTIVE" })));
  });

  it("reads objects the same whatever their key order, and binds the operation into the hash", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 0, y: null }], c: undefined } })).toBe('{"a":{"d":[1,{"y":null,"z":0}]},"b":1}');
    expect(requestHash("SUSPEND_ACCOUNT", { accountId: "x" })).not.toBe(requestHash("RESUME_ACCOUNT", { accountId: "x" }));
    expect(requestHash("SUSPEND_ACCOUNT", { accountId: "x" })).toMatch(/^[0-9a-f]{64}$/);
  });
});
