import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { User } from "../src/access/user.entity.js";
import { Wallet } from "../src/wallets/wallet.entity.js";
import { AuditLogDocument } from "./generated/graphql.js";
import { accessMutation, type AccessMutation } from "./support/access.js";
import { DEMO_WALLETS, OTHER_WALLET, TEST_USERS } from "./support/fixtures.js";
import { codes, execute } from "./support/graphql-client.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

let server: TestServer;
const token: Record<string, string> = {};
const id: Record<string, string> = {};
/** Each account's Owner, who reads its audit log. */
const LOG_READER = { demo: "owner@example.com", other: "other-owner@example.com" } as const;
const UNKNOWN_USER = "00000000-0000-4000-8000-000000000000";
const { ETH, BTC, USDT } = DEMO_WALLETS;

beforeAll(async () => {
  server = await startTestServer();
  for (const email of TEST_USERS) {
    token[email] = await server.token(email);
    id[email] = await server.userId(email);
  }
});
afterAll(() => server?.close());

/** An account's audit log, newest first, as its Owner reads it through GraphQL, with users shown by e-mail. */
async function auditLog(log: keyof typeof LOG_READER, first = 100) {
  const result = await execute(server.url, AuditLogDocument, { first }, { token: token[LOG_READER[log]] });
  expect(result.errors).toBeUndefined();
  return result.data!.auditLog.edges.map(({ node }) => ({
    id: node.id,
    action: node.action,
    outcome: node.outcome,
    actor: node.actor?.email ?? null,
    targetUser: node.targetUser?.email ?? null,
    walletId: node.walletId ?? null,
    previousRole: node.previousRole ?? null,
    role: node.role ?? null,
    clientAddress: node.clientAddress,
    detail: node.detail ?? null,
  }));
}

const newestId = async (log: keyof typeof LOG_READER) => (await auditLog(log, 1))[0]?.id ?? null;

const ACTIONS = { grant: "GRANT_WALLET_ACCESS", change: "CHANGE_WALLET_ROLE", revoke: "REVOKE_WALLET_ACCESS" } as const;

interface Case {
  name: string;
  as: string;
  run: AccessMutation;
  input: () => Record<string, unknown>;
  /** The error code, or SUCCESS. */
  outcome: string;
  /** Whose log the entry lands in: the actor's account's. */
  log: keyof typeof LOG_READER;
  /** The entry's columns; called when the case runs, once the users' ids are known. */
  entry: () => { targetUser: string | null; walletId: string | null; previousRole: string | null; role: string | null; detail: string | null };
}

// In order: each case starts from the state the ones before it left.
const cases: Case[] = [
  {
    name: "a grant",
    as: "owner@example.com",
    run: "grant",
    input: () => ({ userId: id["viewer@example.com"], walletId: BTC, role: "ADMIN" }),
    outcome: "SUCCESS",
    log: "demo",
    entry: () => ({ targetUser: "viewer@example.com", walletId: BTC, previousRole: null, role: "ADMIN", detail: null }),
  },
  {
    name: "a role change",
    as: "owner@example.com",
    run: "change",
    input: () => ({ userId: id["viewer@example.com"], walletId: BTC, role: "READ_ONLY" }),
    outcome: "SUCCESS",
    log: "demo",
    entry: () => ({ targetUser: "viewer@example.com", walletId: BTC, previousRole: "ADMIN", role: "READ_ONLY", detail: null }),
  },
  {
    name: "a revocation",
    as: "owner@example.com",
    run: "revoke",
    input: () => ({ userId: id["viewer@example.com"], walletId: BTC }),
    outcome: "SUCCESS",
    log: "demo",
    entry: () => ({ targetUser: "viewer@example.com", walletId: BTC, previousRole: "READ_ONLY", role: null, detail: null }),
  },
  {
    name: "a grant by e-mail that adds the user",
    as: "owner@example.com",
    run: "grant",
    input: () => ({ email: "New.Analyst@Example.com", walletId: USDT }),
    outcome: "SUCCESS",
    log: "demo",
    entry: () => ({ targetUser: "new.analyst@example.com", walletId: USDT, previousRole: null, role: "READ_ONLY", detail: "User added to the account" }),
  },
  ...(["admin@example.com", "ops@example.com", "viewer@example.com"] as const).map((as) => ({
    name: `a grant by ${as}, who is not the Owner`,
    as,
    run: "grant" as const,
    input: () => ({ userId: as === "viewer@example.com" ? id["ops@example.com"] : id["viewer@example.com"], walletId: USDT, role: "ADMIN" }),
    outcome: "FORBIDDEN",
    log: "demo" as const,
    entry: () => ({ targetUser: null, walletId: null, previousRole: null, role: "ADMIN", detail: "Only the account Owner can manage wallet access" }),
  })),
  {
    name: "a revocation by a user who is not the Owner",
    as: "ops@example.com",
    run: "revoke",
    input: () => ({ userId: id["viewer@example.com"], walletId: ETH }),
    outcome: "FORBIDDEN",
    log: "demo",
    entry: () => ({ targetUser: null, walletId: null, previousRole: null, role: null, detail: "Only the account Owner can manage wallet access" }),
  },
  {
    name: "granting the OWNER role",
    as: "owner@example.com",
    run: "grant",
    input: () => ({ userId: id["viewer@example.com"], walletId: BTC, role: "OWNER" }),
    outcome: "BAD_USER_INPUT",
    log: "demo",
    entry: () => ({ targetUser: null, walletId: null, previousRole: null, role: "OWNER", detail: "The OWNER role cannot be granted: an account has exactly one Owner" }),
  },
  {
    name: "granting a role already held",
    as: "owner@example.com",
    run: "grant",
    input: () => ({ userId: id["viewer@example.com"], walletId: ETH }),
    outcome: "BAD_USER_INPUT",
    log: "demo",
    entry: () => ({
      targetUser: "viewer@example.com",
      walletId: ETH,
      previousRole: null,
      role: "READ_ONLY",
      detail: "viewer@example.com already holds READ_ONLY on wallet 10001; use changeWalletRole to change it",
    }),
  },
  {
    name: "changing the Owner's own access",
    as: "owner@example.com",
    run: "change",
    input: () => ({ userId: id["owner@example.com"], walletId: ETH, role: "READ_ONLY" }),
    outcome: "BAD_USER_INPUT",
    log: "demo",
    entry: () => ({ targetUser: "owner@example.com", walletId: ETH, previousRole: null, role: "READ_ONLY", detail: "The Owner's access cannot be changed or revoked" }),
  },
  {
    name: "revoking a grant that does not exist",
    as: "owner@example.com",
    run: "revoke",
    input: () => ({ userId: id["viewer@example.com"], walletId: USDT }),
    outcome: "NOT_FOUND",
    log: "demo",
    entry: () => ({ targetUser: "viewer@example.com", walletId: USDT, previousRole: null, role: null, detail: "viewer@example.com has no access to wallet 10003" }),
  },
  {
    name: "changing a role on a wallet of another account",
    as: "owner@example.com",
    run: "change",
    input: () => ({ userId: id["viewer@example.com"], walletId: OTHER_WALLET, role: "ADMIN" }),
    outcome: "NOT_FOUND",
    log: "demo",
    entry: () => ({ targetUser: null, walletId: null, previousRole: null, role: "ADMIN", detail: "Wallet 20001 was not found in this account" }),
  },
  {
    name: "granting to a user of another account",
    as: "owner@example.com",
    run: "grant",
    input: () => ({ userId: id["other-reader@example.com"], walletId: ETH }),
    outcome: "NOT_FOUND",
    log: "demo",
    entry: () => ({ targetUser: null, walletId: ETH, previousRole: null, role: "READ_ONLY", detail: `User ${id["other-reader@example.com"]} was not found in this account` }),
  },
  {
    name: "granting to a user that does not exist",
    as: "owner@example.com",
    run: "grant",
    input: () => ({ userId: UNKNOWN_USER, walletId: ETH, role: "WITHDRAWALS_WITH_APPROVAL" }),
    outcome: "NOT_FOUND",
    log: "demo",
    entry: () => ({ targetUser: null, walletId: ETH, previousRole: null, role: "WITHDRAWALS_WITH_APPROVAL", detail: `User ${UNKNOWN_USER} was not found in this account` }),
  },
  {
    name: "a malformed wallet id",
    as: "owner@example.com",
    run: "revoke",
    input: () => ({ userId: id["viewer@example.com"], walletId: "../../etc" }),
    outcome: "BAD_USER_INPUT",
    log: "demo",
    entry: () => ({ targetUser: null, walletId: null, previousRole: null, role: null, detail: 'walletId must be 1 to 64 letters, digits, "-" or "_"' }),
  },
  {
    name: "another account's Owner revoking on our wallet: in their log, naming nothing of ours",
    as: "other-owner@example.com",
    run: "revoke",
    input: () => ({ userId: id["viewer@example.com"], walletId: ETH }),
    outcome: "NOT_FOUND",
    log: "other",
    entry: () => ({ targetUser: null, walletId: null, previousRole: null, role: null, detail: "Wallet 10001 was not found in this account" }),
  },
  {
    name: "another account's Owner changing our user on their wallet",
    as: "other-owner@example.com",
    run: "change",
    input: () => ({ userId: id["viewer@example.com"], walletId: OTHER_WALLET, role: "ADMIN" }),
    outcome: "NOT_FOUND",
    log: "other",
    entry: () => ({
      targetUser: null,
      walletId: OTHER_WALLET,
      previousRole: null,
      role: "ADMIN",
      detail: `User ${id["viewer@example.com"]} was not found in this account`,
    }),
  },
];

describe("wallet access changes in the audit log", () => {
  it.each(cases)("$name: one $outcome entry", async ({ as, run, input, outcome, log, entry }) => {
    const before = { demo: await newestId("demo"), other: await newestId("other") };
    const result = await accessMutation(server.url, run, input(), token[as]);
    expect(codes(result)).toEqual(outcome === "SUCCESS" ? [] : [outcome]);

    const [newest, previous] = await auditLog(log, 2);
    expect({ ...newest, id: undefined }).toEqual({
      id: undefined,
      action: ACTIONS[run],
      outcome,
      actor: as,
      clientAddress: "127.0.0.1",
      ...entry(),
    });
    // Exactly one entry, in the actor's account's log and in no other.
    expect(previous?.id ?? null).toBe(before[log]);
    const otherLog = log === "demo" ? "other" : "demo";
    expect(await newestId(otherLog)).toBe(before[otherLog]);
  });

  it("keeps the wallet id when the wallet is gone, and no longer names a user who is gone", async () => {
    const em = server.em();
    await em.nativeDelete(User, { email: "new.analyst@example.com" });
    await em.nativeDelete(Wallet, { id: USDT });
    const added = (await auditLog("demo")).find((row) => row.detail === "User added to the account");
    expect(added).toMatchObject({ action: "GRANT_WALLET_ACCESS", outcome: "SUCCESS", targetUser: null, walletId: USDT, role: "READ_ONLY" });
    // The e-mail the entry was written with stays.
    const result = await execute(server.url, AuditLogDocument, { first: 100 }, { token: token[LOG_READER.demo] });
    const node = result.data!.auditLog.edges.find((edge) => edge.node.id === added!.id)!.node;
    expect([node.targetUser, node.targetUserEmail, node.actorEmail]).toEqual([null, "new.analyst@example.com", "owner@example.com"]);
  });
});
