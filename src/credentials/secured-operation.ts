import type { AuditAction } from "../audit/audit.service.js";
import { auditedOperation, type OperationContext } from "../audit/audited-operation.js";
import { confirmStepUp, type Confirmation } from "../confirmation/step-up.js";
import { badInput, forbidden } from "../domain-error.js";

/**
 * The common path of every sensitive Owner operation: only the Owner; input checked before a one-time code is
 * spent on it; password + code confirmed; then the change; and an audit entry for every outcome, refusals,
 * failed confirmations and locks included.
 */
export function securedOperation<Prepared, Result>(
  context: OperationContext,
  action: AuditAction,
  confirmation: Confirmation | null | undefined,
  prepare: () => Prepared | Promise<Prepared>,
  run: (prepared: Prepared) => Promise<{ result: Result; detail?: string }>,
): Promise<Result> {
  const { em, runtime, viewer } = context;
  return auditedOperation(context, action, async () => {
    if (!viewer.isOwner) throw forbidden("Only the account Owner can manage API access and secrets");
    const prepared = await prepare();
    if (!confirmation || typeof confirmation !== "object") throw badInput("confirmation is required", "confirmation");
    await confirmStepUp(em, runtime.stepUp, viewer.userId, confirmation);
    return run(prepared);
  });
}
