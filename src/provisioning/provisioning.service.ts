import { UniqueConstraintViolationException, type EntityManager } from "@mikro-orm/core";
import { Account } from "../access/account.entity.js";
import { bumpAccessVersion } from "../access/access-version.js";
import { UserKind } from "../access/roles.js";
import { User } from "../access/user.entity.js";
import {
  AuditAction,
  AuditOutcome,
  outcomeOf,
  recordAudit,
  writeAuditEntry,
  type AuditRecord,
  type AuditSubject,
} from "../audit/audit.service.js";
import type { Clock } from "../clock.js";
import type { SecretHasher } from "../credentials/keys.js";
import { badInput, DomainError, notFound } from "../domain-error.js";
import { issueInvitation, type IssuedInvitation } from "../enrolment/invitations.js";
import { isWalletId } from "../input-validation.js";
import type { Logger } from "../logger.js";
import { WalletStatus, WalletType } from "../wallets/wallet-enums.js";
import { Wallet } from "../wallets/wallet.entity.js";
import {
  BALANCE_FIELDS,
  conflict,
  parseAccountRequest,
  parseCreateAccount,
  parseCreateWallet,
  parseSetWalletBalance,
  parseUpdateWallet,
  isRequestKey,
  requestHash,
  requireAccountId,
  requirePrecision,
  requireRequestKey,
  type AccountRequest,
  type BalanceName,
  type CreateAccountRequest,
  type CreateWalletRequest,
  type CurrencyInput,
  type SetWalletBalanceRequest,
  type UpdateWalletRequest,
} from "./provisioning-input.js";
import { ProvisioningRequest } from "./provisioning-request.entity.js";

/** What provisioning needs of the service. */
export interface ProvisioningDependencies {
  /** Keyed hash of invitation tokens: the service's `secretHasher`, so that the service can verify them. */
  hasher: SecretHasher;
  clock: Clock;
  /** How long an Owner invitation stays valid (`INVITATION_TTL_SECONDS`), in milliseconds. */
  invitationTtlMs: number;
  logger: Pick<Logger, "error">;
}

/** Who asks, for the request key and the audit log. */
export interface ProvisioningMeta {
  /** Binds the request: the same key with the same request is carried out once; with another, refused. */
  requestKey: string;
  via: "cli" | "api";
  /** The caller's address for the API, `cli` for the operator's commands. */
  clientAddress: string;
}

/** An operation's answer, and whether it was the stored answer of an earlier call with the same request key. */
export interface Provisioned<T> {
  result: T;
  replayed: boolean;
}

/** An account's Owner and, once, the invitation that lets them set a password. */
export interface OwnerInvitationResult {
  accountId: string;
  ownerUserId: string;
  ownerEmail: string;
  /** Shown once: null when the request key was replayed (issue a new one with `inviteOwner`). */
  ownerInvitation: IssuedInvitation | null;
  /** Why `ownerInvitation` is null, on a replay. */
  note?: string;
}

export interface AccountSuspension {
  accountId: string;
  /** ISO 8601; null when the account is not suspended. */
  suspendedAt: string | null;
}

/** A wallet as provisioning shows it: enums by name, as GraphQL shows them. */
export interface WalletView {
  walletId: string;
  accountId: string;
  label: string;
  status: keyof typeof WalletStatus;
  type: keyof typeof WalletType;
  currency: CurrencyInput;
  balances: Record<BalanceName, string>;
  createdAt: string;
}

/** The note of a replayed answer whose secret was shown the first time only. */
export const INVITATION_SHOWN_ONCE =
  "The invitation token is shown once, in the first answer to this request key; issue a new one with inviteOwner";

/** What one operation is, to the request-key and audit machinery below. */
interface Operation<Request, Result extends { accountId: string }> {
  action: AuditAction;
  parse(input: unknown): Request;
  /** Carries the request out inside the transaction that also stores the request key. */
  apply(tx: EntityManager, request: Request): Promise<Applied<Result>>;
  /** The account (and subject) a refusal is about, from the raw request, when one can be told. */
  subjectOf(em: EntityManager, input: unknown): Promise<(AuditSubject & { accountId: string }) | null>;
  /** The user or wallet an answer is about, for the audit log of it and of its replays. */
  subjectOfResult?(result: Result): AuditSubject;
  /** The answer of a replay, from the stored one. @default the stored answer */
  replay?(stored: Result): Result;
}

interface Applied<Result> {
  result: Result;
  /** What is stored for replays: the answer without any secret. */
  stored: Result;
  detail: string;
}

/** A concurrent call won the race for the same key or row, and its outcome could not be read back yet. */
const retryLater = () =>
  new DomainError("SERVICE_UNAVAILABLE", "A concurrent request is being carried out; retry with the same request key");

/**
 * Carries out one operation once per request key: the key and the SHA-256 of the normalised request are stored in
 * the transaction of the change, their primary key insert first, so that of two concurrent calls with one key
 * only one commits; the other reads the winner's stored answer (or is told to retry). The same key with the same
 * request again answers the stored answer and changes nothing; with another request, or another operation, it is
 * refused as a conflict. Every outcome is audited on the account it is about, when there is one.
 */
async function provision<Request, Result extends { accountId: string }>(
  em: EntityManager,
  deps: ProvisioningDependencies,
  meta: ProvisioningMeta,
  input: unknown,
  operation: Operation<Request, Result>,
): Promise<Provisioned<Result>> {
  // A malformed key is not copied into the log: it is the caller's text.
  const via = `via ${meta.via}, request key ${isRequestKey(meta.requestKey) ? meta.requestKey : "(malformed)"}`;
  const recordOf = (accountId: string, outcome: AuditOutcome, detail: string, subject: AuditSubject = {}): AuditRecord => ({
    accountId,
    actorId: null,
    action: operation.action,
    outcome,
    clientAddress: meta.clientAddress,
    detail: `${via}: ${detail}`,
    ...subject,
  });
  const audit = (accountId: string, outcome: AuditOutcome, detail: string, subject: AuditSubject = {}) =>
    recordAudit(em, deps.logger, recordOf(accountId, outcome, detail, subject));

  try {
    const key = requireRequestKey(meta.requestKey);
    const request = operation.parse(input);
    const hash = requestHash(operation.action, request);
    for (let attempt = 1; ; attempt++) {
      const earlier = await em.fork().findOne(ProvisioningRequest, { key });
      if (earlier) {
        if (earlier.operation !== operation.action || earlier.requestHash !== hash) {
          throw conflict(`The request key ${key} was used for another request (${earlier.operation}); use a new key`, "requestKey");
        }
        const stored = JSON.parse(earlier.result) as Result;
        await audit(stored.accountId, AuditOutcome.SUCCESS, "replayed the stored answer; nothing changed", operation.subjectOfResult?.(stored));
        return { result: operation.replay?.(stored) ?? stored, replayed: true };
      }
      try {
        const applied = await em.fork().transactional(async (tx) => {
          const record = tx.create(ProvisioningRequest, {
            key,
            operation: operation.action,
            requestHash: hash,
            result: "null",
            createdAt: new Date(deps.clock.now()),
          });
          await tx.flush();
          const outcome = await operation.apply(tx, request);
          record.result = JSON.stringify(outcome.stored);
          // The change and its SUCCESS entry commit together or not at all.
          await writeAuditEntry(
            tx,
            recordOf(outcome.result.accountId, AuditOutcome.SUCCESS, outcome.detail, operation.subjectOfResult?.(outcome.result)),
          );
          return outcome;
        });
        return { result: applied.result, replayed: false };
      } catch (error) {
        // The key (or a row the change inserts, e.g. the wallet) was committed by a concurrent call: look again,
        // to answer its stored result, or refuse what now conflicts.
        if (!(error instanceof UniqueConstraintViolationException)) throw error;
        if (attempt >= 2) throw retryLater();
      }
    }
  } catch (error) {
    if (error instanceof DomainError) {
      const subject = await operation.subjectOf(em.fork(), input).catch(() => null);
      if (subject) await audit(subject.accountId, outcomeOf(error), error.message, subject);
    }
    throw error;
  }
}

const field = (input: unknown, name: string): unknown =>
  input !== null && typeof input === "object" ? (input as Record<string, unknown>)[name] : undefined;

/** The account a raw request names, when its id is well formed and the account exists. */
async function accountSubject(em: EntityManager, input: unknown): Promise<{ accountId: string } | null> {
  let accountId: string;
  try {
    accountId = requireAccountId(field(input, "accountId"));
  } catch {
    return null;
  }
  const account = await em.findOne(Account, { id: accountId }, { fields: ["id"] });
  return account ? { accountId: account.id } : null;
}

/** The wallet a raw request names, with its account, when its id is well formed and the wallet exists. */
async function walletSubject(em: EntityManager, input: unknown): Promise<{ accountId: string; walletId: string } | null> {
  const walletId = field(input, "walletId");
  if (typeof walletId !== "string" || !isWalletId(walletId)) return null;
  const wallet = await em.findOne(Wallet, { id: walletId }, { fields: ["id", "account"] });
  return wallet ? { accountId: wallet.account.id, walletId: wallet.id } : null;
}

async function findAccount(tx: EntityManager, accountId: string): Promise<Account> {
  const account = await tx.findOne(Account, { id: accountId });
  if (!account) throw notFound(`No account ${accountId}`);
  return account;
}

async function findWallet(tx: EntityManager, walletId: string): Promise<Wallet> {
  const wallet = await tx.findOne(Wallet, { id: walletId });
  if (!wallet) throw notFound(`No wallet ${walletId}`);
  return wallet;
}

function walletView(wallet: Wallet): WalletView {
  const { iso, alpha, name, exp } = wallet.currency;
  return {
    walletId: wallet.id,
    accountId: wallet.account.id,
    label: wallet.label,
    status: WalletStatus[wallet.status] as keyof typeof WalletStatus,
    type: WalletType[wallet.type] as keyof typeof WalletType,
    currency: { iso, alpha, name, exp },
    balances: { confirmed: wallet.balanceConfirmed, pending: wallet.balancePending, unusable: wallet.balanceUnusable },
    createdAt: wallet.createdAt.toISOString(),
  };
}

const describeBalances = (balances: Partial<Record<BalanceName, string>>) =>
  Object.entries(balances)
    .map(([name, value]) => `${name} ${value}`)
    .join(", ");

function invitationDependencies(deps: ProvisioningDependencies) {
  return { hasher: deps.hasher, clock: deps.clock, ttlMs: deps.invitationTtlMs };
}

const ownerSubject = (result: OwnerInvitationResult): AuditSubject => ({ targetUserId: result.ownerUserId });
const walletOf = (view: WalletView): AuditSubject => ({ walletId: view.walletId });

const ownerReplay = (stored: OwnerInvitationResult): OwnerInvitationResult => ({
  ...stored,
  ownerInvitation: null,
  note: INVITATION_SHOWN_ONCE,
});

/**
 * Creates an account with its Owner (a person, without a password) and an invitation for the Owner to set one,
 * in one transaction. The invitation token is in this answer only.
 */
export function createAccount(
  em: EntityManager,
  deps: ProvisioningDependencies,
  request: CreateAccountRequest,
  meta: ProvisioningMeta,
): Promise<Provisioned<OwnerInvitationResult>> {
  return provision(em, deps, meta, request, {
    action: AuditAction.CREATE_ACCOUNT,
    parse: parseCreateAccount,
    subjectOf: async () => null,
    replay: ownerReplay,
    subjectOfResult: ownerSubject,
    async apply(tx, { name, ownerEmail }) {
      const now = new Date(deps.clock.now());
      const account = tx.create(Account, { name, createdAt: now });
      const owner = tx.create(User, { account, email: ownerEmail, kind: UserKind.HUMAN, isOwner: true, createdAt: now });
      await tx.flush();
      const invitation = await issueInvitation(tx, invitationDependencies(deps), owner.id);
      const result = { accountId: account.id, ownerUserId: owner.id, ownerEmail, ownerInvitation: invitation };
      return {
        result,
        stored: { ...result, ownerInvitation: null },
        detail: `created the account "${name}" with its Owner; invitation valid until ${invitation.expiresAt.toISOString()}`,
      };
    },
  });
}

/**
 * Issues a new invitation to the account's Owner (when the first one was lost or expired); earlier unused ones stop
 * working. Refused once the Owner has set a password: an invitation sets a password, and the back office must not
 * be able to take over an Owner who has one.
 */
export function inviteOwner(
  em: EntityManager,
  deps: ProvisioningDependencies,
  request: AccountRequest,
  meta: ProvisioningMeta,
): Promise<Provisioned<OwnerInvitationResult>> {
  return provision(em, deps, meta, request, {
    action: AuditAction.INVITE_OWNER,
    parse: parseAccountRequest,
    subjectOf: accountSubject,
    replay: ownerReplay,
    subjectOfResult: ownerSubject,
    async apply(tx, { accountId }) {
      await findAccount(tx, accountId);
      const owner = await tx.findOne(User, { account: accountId, isOwner: true }, { populate: ["passwordHash"] });
      if (!owner) throw notFound(`The account ${accountId} has no Owner`);
      if (owner.passwordHash !== null) throw badInput("The Owner has already set a password; an invitation is only for an Owner who has not");
      const invitation = await issueInvitation(tx, invitationDependencies(deps), owner.id);
      const result = { accountId, ownerUserId: owner.id, ownerEmail: owner.email, ownerInvitation: invitation };
      return {
        result,
        stored: { ...result, ownerInvitation: null },
        detail: `invited the Owner; invitation valid until ${invitation.expiresAt.toISOString()}`,
      };
    },
  });
}

/** Sets or clears the account's suspension, and moves its access version so that open subscriptions are checked. */
function setSuspension(
  em: EntityManager,
  deps: ProvisioningDependencies,
  request: AccountRequest,
  meta: ProvisioningMeta,
  suspend: boolean,
): Promise<Provisioned<AccountSuspension>> {
  return provision(em, deps, meta, request, {
    action: suspend ? AuditAction.SUSPEND_ACCOUNT : AuditAction.RESUME_ACCOUNT,
    parse: parseAccountRequest,
    subjectOf: accountSubject,
    async apply(tx, { accountId }) {
      const account = await findAccount(tx, accountId);
      let detail: string;
      if (suspend === (account.suspendedAt !== null)) {
        detail = suspend ? "already suspended; nothing changed" : "not suspended; nothing changed";
      } else {
        account.suspendedAt = suspend ? new Date(deps.clock.now()) : null;
        await tx.flush();
        await bumpAccessVersion(tx, accountId);
        detail = suspend ? "suspended the account" : "resumed the account";
      }
      const result = { accountId, suspendedAt: account.suspendedAt?.toISOString() ?? null };
      return { result, stored: result, detail };
    },
  });
}

/** Suspends the account: its users and API user are refused from then on (see `auth/`). */
export function suspendAccount(
  em: EntityManager,
  deps: ProvisioningDependencies,
  request: AccountRequest,
  meta: ProvisioningMeta,
): Promise<Provisioned<AccountSuspension>> {
  return setSuspension(em, deps, request, meta, true);
}

/** Ends the account's suspension. */
export function resumeAccount(
  em: EntityManager,
  deps: ProvisioningDependencies,
  request: AccountRequest,
  meta: ProvisioningMeta,
): Promise<Provisioned<AccountSuspension>> {
  return setSuspension(em, deps, request, meta, false);
}

/** Creates a wallet of an account, with the platform's wallet id; a wallet id is never reused. */
export function createWallet(
  em: EntityManager,
  deps: ProvisioningDependencies,
  request: CreateWalletRequest,
  meta: ProvisioningMeta,
): Promise<Provisioned<WalletView>> {
  return provision(em, deps, meta, request, {
    action: AuditAction.CREATE_WALLET,
    parse: parseCreateWallet,
    async subjectOf(sub, input) {
      const account = await accountSubject(sub, input);
      if (!account) return null;
      const wallet = await walletSubject(sub, input);
      return wallet?.accountId === account.accountId ? wallet : account;
    },
    subjectOfResult: walletOf,
    async apply(tx, request) {
      const account = await findAccount(tx, request.accountId);
      if (await tx.count(Wallet, { id: request.walletId })) throw conflict(`The wallet ${request.walletId} already exists`, "walletId");
      const balances = Object.fromEntries(
        Object.entries(request.balances ?? {}).map(([name, value]) => [BALANCE_FIELDS[name as BalanceName], value]),
      );
      const wallet = tx.create(Wallet, {
        id: request.walletId,
        account,
        label: request.label,
        status: WalletStatus[request.status ?? "ACTIVE"],
        type: WalletType[request.type ?? "MERCHANT"],
        currency: { ...request.currency },
        ...balances,
        createdAt: new Date(deps.clock.now()),
      });
      await tx.flush();
      const view = walletView(wallet);
      return {
        result: view,
        stored: view,
        detail: `created the wallet (${view.currency.alpha}, ${view.type}, ${view.status}; ${describeBalances(view.balances)})`,
      };
    },
  });
}

/** Changes a wallet's label, status or both; its account and currency never change. */
export function updateWallet(
  em: EntityManager,
  deps: ProvisioningDependencies,
  request: UpdateWalletRequest,
  meta: ProvisioningMeta,
): Promise<Provisioned<WalletView>> {
  return provision(em, deps, meta, request, {
    action: AuditAction.UPDATE_WALLET,
    parse: parseUpdateWallet,
    subjectOf: walletSubject,
    subjectOfResult: walletOf,
    async apply(tx, request) {
      const wallet = await findWallet(tx, request.walletId);
      const changes: string[] = [];
      if (request.label !== undefined && request.label !== wallet.label) {
        wallet.label = request.label;
        changes.push("label");
      }
      if (request.status !== undefined && WalletStatus[request.status] !== wallet.status) {
        changes.push(`status ${WalletStatus[wallet.status]} -> ${request.status}`);
        wallet.status = WalletStatus[request.status];
      }
      await tx.flush();
      const view = walletView(wallet);
      return {
        result: view,
        stored: view,
        detail: changes.length > 0 ? `changed ${changes.join(", ")}` : "nothing to change",
      };
    },
  });
}

/** Sets some or all of a wallet's balances, each with at most as many decimals as its currency carries. */
export function setWalletBalance(
  em: EntityManager,
  deps: ProvisioningDependencies,
  request: SetWalletBalanceRequest,
  meta: ProvisioningMeta,
): Promise<Provisioned<WalletView>> {
  return provision(em, deps, meta, request, {
    action: AuditAction.SET_WALLET_BALANCE,
    parse: parseSetWalletBalance,
    subjectOf: walletSubject,
    subjectOfResult: walletOf,
    async apply(tx, request) {
      const wallet = await findWallet(tx, request.walletId);
      requirePrecision(request.balances, wallet.currency.exp);
      for (const [name, value] of Object.entries(request.balances)) wallet[BALANCE_FIELDS[name as BalanceName]] = value;
      await tx.flush();
      const view = walletView(wallet);
      return { result: view, stored: view, detail: `set ${describeBalances(request.balances)}` };
    },
  });
}
