import type { AuditAction } from "../audit/audit.service.js";
import { auditedOperation, type OperationContext } from "../audit/audited-operation.js";
import { confirmStepUp, type Confirmation, type StepUpDependencies } from "../confirmation/step-up.js";
import { badInput, forbidden } from "../domain-error.js";
import type { SecretHasher } from "./keys.js";

/**
 * The common path of every sensitive Owner operation: only the Owner; input checked before a one-time code is
 * spent on it; password + code confirmed; then the change; and an audit entry for every outcome, refusals,
 * failed confirmations and locks included.
 */
/** What the credential operations need besides the request. */
export interface CredentialsDependencies {
  /** Confirming with password and one-time code (its box and clock serve the secrets too). */
  stepUp: StepUpDependencies;
  secretHasher: SecretHasher;
  /** Where a regeneration drops the cached verifying secrets. */
  callbackSecrets: { invalidate(accountId: string): void };
}

/** An operation context with what confirming a step-up needs. */
export type SecuredContext = OperationContext & { stepUp: StepUpDependencies };

export function securedOperation<Prepared, Result>(
  context: SecuredContext,
  action: AuditAction,
  confirmation: Confirmation | null | undefined,
  prepare: () => Prepared | Promise<Prepared>,
  run: (prepared: Prepared) => Promise<{ result: Result; detail?: string }>,
): Promise<Result> {
  const { em, stepUp, viewer } = context;
  return auditedOperation(context, action, async () => {
    if (!viewer.isOwner) throw forbidden("Only the account Owner can manage API access and secrets");
    const prepared = await prepare();
    if (!confirmation || typeof confirmation !== "object") throw badInput("confirmation is required", "confirmation");
    await confirmStepUp(em, stepUp, viewer.userId, confirmation);
    return run(prepared);
  });
}
