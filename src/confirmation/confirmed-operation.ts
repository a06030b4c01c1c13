import type { AuditAction, AuditSubject } from "../audit/audit.service.js";
import { auditedOperation, type AuditedCommit, type OperationContext } from "../audit/audited-operation.js";
import { badInput } from "../domain-error.js";
import { confirmStepUp, type Confirmation, type StepUpDependencies } from "./step-up.js";

/** An operation context with what confirming a step-up needs. */
export type ConfirmedContext = OperationContext & { stepUp: StepUpDependencies };

/**
 * The common path of every operation confirmed with the caller's own factors: `prepare` decides whether the
 * caller may act and checks the input before a one-time code is spent on it; then password + code (or a
 * recovery code) are confirmed, outside the change's transaction so that a failed confirmation counts; then the
 * change, through `commit`, in one transaction with its SUCCESS entry; and an audit entry for every outcome,
 * refusals, failed confirmations and locks included. `prepare` notes in the audit subject what it establishes
 * (the user acted on).
 */
export function confirmedOperation<Prepared, Result>(
  context: ConfirmedContext,
  action: AuditAction,
  confirmation: Confirmation | null | undefined,
  prepare: (subject: AuditSubject) => Prepared | Promise<Prepared>,
  run: (prepared: Prepared, commit: AuditedCommit) => Promise<{ result: Result; detail?: string }>,
): Promise<Result> {
  const { em, stepUp, viewer } = context;
  return auditedOperation(context, action, async (subject, commit) => {
    const prepared = await prepare(subject);
    if (!confirmation || typeof confirmation !== "object") throw badInput("confirmation is required", "confirmation");
    await confirmStepUp(em, stepUp, viewer.userId, confirmation);
    return run(prepared, commit);
  });
}
