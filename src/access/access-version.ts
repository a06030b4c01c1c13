import type { EntityManager } from "@mikro-orm/core";
import type { SqlEntityManager } from "@mikro-orm/knex";

/**
 * Marks that who may see what in an account changed, so that open subscriptions of that account are checked again
 * (on every instance). Call it in the transaction of the change.
 */
export async function bumpAccessVersion(em: EntityManager, accountId: string): Promise<void> {
  await (em as SqlEntityManager).execute("update account set access_version = access_version + 1 where id = ?", [accountId]);
}

/** The access versions of the given accounts, in one query (read for every socket, so read as rows). */
export async function accessVersions(em: EntityManager, accountIds: readonly string[]): Promise<Map<string, number>> {
  if (accountIds.length === 0) return new Map();
  const rows = await (em as SqlEntityManager).execute<{ id: string; access_version: number | string }[]>(
    `select id, access_version from account where id in (${accountIds.map(() => "?").join(", ")})`,
    [...accountIds],
  );
  return new Map(rows.map((row) => [row.id, Number(row.access_version)]));
}
