/**
 * What a provisioning caller sends, checked and normalised before anything is read or written: the same checks
 * serve the HTTP endpoints and the operator CLI, and the normalised request is what the request key is bound to.
 */
import { createHash } from "node:crypto";
import { badInput, DomainError } from "../domain-error.js";
import { requireEmail, requireWalletId } from "../input-validation.js";
import { WalletStatus, WalletType } from "../wallets/wallet-enums.js";

/** A request key: what makes a provisioning call safe to repeat (the `Idempotency-Key` header, `--request-key`). */
const REQUEST_KEY = /^[A-Za-z0-9_.:-]{1,128}$/;
/** Account ids are UUIDs (`access/account.entity.ts`). */
const ACCOUNT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Currency tickers as the platform writes them, e.g. `BTC`, `USDT-ETH`. */
const CURRENCY_ALPHA = /^[A-Za-z0-9._-]{1,32}$/;
/** Characters no name or label may carry: control characters (C0, DEL, C1). */
const CONTROL = /\p{Cc}/u;
/** A plain decimal: an optional minus, no leading zeros, an optional fraction; 40 digits each side at most. */
const DECIMAL = /^(-?)(0|[1-9]\d{0,39})(?:\.(\d{1,40}))?$/;
/** Most decimals a currency may carry: what the GraphQL `Decimal` scalar serves. */
export const MAX_CURRENCY_EXP = 40;

/** The balances a wallet has, by the names provisioning uses for them, and the wallet's columns they set. */
export const BALANCE_FIELDS = {
  confirmed: "balanceConfirmed",
  pending: "balancePending",
  unusable: "balanceUnusable",
} as const;
export type BalanceName = keyof typeof BALANCE_FIELDS;
/** Only pending may be negative: it nets unconfirmed deposits (+) against unconfirmed payouts (-). */
const MAY_BE_NEGATIVE: ReadonlySet<BalanceName> = new Set(["pending"]);

export type Balances = Partial<Record<BalanceName, string>>;
export type WalletStatusName = keyof typeof WalletStatus;
export type WalletTypeName = keyof typeof WalletType;

export interface CurrencyInput {
  iso: number;
  alpha: string;
  name: string;
  /** Decimals amounts carry, 0 to 40. */
  exp: number;
}

export interface CreateAccountRequest {
  name: string;
  ownerEmail: string;
}

/** inviteOwner, suspendAccount, resumeAccount. */
export interface AccountRequest {
  accountId: string;
}

export interface CreateWalletRequest {
  accountId: string;
  walletId: string;
  label: string;
  currency: CurrencyInput;
  /** @default "MERCHANT" */
  type?: WalletTypeName;
  /** @default "ACTIVE" */
  status?: WalletStatusName;
  /** Each @default "0" */
  balances?: Balances;
}

export interface UpdateWalletRequest {
  walletId: string;
  label?: string;
  status?: WalletStatusName;
}

export interface SetWalletBalanceRequest {
  walletId: string;
  /** At least one; those left out keep their value. */
  balances: Balances;
}

/**
 * A refusal because of what is already stored (a request key used for another request, a wallet id taken):
 * BAD_USER_INPUT marked as a conflict, which REST answers 409.
 */
export function conflict(message: string, field: string): DomainError {
  return new DomainError("BAD_USER_INPUT", message, { field, conflict: true });
}

export function isConflict(error: DomainError): boolean {
  return error.details.conflict === true;
}

export function isRequestKey(value: unknown): value is string {
  return typeof value === "string" && REQUEST_KEY.test(value);
}

export function requireRequestKey(value: unknown): string {
  if (!isRequestKey(value)) {
    throw badInput('The request key must be 1 to 128 letters, digits, "_", ".", ":" or "-"', "requestKey");
  }
  return value;
}

export function requireAccountId(value: unknown, field = "accountId"): string {
  if (typeof value !== "string" || !ACCOUNT_ID.test(value)) throw badInput(`${field} must be an account id (a UUID)`, field);
  return value.toLowerCase();
}

type Fields = Record<string, unknown>;

/** The request as an object with only the fields named, so that a misspelt field is refused, never ignored. */
function objectWith(value: unknown, allowed: readonly string[], field?: string): Fields {
  const what = field ?? "The request";
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw badInput(`${what} must be a JSON object`, field);
  for (const key of Object.keys(value)) {
    const name = field ? `${field}.${key}` : key;
    if (!allowed.includes(key)) throw badInput(`Unknown field ${name} (expected ${allowed.join(", ")})`, name);
  }
  return value as Fields;
}

function text(value: unknown, field: string, maxLength: number): string {
  if (typeof value !== "string") throw badInput(`${field} must be a string`, field);
  const trimmed = value.trim();
  if (trimmed === "" || trimmed.length > maxLength || CONTROL.test(trimmed)) {
    throw badInput(`${field} must be 1 to ${maxLength} characters without control characters`, field);
  }
  return trimmed;
}

function integer(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw badInput(`${field} must be a whole number from ${min} to ${max}`, field);
  }
  return value;
}

/** An enum value by its name (`ACTIVE`), as GraphQL shows it; the platform's numeric codes stay internal. */
function enumName<T extends Record<string, string | number>>(values: T, value: unknown, field: string): keyof T & string {
  const names = Object.keys(values).filter((name) => Number.isNaN(Number(name)));
  if (typeof value !== "string" || !names.includes(value)) throw badInput(`${field} must be one of ${names.join(", ")}`, field);
  return value as keyof T & string;
}

/** Checks a balance's form: a decimal string (never a JSON number, which would be a float), signed only if pending. */
export function requireBalance(value: unknown, name: BalanceName, field = `balances.${name}`): string {
  const match = typeof value === "string" ? DECIMAL.exec(value) : null;
  if (!match) throw badInput(`${field} must be a decimal string such as "12.5" (not a JSON number)`, field);
  if (match[1] === "-" && !MAY_BE_NEGATIVE.has(name)) throw badInput(`${field} must not be negative`, field);
  return value as string;
}

/** Refuses a balance with more decimals than the wallet's currency carries. */
export function requirePrecision(balances: Balances, exp: number, field = "balances"): void {
  for (const [name, value] of Object.entries(balances)) {
    const decimals = value.split(".")[1]?.length ?? 0;
    if (decimals > exp) throw badInput(`${field}.${name} has ${decimals} decimals; the currency has ${exp}`, `${field}.${name}`);
  }
}

function balances(value: unknown, field: string): Balances {
  const input = objectWith(value, Object.keys(BALANCE_FIELDS), field);
  const parsed: Balances = {};
  for (const name of Object.keys(BALANCE_FIELDS) as BalanceName[]) {
    if (input[name] !== undefined) parsed[name] = requireBalance(input[name], name, `${field}.${name}`);
  }
  return parsed;
}

function walletId(value: unknown): string {
  return requireWalletId(typeof value === "string" ? value : "", "walletId");
}

function currency(value: unknown): CurrencyInput {
  const input = objectWith(value, ["iso", "alpha", "name", "exp"], "currency");
  const alpha = input.alpha;
  if (typeof alpha !== "string" || !CURRENCY_ALPHA.test(alpha)) {
    throw badInput('currency.alpha must be 1 to 32 letters, digits, ".", "_" or "-"', "currency.alpha");
  }
  return {
    iso: integer(input.iso, "currency.iso", 0, 2_147_483_647),
    alpha,
    name: text(input.name, "currency.name", 100),
    exp: integer(input.exp, "currency.exp", 0, MAX_CURRENCY_EXP),
  };
}

export function parseCreateAccount(value: unknown): CreateAccountRequest {
  const input = objectWith(value, ["name", "ownerEmail"]);
  if (typeof input.ownerEmail !== "string") throw badInput("ownerEmail must be an e-mail address", "ownerEmail");
  return { name: text(input.name, "name", 200), ownerEmail: requireEmail(input.ownerEmail, "ownerEmail") };
}

export function parseAccountRequest(value: unknown): AccountRequest {
  const input = objectWith(value, ["accountId"]);
  return { accountId: requireAccountId(input.accountId) };
}

export function parseCreateWallet(value: unknown): CreateWalletRequest {
  const input = objectWith(value, ["accountId", "walletId", "label", "currency", "type", "status", "balances"]);
  const request: CreateWalletRequest = {
    accountId: requireAccountId(input.accountId),
    walletId: walletId(input.walletId),
    label: text(input.label, "label", 100),
    currency: currency(input.currency),
    type: input.type === undefined ? "MERCHANT" : enumName(WalletType, input.type, "type"),
    status: input.status === undefined ? "ACTIVE" : enumName(WalletStatus, input.status, "status"),
  };
  if (input.balances !== undefined) {
    request.balances = balances(input.balances, "balances");
    requirePrecision(request.balances, request.currency.exp);
  }
  return request;
}

export function parseUpdateWallet(value: unknown): UpdateWalletRequest {
  const input = objectWith(value, ["walletId", "label", "status"]);
  const request: UpdateWalletRequest = { walletId: walletId(input.walletId) };
  if (input.label !== undefined) request.label = text(input.label, "label", 100);
  if (input.status !== undefined) request.status = enumName(WalletStatus, input.status, "status");
  if (request.label === undefined && request.status === undefined) throw badInput("Give label, status or both");
  return request;
}

export function parseSetWalletBalance(value: unknown): SetWalletBalanceRequest {
  const input = objectWith(value, ["walletId", "balances"]);
  const request = { walletId: walletId(input.walletId), balances: balances(input.balances, "balances") };
  if (Object.keys(request.balances).length === 0) {
    throw badInput(`Give at least one balance: ${Object.keys(BALANCE_FIELDS).join(", ")}`, "balances");
  }
  return request;
}

/** JSON with every object's keys sorted (and undefined fields left out), so that equal requests read the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value)
    .filter(([, inner]) => inner !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`).join(",")}}`;
}

/** SHA-256 (hex) of an operation and its normalised request: what a request key is bound to. */
export function requestHash(operation: string, request: unknown): string {
  return createHash("sha256").update(`${operation}\n${canonicalJson(request)}`).digest("hex");
}
