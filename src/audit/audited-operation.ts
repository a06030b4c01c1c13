import type { EntityManager } from "@mikro-orm/core";
import type { Viewer } from "../access/viewer.js";
import type { Logger } from "../logger.js";
import { AuditOutcome, outcomeOf, recordAudit, type AuditAction, type AuditSubject } from "./audit.service.js";

/** Who asks, from where, with which database session: what an operation needs to act and to be audited. */
export interface OperationContext {
  em: EntityManager;
  viewer: Viewer;
  clientAddress: string;
  /** Where a failed audit write is reported. */
  logger: Pick<Logger, "error">;
}

/**
 * Runs an operation and writes one audit entry however it ends: SUCCESS with the detail the operation returns,
 * or the outcome its error stands for (see `outcomeOf`) with the error's message, except for internal errors,
 * whose message stays in the log. The entry is written in its own unit of work, so refusals and rolled-back
 * changes are kept; the error is rethrown as it was.
 *
 * The operation fills in `subject` as it establishes what it acts on (a user or wallet once found in the
 * account, a role once known), so that a refusal records exactly what was known when it stopped, and never an
 * id taken unchecked from the caller.
 */
export async function auditedOperation<Result>(
  context: OperationContext,
  action: AuditAction,
  run: (subject: AuditSubject) => Promise<{ result: Result; detail?: string }>,
): Promise<Result> {
  const { em, logger, viewer, clientAddress } = context;
  const subject: AuditSubject = {};
  const audit = (outcome: AuditOutcome, detail?: string) =>
    recordAudit(em, logger, {
      ...subject,
      accountId: viewer.accountId,
      actorId: viewer.userId,
      action,
      outcome,
      clientAddress,
      detail,
    });
  try {
    const { result, detail } = await run(subject);
    await audit(AuditOutcome.SUCCESS, detail);
    return result;
  } catch (error) {
    const outcome = outcomeOf(error);
    await audit(outcome, error instanceof Error && outcome !== AuditOutcome.ERROR ? error.message : undefined);
    throw error;
  }
}
