import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Account } from "../src/access/account.entity.js";
import { User } from "../src/access/user.entity.js";
import { AuditEntry } from "../src/audit/audit-entry.entity.js";
import { deriveKeys, loadMasterKeyring } from "../src/credentials/keys.js";
import { Invitation } from "../src/enrolment/invitation.entity.js";
import { parseAccountRequest, requestHash } from "../src/provisioning/provisioning-input.js";
import { ProvisioningRequest } from "../src/provisioning/provisioning-request.entity.js";
import { PROVISIONING_AUTH_FAILURES_PER_MINUTE } from "../src/provisioning/provisioning-route.js";
import { Wallet } from "../src/wallets/wallet.entity.js";
import { onPostgres } from "./support/database.js";
import { execute } from "./support/graphql-client.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

const TOKEN = `prov_${randomBytes(24).toString("base64url")}`;
const BTC = { iso: 1000, alpha: "BTC", name: "Bitcoin", exp: 8 };

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ PROVISIONING_TOKEN: TOKEN });
});
afterAll(() => server?.close());

const newKey = () => `test-${randomBytes(9).toString("base64url")}`;

interface Answer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

/** One provisioning call: the token and a fresh Idempotency-Key unless told otherwise. */
async function call(
  method: string,
  path: string,
  body?: unknown,
  options: { key?: string | null; token?: string | null; headers?: Record<string, string>; raw?: string } = {},
): Promise<Answer> {
  const key = options.key === undefined ? newKey() : options.key;
  const token = options.token === undefined ? TOKEN : options.token;
  const response = await fetch(`${server.url}/provisioning/v1${path}`, {
    method,
    headers: {
      ...(body !== undefined || options.raw !== undefined ? { "content-type": "application/json" } : {}),
      ...(key === null ? {} : { "idempotency-key": key }),
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...options.headers,
    },
    body: options.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

const hasher = () => deriveKeys(loadMasterKeyring(server.service.config)).secretHasher;
const accountsNamed = (name: string) => server.em().count(Account, { name });
const audits = (accountId: string, action?: string) =>
  server.em().find(AuditEntry, { accountId, ...(action ? { action } : {}) }, { orderBy: { id: "asc" } });

const WALLETS = "{ wallets { edges { node { id label status type currency { alpha exp } balanceConfirmed balancePending balanceUnusable } } } }";
type WalletsData = { wallets: { edges: { node: Record<string, unknown> }[] } };

/** Creates an account over HTTP and answers its ids and the Owner's invitation token. */
async function newAccount(name = `Merchant ${randomBytes(4).toString("hex")}`) {
  const email = `owner-${randomBytes(4).toString("hex")}@merchant.example`;
  const answer = await call("POST", "/accounts", { name, ownerEmail: email });
  expect(answer.status).toBe(201);
  return { ...(answer.body.data as { accountId: string; ownerUserId: string; ownerInvitation: { token: string } }), email, name };
}

describe("accounts", () => {
  it("creates an account with its Owner (no password) and a one-time invitation, stored only as its hash", async () => {
    const key = newKey();
    const answer = await call("POST", "/accounts", { name: "  Acme Payments Ltd ", ownerEmail: "Boss@Acme.example" }, { key });
    expect(answer.status).toBe(201);
    expect(answer.headers.get("cache-control")).toBe("no-store");
    expect(answer.headers.get("idempotent-replayed")).toBeNull();
    const data = answer.body.data;
    expect(data).toEqual({
      accountId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      ownerUserId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      ownerEmail: "boss@acme.example",
      ownerInvitation: { token: expect.stringMatching(/^acs_inv_[A-Za-z0-9_-]{43}$/), expiresAt: expect.any(String) },
    });
    const expiresIn = Date.parse(data.ownerInvitation.expiresAt) - server.clock.now();
    expect(expiresIn).toBeGreaterThan(72 * 3600_000 - 60_000);
    expect(expiresIn).toBeLessThanOrEqual(72 * 3600_000);

    const em = server.em();
    const account = await em.findOneOrFail(Account, data.accountId);
    expect(account).toMatchObject({ name: "Acme Payments Ltd", suspendedAt: null, accessVersion: 0 });
    const owner = await em.findOneOrFail(User, data.ownerUserId, { populate: ["passwordHash"] });
    expect(owner).toMatchObject({ email: "boss@acme.example", kind: "HUMAN", isOwner: true, passwordHash: null });
    expect(owner.account.id).toBe(data.accountId);
    const invitations = await em.find(Invitation, { user: owner.id });
    expect(invitations.map((invitation) => invitation.tokenHash)).toEqual([hasher().hash(data.ownerInvitation.token)]);
    const stored = await em.findOneOrFail(ProvisioningRequest, { key });
    expect(stored.operation).toBe("CREATE_ACCOUNT");
    expect(stored.result).not.toContain(data.ownerInvitation.token);

    const [entry] = await audits(data.accountId);
    expect(entry).toMatchObject({ action: "CREATE_ACCOUNT", outcome: "SUCCESS", actorId: null, clientAddress: "127.0.0.1" });
    expect(entry!.targetUserId).toBe(owner.id);
    expect(entry!.detail).toContain(`via api, request key ${key}`);
    expect(entry!.detail).not.toContain(data.ownerInvitation.token);
  });

  it("replays the same key and request: the same ids, no second account, no new invitation, the token not shown again", async () => {
    const key = newKey();
    const request = { name: "Replay Merchant", ownerEmail: "replay@merchant.example" };
    const first = await call("POST", "/accounts", request, { key });
    expect(first.status).toBe(201);
    // The same request as normalised (spaces, case) is the same request.
    const again = await call("POST", "/accounts", { ownerEmail: "REPLAY@merchant.example", name: "Replay Merchant " }, { key });
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body.data).toEqual({
      accountId: first.body.data.accountId,
      ownerUserId: first.body.data.ownerUserId,
      ownerEmail: "replay@merchant.example",
      ownerInvitation: null,
      note: expect.stringMatching(/shown once.*inviteOwner/),
    });
    expect(await accountsNamed("Replay Merchant")).toBe(1);
    const invitations = await server.em().find(Invitation, { user: first.body.data.ownerUserId });
    expect(invitations.map((invitation) => invitation.tokenHash)).toEqual([hasher().hash(first.body.data.ownerInvitation.token)]);
    const entries = await audits(first.body.data.accountId, "CREATE_ACCOUNT");
    expect(entries.map((entry) => [entry.outcome, entry.actorId])).toEqual([
      ["SUCCESS", null],
      ["SUCCESS", null],
    ]);
    expect(entries[1]!.detail).toMatch(/replayed/);
  });

  it("refuses the same key with another request or another operation (409), changing nothing", async () => {
    const key = newKey();
    const created = await call("POST", "/accounts", { name: "Conflict Merchant", ownerEmail: "c@merchant.example" }, { key });
    expect(created.status).toBe(201);
    const other = await call("POST", "/accounts", { name: "Conflict Merchant 2", ownerEmail: "c@merchant.example" }, { key });
    expect(other.status).toBe(409);
    expect(other.body.errors).toEqual([
      { status: "409", title: "Conflict", code: "BAD_USER_INPUT", detail: expect.stringMatching(/used for another request/), source: { header: "Idempotency-Key" } },
    ]);
    const suspend = await call("POST", `/accounts/${created.body.data.accountId}/suspension`, undefined, { key });
    expect(suspend.status).toBe(409);
    expect(await accountsNamed("Conflict Merchant 2")).toBe(0);
    expect((await server.em().findOneOrFail(Account, created.body.data.accountId)).suspendedAt).toBeNull();
    // The refusal about a known account is audited on it.
    const refused = await audits(created.body.data.accountId, "SUSPEND_ACCOUNT");
    expect(refused.map((entry) => [entry.outcome, entry.actorId])).toEqual([["BAD_USER_INPUT", null]]);
  });

  it("carries out concurrent calls with one key once", async () => {
    const key = newKey();
    const name = `Race ${key}`;
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => call("POST", "/accounts", { name, ownerEmail: "race@merchant.example" }, { key })),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(1);
    expect(statuses.every((status) => [200, 201, 503].includes(status))).toBe(true);
    const ids = new Set(answers.filter((answer) => answer.status !== 503).map((answer) => answer.body.data.accountId));
    expect(ids.size).toBe(1);
    expect(await accountsNamed(name)).toBe(1);
  });

  it.runIf(onPostgres).each(["commit", "rollback"] as const)(
    "lets the key's primary key decide between concurrent calls: the other call's %s",
    async (ending) => {
      const account = await newAccount();
      const key = newKey();
      const hash = requestHash("SUSPEND_ACCOUNT", parseAccountRequest({ accountId: account.accountId }));
      const winnersAnswer = { accountId: account.accountId, suspendedAt: "2030-01-01T00:00:00.000Z" };
      // Another instance holds the key in a transaction not committed yet.
      const other = new pg.Client({ connectionString: server.service.config.databaseUrl });
      const observer = new pg.Client({ connectionString: server.service.config.databaseUrl });
      await other.connect();
      await observer.connect();
      try {
        await other.query("begin");
        await other.query(
          "insert into provisioning_request (key, operation, request_hash, result, created_at) values ($1, 'SUSPEND_ACCOUNT', $2, $3, now())",
          [key, hash, JSON.stringify(winnersAnswer)],
        );
        const answer = call("POST", `/accounts/${account.accountId}/suspension`, undefined, { key });
        const deadline = Date.now() + 10_000;
        const waiting = async () =>
          Number(
            (await observer.query("select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'"))
              .rows[0].n,
          );
        while ((await waiting()) === 0) {
          if (Date.now() > deadline) throw new Error("the call never waited for the key");
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await other.query(ending);
        const result = await answer;
        const row = await server.em().findOneOrFail(Account, account.accountId);
        if (ending === "commit") {
          // The winner's answer, and nothing of the loser's change.
          expect([result.status, result.headers.get("idempotent-replayed"), result.body.data]).toEqual([200, "true", winnersAnswer]);
          expect([row.suspendedAt, row.accessVersion]).toEqual([null, 0]);
        } else {
          expect([result.status, result.headers.get("idempotent-replayed")]).toEqual([200, null]);
          expect(row.suspendedAt?.toISOString()).toBe(result.body.data.suspendedAt);
          expect(row.accessVersion).toBe(1);
        }
      } finally {
        await other.end();
        await observer.end();
      }
    },
  );

  it("issues a new Owner invitation that replaces the unused one, and refuses once the Owner has a password", async () => {
    const account = await newAccount();
    const key = newKey();
    const answer = await call("POST", `/accounts/${account.accountId}/owner-invitations`, undefined, { key });
    expect(answer.status).toBe(201);
    expect(answer.body.data).toMatchObject({ accountId: account.accountId, ownerUserId: account.ownerUserId, ownerEmail: account.email });
    const token = answer.body.data.ownerInvitation.token as string;
    expect(token).not.toBe(account.ownerInvitation.token);
    const invitations = await server.em().find(Invitation, { user: account.ownerUserId });
    expect(invitations.map((invitation) => invitation.tokenHash)).toEqual([hasher().hash(token)]);

    const replay = await call("POST", `/accounts/${account.accountId}/owner-invitations`, undefined, { key });
    expect([replay.status, replay.body.data.ownerInvitation]).toEqual([200, null]);
    expect(await server.em().count(Invitation, { user: account.ownerUserId })).toBe(1);
    const entries = await audits(account.accountId, "INVITE_OWNER");
    expect(entries.map((entry) => [entry.outcome, entry.targetUserId])).toEqual([
      ["SUCCESS", account.ownerUserId],
      ["SUCCESS", account.ownerUserId],
    ]);

    await server.em().nativeUpdate(User, { id: account.ownerUserId }, { passwordHash: "$argon2id$set-by-the-owner" });
    const refused = await call("POST", `/accounts/${account.accountId}/owner-invitations`);
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0].detail).toMatch(/already set a password/);
    expect(await server.em().count(Invitation, { user: account.ownerUserId })).toBe(1);
  });

  it("suspends (setting suspendedAt and moving the access version) and resumes, each once per state", async () => {
    const account = await newAccount();
    const em = () => server.em();
    const key = newKey();
    const suspended = await call("POST", `/accounts/${account.accountId}/suspension`, undefined, { key });
    expect(suspended.status).toBe(200);
    expect(suspended.body.data).toEqual({ accountId: account.accountId, suspendedAt: expect.any(String) });
    let row = await em().findOneOrFail(Account, account.accountId);
    expect(row.suspendedAt?.toISOString()).toBe(suspended.body.data.suspendedAt);
    expect(row.accessVersion).toBe(1);

    const replay = await call("POST", `/accounts/${account.accountId}/suspension`, undefined, { key });
    expect([replay.status, replay.headers.get("idempotent-replayed"), replay.body.data]).toEqual([200, "true", suspended.body.data]);
    const again = await call("POST", `/accounts/${account.accountId}/suspension`);
    expect([again.status, again.body.data]).toEqual([200, suspended.body.data]);
    expect((await em().findOneOrFail(Account, account.accountId)).accessVersion).toBe(1);

    const resumed = await call("DELETE", `/accounts/${account.accountId}/suspension`);
    expect([resumed.status, resumed.body.data]).toEqual([200, { accountId: account.accountId, suspendedAt: null }]);
    row = await em().findOneOrFail(Account, account.accountId);
    expect([row.suspendedAt, row.accessVersion]).toEqual([null, 2]);

    const entries = await audits(account.accountId);
    expect(entries.map((entry) => [entry.action, entry.outcome, entry.actorId])).toEqual([
      ["CREATE_ACCOUNT", "SUCCESS", null],
      ["SUSPEND_ACCOUNT", "SUCCESS", null],
      ["SUSPEND_ACCOUNT", "SUCCESS", null],
      ["SUSPEND_ACCOUNT", "SUCCESS", null],
      ["RESUME_ACCOUNT", "SUCCESS", null],
    ]);
    expect(entries.map((entry) => entry.detail)).toEqual([
      expect.any(String),
      expect.stringMatching(/suspended the account$/),
      expect.stringMatching(/replayed/),
      expect.stringMatching(/already suspended/),
      expect.stringMatching(/resumed the account$/),
    ]);
  });

  it.each([
    ["POST", "/accounts", { name: "", ownerEmail: "a@b.example" }, 400, { pointer: "/name" }],
    ["POST", "/accounts", { name: "Acme", ownerEmail: "nope" }, 400, { pointer: "/ownerEmail" }],
    ["POST", "/accounts", { name: "Acme", ownerEmail: "a@b.example", isOwner: true }, 400, { pointer: "/isOwner" }],
    ["POST", "/accounts", [1, 2], 400, undefined],
    ["POST", "/accounts/not-an-id/suspension", undefined, 400, { parameter: "accountId" }],
    ["POST", "/accounts/0b6f7c1e-3f7c-4c57-9d0e-5a4b0f1f2a3b/suspension", undefined, 404, undefined],
    ["POST", "/accounts/0b6f7c1e-3f7c-4c57-9d0e-5a4b0f1f2a3b/suspension", { accountId: "x" }, 400, { parameter: "accountId" }],
    ["DELETE", "/accounts/0b6f7c1e-3f7c-4c57-9d0e-5a4b0f1f2a3b/suspension", undefined, 404, undefined],
    ["POST", "/accounts/0b6f7c1e-3f7c-4c57-9d0e-5a4b0f1f2a3b/owner-invitations", undefined, 404, undefined],
    ["GET", "/accounts", undefined, 404, undefined],
    ["POST", "/nothing-here", undefined, 404, undefined],
  ] as const)("%s %s %j answers %i", async (method, path, body, status, source) => {
    const answer = await call(method, path, body);
    expect(answer.status).toBe(status);
    expect(answer.body.errors).toHaveLength(1);
    expect(answer.body.errors[0]).toMatchObject({ status: String(status) });
    if (source) expect(answer.body.errors[0].source).toEqual(source);
    expect(answer.text).not.toMatch(/at .*\(|node_modules|\.ts:/);
  });

  it("needs a well-formed Idempotency-Key on every call", async () => {
    const missing = await call("POST", "/accounts", { name: "No Key", ownerEmail: "k@merchant.example" }, { key: null });
    expect([missing.status, missing.body.errors[0].source]).toEqual([400, { header: "Idempotency-Key" }]);
    const malformed = await call("POST", "/accounts", { name: "No Key", ownerEmail: "k@merchant.example" }, { key: "has space" });
    expect([malformed.status, malformed.body.errors[0].source]).toEqual([400, { header: "Idempotency-Key" }]);
    const tooLong = await call("POST", "/accounts", { name: "No Key", ownerEmail: "k@merchant.example" }, { key: "k".repeat(129) });
    expect(tooLong.status).toBe(400);
    expect(await accountsNamed("No Key")).toBe(0);
  });
});

describe("wallets", () => {
  let account: Awaited<ReturnType<typeof newAccount>>;
  let walletId: string;
  const ownerWallets = async () => {
    const result = await execute<WalletsData, unknown>(server.url, WALLETS, {}, { token: await server.token(account.email) });
    expect(result.errors).toBeUndefined();
    return result.data!.wallets.edges.map((edge) => edge.node);
  };

  beforeAll(async () => {
    account = await newAccount();
    walletId = `pw-${randomBytes(4).toString("hex")}`;
  });

  it("creates a wallet that its account's Owner sees through GraphQL", async () => {
    const key = newKey();
    const request = { accountId: account.accountId, walletId, label: "BTC treasury", currency: BTC, balances: { confirmed: "1.5" } };
    const created = await call("POST", "/wallets", request, { key });
    expect(created.status).toBe(201);
    expect(created.body.data).toEqual({
      walletId,
      accountId: account.accountId,
      label: "BTC treasury",
      status: "ACTIVE",
      type: "MERCHANT",
      currency: BTC,
      balances: { confirmed: "1.5", pending: "0", unusable: "0" },
      createdAt: expect.any(String),
    });
    expect(await ownerWallets()).toEqual([
      {
        id: walletId,
        label: "BTC treasury",
        status: "ACTIVE",
        type: "MERCHANT",
        currency: { alpha: "BTC", exp: 8 },
        balanceConfirmed: "1.5",
        balancePending: "0",
        balanceUnusable: "0",
      },
    ]);
    const replay = await call("POST", "/wallets", request, { key });
    expect([replay.status, replay.body.data]).toEqual([200, created.body.data]);
    const [entry] = await audits(account.accountId, "CREATE_WALLET");
    expect(entry).toMatchObject({ outcome: "SUCCESS", actorId: null, walletId });
  });

  it("refuses a wallet id already taken (409), an unknown account (404) and a balance finer than the currency (400)", async () => {
    const taken = await call("POST", "/wallets", { accountId: account.accountId, walletId, label: "Again", currency: BTC });
    expect([taken.status, taken.body.errors[0].source]).toEqual([409, { pointer: "/walletId" }]);
    const other = await call("POST", "/wallets", { accountId: account.accountId, walletId: "10001", label: "Demo's", currency: BTC });
    expect(other.status).toBe(409);
    const unknown = await call("POST", "/wallets", {
      accountId: "0b6f7c1e-3f7c-4c57-9d0e-5a4b0f1f2a3b",
      walletId: "pw-unknown-account",
      label: "Nowhere",
      currency: BTC,
    });
    expect(unknown.status).toBe(404);
    const fine = await call("POST", "/wallets", {
      accountId: account.accountId,
      walletId: "pw-too-fine",
      label: "Too fine",
      currency: BTC,
      balances: { confirmed: "0.000000001" },
    });
    expect([fine.status, fine.body.errors[0].source]).toEqual([400, { pointer: "/balances/confirmed" }]);
    expect(await server.em().count(Wallet, { id: { $in: ["pw-unknown-account", "pw-too-fine"] } })).toBe(0);
    expect((await server.em().findOneOrFail(Wallet, "10001")).label).toBe("ETH main");
    const refusals = (await audits(account.accountId, "CREATE_WALLET")).filter((entry) => entry.outcome !== "SUCCESS");
    expect(refusals.map((entry) => [entry.outcome, entry.walletId])).toEqual([
      ["BAD_USER_INPUT", walletId],
      ["BAD_USER_INPUT", null],
      ["BAD_USER_INPUT", null],
    ]);
  });

  it("updates the label and status", async () => {
    const updated = await call("PATCH", `/wallets/${walletId}`, { label: "BTC reserve", status: "NOT_ACTIVE" });
    expect(updated.status).toBe(200);
    expect(updated.body.data).toMatchObject({ walletId, label: "BTC reserve", status: "NOT_ACTIVE" });
    expect(await ownerWallets()).toEqual([expect.objectContaining({ label: "BTC reserve", status: "NOT_ACTIVE" })]);
    const [entry] = await audits(account.accountId, "UPDATE_WALLET");
    expect(entry!.detail).toMatch(/changed label, status ACTIVE -> NOT_ACTIVE/);
    const nothing = await call("PATCH", `/wallets/${walletId}`, {});
    expect(nothing.status).toBe(400);
    const unknown = await call("PATCH", "/wallets/pw-none", { label: "x" });
    expect(unknown.status).toBe(404);
  });

  it("sets balances as exact decimals, at most the currency's decimals, pending alone may be negative", async () => {
    const key = newKey();
    const set = await call("PUT", `/wallets/${walletId}/balances`, { confirmed: "0.84213977", pending: "-0.015" }, { key });
    expect(set.status).toBe(200);
    expect(set.body.data.balances).toEqual({ confirmed: "0.84213977", pending: "-0.015", unusable: "0" });
    expect(await ownerWallets()).toEqual([
      expect.objectContaining({ balanceConfirmed: "0.84213977", balancePending: "-0.015", balanceUnusable: "0" }),
    ]);
    const replay = await call("PUT", `/wallets/${walletId}/balances`, { pending: "-0.015", confirmed: "0.84213977" }, { key });
    expect([replay.status, replay.headers.get("idempotent-replayed")]).toEqual([200, "true"]);

    for (const [balances, pointer] of [
      [{ confirmed: "0.842139771" }, "/confirmed"],
      [{ unusable: "-1" }, "/unusable"],
      [{ confirmed: 0.5 }, "/confirmed"],
      [{ confirmed: "1e3" }, "/confirmed"],
      [{ available: "1" }, "/available"],
      [{}, ""],
    ] as const) {
      const refused = await call("PUT", `/wallets/${walletId}/balances`, balances);
      expect([refused.status, refused.body.errors[0].source], JSON.stringify(balances)).toEqual([400, { pointer }]);
    }
    const wallet = await server.em().findOneOrFail(Wallet, walletId);
    expect([wallet.balanceConfirmed, wallet.balancePending, wallet.balanceUnusable]).toEqual(["0.84213977", "-0.015", "0"]);
    const entries = await audits(account.accountId, "SET_WALLET_BALANCE");
    expect(entries.map((entry) => [entry.outcome, entry.walletId])).toEqual([
      ["SUCCESS", walletId],
      ["SUCCESS", walletId],
      ...Array.from({ length: 6 }, () => ["BAD_USER_INPUT", walletId]),
    ]);
    expect(entries[0]!.detail).toMatch(/set confirmed 0\.84213977, pending -0\.015$/);
  });
});

describe("the edge: bounded before authentication, then only the provisioning token", () => {
  it("refuses a body over 16 KiB (413) and another content type (415), with or without the token", async () => {
    const big = JSON.stringify({ name: "x".repeat(17 * 1024), ownerEmail: "big@merchant.example" });
    for (const token of [TOKEN, null]) {
      expect((await call("POST", "/accounts", undefined, { raw: big, token })).status).toBe(413);
      const text = await call("POST", "/accounts", undefined, { raw: "name=x", token, headers: { "content-type": "text/plain" } });
      expect(text.status).toBe(415);
    }
    const gzip = await call("POST", "/accounts", undefined, { raw: "{}", headers: { "content-encoding": "gzip" } });
    expect(gzip.status).toBe(415);
    const malformed = await call("POST", "/accounts", undefined, { raw: '{"name": ' });
    expect(malformed.status).toBe(400);
    expect(malformed.text).toContain("Malformed JSON body");
    expect(malformed.text).not.toMatch(/at .*\(|node_modules/);
  });

  it("answers 401 to no token, a user's token and a wrong one, then 429 for the address until the minute ends", async () => {
    // Start at the beginning of a rate-limit window, so that the count below is the whole window's.
    server.clock.advance(60_000 - (server.clock.now() % 60_000));
    const userToken = await server.token("owner@example.com");
    const refusals = [
      { token: null },
      { token: userToken },
      { token: `${TOKEN}x` },
      { token: TOKEN.slice(0, -1) },
      { token: "" },
      { token: null, headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString("base64")}` } },
    ];
    for (let attempt = 0; attempt < PROVISIONING_AUTH_FAILURES_PER_MINUTE; attempt++) {
      const refusal = refusals[attempt % refusals.length]!;
      const answer = await call("POST", "/accounts", { name: "Intruder", ownerEmail: "i@merchant.example" }, refusal);
      expect(answer.status, JSON.stringify(refusal)).toBe(401);
      expect(answer.headers.get("www-authenticate")).toBe("Bearer");
    }
    const limited = await call("POST", "/accounts", { name: "Intruder", ownerEmail: "i@merchant.example" });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await accountsNamed("Intruder")).toBe(0);

    server.clock.advance(60_000);
    const after = await call("POST", "/accounts", { name: "Welcome", ownerEmail: "w@merchant.example" });
    expect(after.status).toBe(201);
  });

  it("counts its requests in the metrics under one route", async () => {
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^http_requests_total\{route="\/provisioning\/v1",status="201"\} [1-9]/m);
    expect(metrics).toMatch(/^http_requests_total\{route="\/provisioning\/v1",status="401"\} [1-9]/m);
  });
});

describe("without PROVISIONING_TOKEN", () => {
  it("does not serve the endpoints (404), whatever the token", async () => {
    const plain = await startTestServer({}, { testAccounts: false });
    try {
      for (const authorization of [undefined, `Bearer ${TOKEN}`]) {
        const response = await fetch(`${plain.url}/provisioning/v1/accounts`, {
          method: "POST",
          headers: { "content-type": "application/json", "idempotency-key": newKey(), ...(authorization ? { authorization } : {}) },
          body: JSON.stringify({ name: "Nobody", ownerEmail: "n@merchant.example" }),
        });
        expect(response.status).toBe(404);
      }
      expect(await plain.em().count(Account, { name: "Nobody" })).toBe(0);
    } finally {
      await plain.close();
    }
  });
});
