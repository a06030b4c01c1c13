import type { EntityManager } from "@mikro-orm/core";
import type { Viewer } from "../access/viewer.js";
import type { Logger } from "../logger.js";
import {
  AuditOutcome,
  outcomeOf,
  recordAudit,
  writeAuditEntry,
  type AuditAction,
  type AuditRecord,
  type AuditSubject,
} from "./audit.service.js";

/** Who asks, from where, with which database session: what an operation needs to act and to be audited. */
export interface OperationContext {
  em: EntityManager;
  viewer: Viewer;
  clientAddress: string;
  /** Where a failed audit write is reported. */
  logger: Pick<Logger, "error">;
}

/**
 * Runs the operation's change in one transaction with its SUCCESS entry, and returns what `change` returns: the
 * change and its entry commit together or not at all, so no change goes unrecorded. `detail` is the entry's
 * detail, or makes it from what the change returned. Called at most once.
 */
export type AuditedCommit = <Value>(
  change: (tx: EntityManager) => Promise<Value>,
  detail?: string | ((value: Value) => string | undefined),
) => Promise<Value>;

/**
 * Runs an operation and writes one audit entry however it ends: SUCCESS with the operation's detail, or the outcome
 * its error stands for (see `outcomeOf`) with the error's message, except for internal errors, whose message stays
 * in the log.
 *
 * An operation that changes anything makes its change through `commit`, which writes the SUCCESS entry in the
 * change's own transaction: if that entry cannot be written, the change rolls back and the caller gets the error.
 * An operation that changes nothing returns, and its SUCCESS entry is written then. Refusals and failures are
 * written afterwards in a transaction of their own (the change, if any, rolled back), so they are kept; if that
 * write fails it is logged, and the operation's error is rethrown as it was.
 *
 * The operation fills in `subject` as it establishes what it acts on (a user or wallet once found in the
 * account, a role once known), so that a refusal records exactly what was known when it stopped, and never an
 * id taken unchecked from the caller.
 */
export async function auditedOperation<Result>(
  context: OperationContext,
  action: AuditAction,
  run: (subject: AuditSubject, commit: AuditedCommit) => Promise<{ result: Result; detail?: string }>,
): Promise<Result> {
  const { em, logger, viewer, clientAddress } = context;
  const subject: AuditSubject = {};
  const recordOf = (outcome: AuditOutcome, detail?: string): AuditRecord => ({
    ...subject,
    accountId: viewer.accountId,
    actorId: viewer.userId,
    action,
    outcome,
    clientAddress,
    detail,
  });
  let committed = false;
  const commit: AuditedCommit = async (change, detail) => {
    if (committed) throw new Error(`${action}: commit is called once per operation`);
    const value = await em.transactional(async (tx) => {
      const value = await change(tx);
      await tx.flush();
      await writeAuditEntry(tx, recordOf(AuditOutcome.SUCCESS, typeof detail === "function" ? detail(value) : detail));
      return value;
    });
    committed = true;
    return value;
  };
  try {
    const { result, detail } = await run(subject, commit);
    if (!committed) await em.fork().transactional((tx) => writeAuditEntry(tx, recordOf(AuditOutcome.SUCCESS, detail)));
    return result;
  } catch (error) {
    const outcome = outcomeOf(error);
    await recordAudit(em, logger, recordOf(outcome, error instanceof Error && outcome !== AuditOutcome.ERROR ? error.message : undefined));
    throw error;
  }
}
