import type { AuditAction } from "../audit/audit.service.js";
import type { AuditedCommit } from "../audit/audited-operation.js";
import { confirmedOperation, type ConfirmedContext } from "../confirmation/confirmed-operation.js";
import type { Confirmation, StepUpDependencies } from "../confirmation/step-up.js";
import { forbidden } from "../domain-error.js";
import type { SecretHasher } from "./keys.js";

/** What the credential operations need besides the request. */
export interface CredentialsDependencies {
  /** Confirming with password and one-time code (its box and clock serve the secrets too). */
  stepUp: StepUpDependencies;
  secretHasher: SecretHasher;
  /** Where a regeneration drops the cached verifying secrets. */
  callbackSecrets: { invalidate(accountId: string): void };
}

/** An operation context with what confirming a step-up needs. */
export type SecuredContext = ConfirmedContext;

/**
 * The common path of every sensitive Owner operation: only the Owner; input checked before a one-time code is
 * spent on it; password + code confirmed; then the change; and an audit entry for every outcome, refusals,
 * failed confirmations and locks included (see `confirmedOperation`).
 */
export function securedOperation<Prepared, Result>(
  context: SecuredContext,
  action: AuditAction,
  confirmation: Confirmation | null | undefined,
  prepare: () => Prepared | Promise<Prepared>,
  run: (prepared: Prepared, commit: AuditedCommit) => Promise<{ result: Result; detail?: string }>,
): Promise<Result> {
  return confirmedOperation(
    context,
    action,
    confirmation,
    () => {
      if (!context.viewer.isOwner) throw forbidden("Only the account Owner can manage API access and secrets");
      return prepare();
    },
    run,
  );
}
