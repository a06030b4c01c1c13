import type { EntityManager } from "@mikro-orm/core";
import type { SqlEntityManager } from "@mikro-orm/knex";
import { PostgreSqlPlatform } from "@mikro-orm/postgresql";
import { User } from "../access/user.entity.js";
import type { WalletRole } from "../access/roles.js";
import type { Viewer } from "../access/viewer.js";
import { StepUpError } from "../confirmation/step-up.js";
import { DomainError, forbidden } from "../domain-error.js";
import type { Logger } from "../logger.js";
import { parsePageArgs, toPage, type Page, type PageArgs } from "../pagination.js";
import { entryHash, type ChainedContent } from "./audit-chain.js";
import { AuditEntry } from "./audit-entry.entity.js";

/** What was attempted. */
export enum AuditAction {
  SET_API_USER_ACTIVE = "SET_API_USER_ACTIVE",
  SET_API_IP_WHITELIST = "SET_API_IP_WHITELIST",
  REGENERATE_API_CREDENTIALS = "REGENERATE_API_CREDENTIALS",
  REGENERATE_CALLBACK_SECRET = "REGENERATE_CALLBACK_SECRET",
  ISSUE_API_TOKEN = "ISSUE_API_TOKEN",
  GRANT_WALLET_ACCESS = "GRANT_WALLET_ACCESS",
  CHANGE_WALLET_ROLE = "CHANGE_WALLET_ROLE",
  REVOKE_WALLET_ACCESS = "REVOKE_WALLET_ACCESS",
  /** Provisioning, by the platform's back office or its operator (no actor). */
  CREATE_ACCOUNT = "CREATE_ACCOUNT",
  SUSPEND_ACCOUNT = "SUSPEND_ACCOUNT",
  RESUME_ACCOUNT = "RESUME_ACCOUNT",
  INVITE_OWNER = "INVITE_OWNER",
  CREATE_WALLET = "CREATE_WALLET",
  UPDATE_WALLET = "UPDATE_WALLET",
  SET_WALLET_BALANCE = "SET_WALLET_BALANCE",
  /** Enrolment, by the user (or, for resets, the Owner). */
  ACCEPT_INVITATION = "ACCEPT_INVITATION",
  ENROL_AUTHENTICATOR = "ENROL_AUTHENTICATOR",
  CHANGE_PASSWORD = "CHANGE_PASSWORD",
  RESET_PASSWORD = "RESET_PASSWORD",
  RESET_AUTHENTICATOR = "RESET_AUTHENTICATOR",
}

/** How it ended. */
export enum AuditOutcome {
  SUCCESS = "SUCCESS",
  FORBIDDEN = "FORBIDDEN",
  BAD_USER_INPUT = "BAD_USER_INPUT",
  NOT_FOUND = "NOT_FOUND",
  CONFIRMATION_FAILED = "CONFIRMATION_FAILED",
  RATE_LIMITED = "RATE_LIMITED",
  /** The failed confirmation that locked confirmations for the lock period. */
  LOCKED = "LOCKED",
  INVALID_CREDENTIALS = "INVALID_CREDENTIALS",
  IP_NOT_ALLOWED = "IP_NOT_ALLOWED",
  ENROLMENT_REQUIRED = "ENROLMENT_REQUIRED",
  ACCOUNT_SUSPENDED = "ACCOUNT_SUSPENDED",
  ERROR = "ERROR",
}

/**
 * What an entry is about, beyond its actor, in columns of their own so that the log can be read without parsing
 * `detail`. Wallet access changes fill them in; other operations leave them empty.
 */
export interface AuditSubject {
  /** A user of the entry's account. */
  targetUserId?: string | null;
  /** A wallet of the entry's account. */
  walletId?: string | null;
  /** The role held before the operation. */
  previousRole?: WalletRole | null;
  /** The role asked for. */
  role?: WalletRole | null;
}

export interface AuditRecord extends AuditSubject {
  accountId: string;
  actorId: string | null;
  action: AuditAction;
  outcome: AuditOutcome;
  clientAddress: string;
  detail?: string | null;
}

/** The outcome an error stands for. */
export function outcomeOf(error: unknown): AuditOutcome {
  if (error instanceof StepUpError) {
    if (error.failure === "LOCKING") return AuditOutcome.LOCKED;
    return error.failure === "CONFIRMATION_FAILED" ? AuditOutcome.CONFIRMATION_FAILED : AuditOutcome.RATE_LIMITED;
  }
  if (error instanceof DomainError && error.code in AuditOutcome) return error.code as AuditOutcome;
  return AuditOutcome.ERROR;
}

/** The key of the transaction-level lock that serialises writers of the chain on PostgreSQL. */
const AUDIT_CHAIN_LOCK = 0x61756474;

/**
 * Writes one audit entry in the transaction `tx` belongs to: the entry commits with that transaction's change or
 * not at all. A failure to write is thrown, so the transaction rolls back.
 *
 * The entry keeps the e-mails of its actor and target user as they are when it is written, and is chained to the
 * entry before it. One chain runs over all entries, so its writers take turns: on PostgreSQL under a lock held
 * until the transaction ends; on SQLite the one connection is already theirs alone for the transaction.
 */
export async function writeAuditEntry(tx: EntityManager, record: AuditRecord): Promise<void> {
  if (tx.getPlatform() instanceof PostgreSqlPlatform) {
    await (tx as SqlEntityManager).execute("select pg_advisory_xact_lock(?)", [AUDIT_CHAIN_LOCK]);
  }
  const userIds = [record.actorId, record.targetUserId].filter((id): id is string => typeof id === "string");
  const users = userIds.length === 0 ? [] : await tx.find(User, { id: { $in: userIds } }, { fields: ["id", "email"] });
  const emailOf = (id: string | null | undefined) => (id ? (users.find((user) => user.id === id)?.email ?? null) : null);
  const [last] = await tx.find(AuditEntry, {}, { orderBy: { id: "desc" }, limit: 1, fields: ["id", "hash"] });
  const content: ChainedContent = {
    previousHash: last?.hash ?? null,
    accountId: record.accountId,
    actorId: record.actorId,
    actorEmail: emailOf(record.actorId),
    action: record.action,
    outcome: record.outcome,
    clientAddress: record.clientAddress.slice(0, 64),
    detail: record.detail?.slice(0, 500) ?? null,
    targetUserId: record.targetUserId ?? null,
    targetUserEmail: emailOf(record.targetUserId),
    walletId: record.walletId ?? null,
    previousRole: record.previousRole ?? null,
    role: record.role ?? null,
    createdAt: new Date(),
  };
  tx.create(AuditEntry, { ...content, previousRole: record.previousRole ?? null, role: record.role ?? null, hash: entryHash(content) });
  await tx.flush();
}

/**
 * Writes one audit entry in a transaction of its own, so that it stays even when the operation it describes was
 * refused or rolled back. A failure to write is logged, never hidden; the caller's own outcome stands.
 */
export async function recordAudit(em: EntityManager, logger: Pick<Logger, "error">, record: AuditRecord): Promise<void> {
  try {
    await em.fork().transactional((tx) => writeAuditEntry(tx, record));
  } catch (error) {
    logger.error({ err: error, action: record.action, outcome: record.outcome }, "could not write an audit entry");
  }
}

/** The account's audit log, newest first. Owner only. */
export async function auditLog(em: EntityManager, viewer: Viewer, args: PageArgs): Promise<Page<AuditEntry>> {
  if (!viewer.isOwner) throw forbidden("Only the account Owner can read the audit log");
  const request = parsePageArgs(args);
  let before: number | null = null;
  if (request.afterKey !== null) {
    before = Number(request.afterKey);
    if (!Number.isSafeInteger(before)) before = 0;
  }
  const rows = await em.find(
    AuditEntry,
    { accountId: viewer.accountId, ...(before === null ? {} : { id: { $lt: before } }) },
    { orderBy: { id: "desc" }, limit: request.limit + 1 },
  );
  return toPage(rows, request, (entry) => String(entry.id));
}
