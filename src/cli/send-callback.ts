import fs from "node:fs";
import { parseArgs } from "node:util";
import { buildSignedCallback, type CallbackCurrency } from "../callbacks/callback-builder.js";
import { loadConfig } from "../config.js";
import { openDatabase, sqlitePath, type Database } from "../db/orm.js";
import {
  CallbackEventKind,
  DEPOSIT_STATUSES,
  DepositStatus,
  PAYOUT_STATUSES,
  TRANSFER_STATUSES,
  TransferStatus,
  type StatusCodes,
} from "../events/event.js";
import { Wallet } from "../wallets/wallet.entity.js";

export const SEND_CALLBACK_USAGE = `  send-callback --secret <callback secret> [options]
  send-callback --replay-of <captured callback file> [options]
      Builds a deposit or payout callback as the platform sends it, signs it and posts it; with --replay-of, posts a
      captured callback changed by the options given, its signature kept as captured (a re-cut callback must be
      refused or answered as a duplicate). Prints HTTP <status> [body]; exits with 1 on anything but 200.
      --wallet <id>                 wallet id (default 10001, the demo ETH wallet)
      --kind <kind>                 deposit | payout (default deposit)
      --currency <iso>:<alpha>[:<exp>]
                                    the currency the callback names, e.g. 1000:BTC:8 (exp, the decimals, default 18);
                                    default the wallet's, read from the local database (DATA_DIR or DATABASE_URL);
                                    when that cannot be read, the callback names no currency (taken as the wallet's)
      --status <status>             the transfer's: CONFIRMED, UNCONFIRMED, CREATED, FAILED, BLOCKED, CANCELED or any
                                    code (default CONFIRMED)
      --amount <decimal>            the transfer's, exactly as the platform would send it (default 0.3 written with
                                    the currency's decimals, 0.300000000000000000 when no currency is named)
      --amount-cleared <decimal>    the amount actually credited (default not sent)
      --op-type <n>                 the transfer's op_type (default 1 for a deposit, 2 for a payout)
      --transfer-id <id>            the transfer (default a new one; reuse it to send the same transfer again)
      --no-transfer                 a callback without a transfer (a deposit not yet on chain, a payout canceled early)
      --deposit-status <status>     the deposit's own: CREATED, PAID, CANCELED, UNRESOLVED or any code (default not
                                    sent; CREATED with --no-transfer, which signs it)
      --payout-status <status>      the payout's own: WAITING, APPROVED, CANCELED or any code (default not sent)
      --operation-id <id>           the deposit's or payout's id (default a new one)
      --tracking-id <text>          the merchant's reference (default a new one)
      --time <text>                 meta.time (default now, in Unix seconds)
      --secret <secret>             the callback secret (or CALLBACK_SECRET); not needed with --replay-of
      --replay-of <file>            a captured callback body (JSON); the transfer's options change the transfer
                                    data.relationships.transfer names (else the first one), --no-transfer drops it
      --save <file>                 also writes the body posted to <file> (JSON), e.g. to replay it later
      --url <url>                   where to post (default http://localhost:4000/callbacks)`;

type Json = Record<string, unknown>;

/** What one `send-callback` posted and how the service answered. */
export interface SentCallback {
  status: number;
  /** The answer's body ("" when none). */
  text: string;
  /** The body posted. */
  body: Json;
}

export interface SendCallbackOptions {
  /** Where the configuration (the local database, CALLBACK_SECRET) is read from; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Receives what the user should know before the answer (e.g. why the callback names no currency). */
  note?: (text: string) => void;
}

const OPTIONS = {
  wallet: { type: "string" },
  kind: { type: "string" },
  currency: { type: "string" },
  status: { type: "string" },
  amount: { type: "string" },
  "amount-cleared": { type: "string" },
  "op-type": { type: "string" },
  "transfer-id": { type: "string" },
  "no-transfer": { type: "boolean" },
  "deposit-status": { type: "string" },
  "payout-status": { type: "string" },
  "operation-id": { type: "string" },
  "tracking-id": { type: "string" },
  time: { type: "string" },
  secret: { type: "string" },
  "replay-of": { type: "string" },
  save: { type: "string" },
  url: { type: "string" },
} as const;

type Values = ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS }>>["values"];

/** Options that describe the signed transfer, so they cannot go with `--no-transfer`. */
const TRANSFER_OPTIONS = ["status", "amount-cleared", "op-type", "transfer-id"] as const;

const DEFAULT_WALLET = "10001";
/**
 * A currency's decimals when nothing tells them (those of ETH, the demo wallet's): for `--currency` without `<exp>`,
 * and for the default amount of a callback that names no currency.
 */
const DEFAULT_EXP = 18;

/** A status by one of its names (any case) or as a code, documented or not. */
function statusCode(option: string, value: string, names: ReadonlyMap<string, number>): number {
  if (/^-?\d{1,10}$/.test(value)) return Number(value);
  const code = names.get(value.toUpperCase());
  if (code === undefined) {
    const known = [...names].map(([name, known]) => `${name} (${known})`).join(", ");
    throw new Error(`--${option} must be one of ${known}, or a code`);
  }
  return code;
}

const namesOf = <Name extends string>(table: StatusCodes<Name>) =>
  new Map(table.known.map((code) => [String(table.nameOf(code)), code]));
/** The transfer's status codes by name (the enum's own names: its values are the codes). */
const TRANSFER_STATUS_NAMES = new Map(TRANSFER_STATUSES.known.map((code) => [TransferStatus[code]!, code]));
const DEPOSIT_STATUS_NAMES = namesOf(DEPOSIT_STATUSES);
const PAYOUT_STATUS_NAMES = namesOf(PAYOUT_STATUSES);

function kindOf(value: string): CallbackEventKind {
  if (value === "deposit") return CallbackEventKind.DEPOSIT;
  if (value === "payout") return CallbackEventKind.PAYOUT;
  throw new Error("--kind must be deposit or payout");
}

function integer(option: string, value: string): number {
  if (!/^-?\d{1,10}$/.test(value)) throw new Error(`--${option} must be an integer`);
  return Number(value);
}

/** `<iso>:<alpha>[:<exp>]`; the name is the alpha, as nothing else tells it. */
function currencyOption(value: string): CallbackCurrency {
  const match = /^(\d{1,10}):([A-Za-z0-9._-]{1,32})(?::(\d{1,2}))?$/.exec(value);
  if (!match) throw new Error("--currency must be <iso>:<alpha>[:<exp>], e.g. 1000:BTC:8");
  const [, iso, alpha, exp] = match;
  return { id: iso!, alpha: alpha!, name: alpha!, exp: exp === undefined ? DEFAULT_EXP : Number(exp) };
}

/** 0.3 written with `exp` decimals, as the platform writes amounts of that currency. */
function defaultAmount(exp: number): string {
  return exp === 0 ? "1" : `0.${"3".padEnd(exp, "0")}`;
}

/** The deposit's or payout's own status code the options give, checked against the kind. */
function operationStatus(values: Values, kind: CallbackEventKind): number | undefined {
  const deposit = values["deposit-status"];
  const payout = values["payout-status"];
  if (deposit !== undefined && kind !== CallbackEventKind.DEPOSIT) throw new Error("--deposit-status is for a deposit");
  if (payout !== undefined && kind !== CallbackEventKind.PAYOUT) throw new Error("--payout-status is for a payout");
  if (deposit !== undefined) return statusCode("deposit-status", deposit, DEPOSIT_STATUS_NAMES);
  if (payout !== undefined) return statusCode("payout-status", payout, PAYOUT_STATUS_NAMES);
  return undefined;
}

/**
 * The wallet's currency as the local database has it (the configuration's DATA_DIR or DATABASE_URL), or why it
 * cannot be read. An embedded database that does not exist is not created.
 */
async function walletCurrency(
  env: NodeJS.ProcessEnv,
  walletId: string,
): Promise<{ currency: CallbackCurrency } | { unreadable: string }> {
  const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));
  let config;
  try {
    config = loadConfig(env);
  } catch (error) {
    return { unreadable: `the configuration cannot be read: ${reason(error)}` };
  }
  if (!config.databaseUrl && !fs.existsSync(sqlitePath(config))) {
    return { unreadable: `there is no database at ${sqlitePath(config)}` };
  }
  let db: Database | undefined;
  try {
    db = await openDatabase(config);
    const wallet = await db.orm.em.fork().findOne(Wallet, { id: walletId });
    if (!wallet) return { unreadable: "the local database does not have it" };
    const { iso, alpha, name, exp } = wallet.currency;
    return { currency: { id: String(iso), alpha, name, exp } };
  } catch (error) {
    return { unreadable: `the local database cannot be read: ${reason(error)}` };
  } finally {
    await db?.close();
  }
}

function objectAt(parent: Json, key: string, path: string): Json {
  const value = parent[key];
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`--replay-of: the captured callback has no ${path} object`);
  }
  return value as Json;
}

/** `parent[key]` as an object, made an empty one when absent. */
function objectIn(parent: Json, key: string, path: string): Json {
  if (parent[key] === undefined || parent[key] === null) parent[key] = {};
  return objectAt(parent, key, path);
}

function includedOf(body: Json): Json[] {
  const included = body.included ?? [];
  if (!Array.isArray(included)) throw new Error("--replay-of: the captured callback's included is not an array");
  return included.filter((item): item is Json => item !== null && typeof item === "object" && !Array.isArray(item));
}

/**
 * Makes the callback name `currency` (in `data.relationships`, on each transfer and as the included currency), or
 * no currency at all when it is null.
 */
function setCurrency(body: Json, currency: CallbackCurrency | null): void {
  const relationships = objectIn(objectAt(body, "data", "data"), "relationships", "data.relationships");
  const included = includedOf(body);
  const named = currency && { data: { type: "currency", id: currency.id } };
  const transfers = included.filter((item) => item.type === "transfer");
  const holders = [relationships, ...transfers.map((item) => objectIn(item, "relationships", "transfer.relationships"))];
  for (const holder of holders) {
    if (named) holder.currency = named;
    else delete holder.currency;
  }
  const items = included.filter((item) => item.type === "currency");
  if (currency) {
    const item = items[0] ?? { type: "currency" };
    const attributes = objectIn(item, "attributes", "currency.attributes");
    item.id = currency.id;
    Object.assign(attributes, { iso: Number(currency.id), alpha: currency.alpha, name: currency.name, exp: currency.exp });
    body.included = [item, ...included.filter((other) => other.type !== "currency")];
  } else {
    body.included = included.filter((item) => item.type !== "currency");
  }
}

/** A new, signed callback from the options. */
async function built(values: Values, env: NodeJS.ProcessEnv, note: (text: string) => void): Promise<Json> {
  const secret = values.secret ?? env.CALLBACK_SECRET;
  if (!secret) throw new Error("--secret (or CALLBACK_SECRET) is required");
  const kind = kindOf(values.kind ?? "deposit");
  const noTransfer = values["no-transfer"] ?? false;
  const transferOption = TRANSFER_OPTIONS.find((option) => values[option] !== undefined);
  if (noTransfer && transferOption) {
    throw new Error(`--no-transfer sends no transfer: --${transferOption} has nothing to describe`);
  }
  // A deposit without a transfer signs its own status, so it always sends one.
  const status =
    operationStatus(values, kind) ??
    (noTransfer && kind === CallbackEventKind.DEPOSIT ? DEPOSIT_STATUS_NAMES.get(DepositStatus.CREATED) : undefined);
  const walletId = values.wallet ?? DEFAULT_WALLET;
  let currency: CallbackCurrency | null = values.currency === undefined ? null : currencyOption(values.currency);
  const opType = values["op-type"] === undefined ? undefined : integer("op-type", values["op-type"]);
  const transferStatus = statusCode("status", values.status ?? "CONFIRMED", TRANSFER_STATUS_NAMES);
  if (!currency) {
    const read = await walletCurrency(env, walletId);
    if ("currency" in read) currency = read.currency;
    else {
      note(
        `The currency of wallet ${walletId} is not known here (${read.unreadable}): ` +
          "the callback names none, which the service takes as the wallet's",
      );
    }
  }
  const body = buildSignedCallback({
    walletId,
    kind,
    status: transferStatus,
    amount: values.amount ?? defaultAmount(currency?.exp ?? DEFAULT_EXP),
    amountCleared: values["amount-cleared"],
    opType,
    trackingId: values["tracking-id"] ?? `sim-${Date.now()}`,
    transferId: values["transfer-id"],
    operationId: values["operation-id"],
    operationStatus: status,
    noTransfer,
    time: values.time,
    currency: currency ?? undefined,
    secret,
  });
  if (!currency) setCurrency(body, null);
  return body;
}

/** A captured callback changed by the options given, its `meta.sign` as captured. */
function recut(values: Values): Json {
  const file = values["replay-of"]!;
  let body: unknown;
  try {
    body = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw new Error(`--replay-of: ${file} is not a JSON file (${error instanceof Error ? error.message : String(error)})`, {
      cause: error,
    });
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new Error(`--replay-of: ${file} holds no JSON object`);
  }
  const root = body as Json;
  const data = objectAt(root, "data", "data");
  if (values.kind !== undefined) data.type = kindOf(values.kind) === CallbackEventKind.PAYOUT ? "payout" : "deposit";
  const kind = data.type === "payout" ? CallbackEventKind.PAYOUT : CallbackEventKind.DEPOSIT;
  const attributes = objectIn(data, "attributes", "data.attributes");
  const relationships = objectIn(data, "relationships", "data.relationships");
  const status = operationStatus(values, kind);
  if (status !== undefined) attributes.status = status;
  if (values["operation-id"] !== undefined) data.id = values["operation-id"];
  if (values["tracking-id"] !== undefined) attributes.tracking_id = values["tracking-id"];
  if (values.wallet !== undefined) relationships.wallet = { data: { type: "wallet", id: values.wallet } };

  const transferOptions = [...TRANSFER_OPTIONS, "amount"].filter((option) => values[option as keyof Values] !== undefined);
  if (values["no-transfer"]) {
    if (transferOptions.length > 0) {
      throw new Error(`--no-transfer drops the transfer: --${transferOptions[0]} has nothing to change`);
    }
    delete relationships.transfer;
    root.included = includedOf(root).filter((item) => item.type !== "transfer");
  } else if (transferOptions.length > 0) {
    const transfers = includedOf(root).filter((item) => item.type === "transfer");
    const namedId = (relationships.transfer as { data?: { id?: unknown } } | undefined)?.data?.id;
    const transfer = transfers.find((item) => namedId !== undefined && String(item.id) === String(namedId)) ?? transfers[0];
    if (!transfer) {
      throw new Error(`--replay-of: the captured callback has no transfer for --${transferOptions[0]} to change`);
    }
    const fields = objectIn(transfer, "attributes", "transfer.attributes");
    if (values.amount !== undefined) fields.amount = values.amount;
    if (values.status !== undefined) fields.status = statusCode("status", values.status, TRANSFER_STATUS_NAMES);
    if (values["op-type"] !== undefined) fields.op_type = integer("op-type", values["op-type"]);
    if (values["amount-cleared"] !== undefined) fields.amount_cleared = values["amount-cleared"];
    if (values["transfer-id"] !== undefined) {
      transfer.id = values["transfer-id"];
      relationships.transfer = { data: { type: "transfer", id: values["transfer-id"] } };
    }
  }
  if (values.currency !== undefined) setCurrency(root, currencyOption(values.currency));
  if (values.time !== undefined) objectAt(root, "meta", "meta").time = values.time;
  return root;
}

/**
 * Builds and signs a callback from command-line arguments (or re-cuts a captured one, with `--replay-of`), posts it
 * and returns the answer; throws on arguments it cannot use.
 */
export async function postCallbackFromArgs(args: string[], options: SendCallbackOptions = {}): Promise<SentCallback> {
  const env = options.env ?? process.env;
  const note = options.note ?? (() => {});
  const { values } = parseArgs({ args, options: OPTIONS });
  if (values["deposit-status"] !== undefined && values["payout-status"] !== undefined) {
    throw new Error("--deposit-status and --payout-status exclude each other");
  }
  const body = values["replay-of"] ? recut(values) : await built(values, env, note);
  if (values.save) fs.writeFileSync(values.save, `${JSON.stringify(body, null, 2)}\n`);
  const response = await fetch(values.url ?? "http://localhost:4000/callbacks", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, text: await response.text(), body };
}

/** Posts one callback; prints the answer's status (and body, if any); fails on anything but 200. */
export async function sendCallback(args: string[]): Promise<void> {
  const sent = await postCallbackFromArgs(args, { note: (text) => process.stderr.write(`${text}\n`) });
  process.stdout.write(`HTTP ${sent.status}${sent.text ? ` ${sent.text}` : ""}\n`);
  if (sent.status !== 200) process.exitCode = 1;
}
