import type { EntityManager } from "@mikro-orm/core";
import type { Viewer } from "../access/viewer.js";
import { AuditAction, AuditOutcome, outcomeOf, recordAudit } from "../audit/audit.service.js";
import { confirmStepUp, type Confirmation } from "../confirmation/step-up.js";
import { badInput, forbidden } from "../domain-error.js";
import type { Runtime } from "../runtime.js";

/** Who asks, from where, with which database session. */
export interface OperationContext {
  em: EntityManager;
  runtime: Runtime;
  viewer: Viewer;
  clientAddress: string;
}

/**
 * The common path of every sensitive Owner operation: only the Owner; input checked before a one-time code is
 * spent on it; password + code confirmed; then the change; and an audit entry for every outcome, refusals,
 * failed confirmations and locks included.
 */
export async function securedOperation<Prepared, Result>(
  context: OperationContext,
  action: AuditAction,
  confirmation: Confirmation | null | undefined,
  prepare: () => Prepared | Promise<Prepared>,
  run: (prepared: Prepared) => Promise<{ result: Result; detail?: string }>,
): Promise<Result> {
  const { em, runtime, viewer, clientAddress } = context;
  const audit = (outcome: AuditOutcome, detail?: string) =>
    recordAudit(em, runtime.logger, {
      accountId: viewer.accountId,
      actorId: viewer.userId,
      action,
      outcome,
      clientAddress,
      detail,
    });
  try {
    if (!viewer.isOwner) throw forbidden("Only the account Owner can manage API access and secrets");
    const prepared = await prepare();
    if (!confirmation || typeof confirmation !== "object") throw badInput("confirmation is required", "confirmation");
    await confirmStepUp(em, runtime.stepUp, viewer.userId, confirmation);
    const { result, detail } = await run(prepared);
    await audit(AuditOutcome.SUCCESS, detail);
    return result;
  } catch (error) {
    await audit(outcomeOf(error), error instanceof Error && outcomeOf(error) !== AuditOutcome.ERROR ? error.message : undefined);
    throw error;
  }
}
