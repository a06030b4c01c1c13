import type { EntityManager } from "@mikro-orm/core";
import type { SqlEntityManager } from "@mikro-orm/knex";
import { Account } from "./account.entity.js";

/**
 * Marks that who may see what in an account changed, so that open subscriptions of that account are checked again
 * (on every instance). Call it in the transaction of the change.
 */
export async function bumpAccessVersion(em: EntityManager, accountId: string): Promise<void> {
  await (em as SqlEntityManager).execute("update account set access_version = access_version + 1 where id = ?", [accountId]);
}

/** The access versions of the given accounts, in one query. */
export async function accessVersions(em: EntityManager, accountIds: readonly string[]): Promise<Map<string, number>> {
  if (accountIds.length === 0) return new Map();
  const accounts = await em.find(Account, { id: { $in: [...accountIds] } }, { fields: ["id", "accessVersion"] });
  return new Map(accounts.map((account) => [account.id, account.accessVersion]));
}
