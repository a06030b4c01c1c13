import type { EntityManager } from "@mikro-orm/core";
import { setTimeout as sleep } from "node:timers/promises";
import { totpAssociatedData } from "../confirmation/totp.js";
import { callbackSecretAssociatedData } from "./callback-secret.service.js";
import { keyIdOf, type DerivedKeys } from "./keys.js";

/** A column holding ciphertexts or hashes under a master key. */
interface KeyedColumn {
  /** What it holds, for a person. */
  name: string;
  table: string;
  /** The row's key column; rows are walked in its order. */
  idColumn: string;
  column: string;
  /** A further column the associated data needs. */
  extraColumn?: string;
  /**
   * The value under the current key; null when it already is, or when it cannot be moved (a hash without a key
   * id). Throws when it cannot be read (a key not in the keyring, an altered value).
   */
  rotate(keys: DerivedKeys, value: string, row: Row): string | null;
}

type Row = Record<string, string>;

const KEYED_COLUMNS: KeyedColumn[] = [
  {
    name: "authenticator secrets",
    table: "app_user",
    idColumn: "id",
    column: "totp_secret_encrypted",
    rotate: (keys, value, row) => keys.box.reseal(value, totpAssociatedData(row.id!)),
  },
  {
    name: "authenticator secrets being enrolled",
    table: "app_user",
    idColumn: "id",
    column: "pending_totp_secret_encrypted",
    rotate: (keys, value, row) => keys.box.reseal(value, totpAssociatedData(row.id!)),
  },
  {
    name: "callback secrets",
    table: "callback_secret",
    idColumn: "id",
    column: "sealed",
    extraColumn: "account_id",
    rotate: (keys, value, row) => keys.box.reseal(value, callbackSecretAssociatedData(row.account_id!, row.id!)),
  },
  {
    name: "API secret hashes",
    table: "api_access",
    idColumn: "account_id",
    column: "secret_hash",
    rotate: (keys, value) => keys.secretHasher.rehash(value),
  },
  {
    name: "invitation token hashes",
    table: "invitation",
    idColumn: "id",
    column: "token_hash",
    rotate: (keys, value) => keys.secretHasher.rehash(value),
  },
  {
    name: "recovery code hashes",
    table: "recovery_code",
    idColumn: "id",
    column: "code_hash",
    rotate: (keys, value) => keys.secretHasher.rehash(value),
  },
];

/** What is stored under which key, column by column: counts by master key id (`none` for the formats without). */
export interface KeyUsage {
  name: string;
  byKey: Record<string, number>;
}

/** Counts the values of every keyed column by the master key they name. */
export async function keyUsage(em: EntityManager, batchSize = 1000): Promise<KeyUsage[]> {
  const usage: KeyUsage[] = [];
  for (const column of KEYED_COLUMNS) {
    const byKey: Record<string, number> = {};
    for await (const rows of batches(em, column, batchSize)) {
      for (const row of rows) {
        const id = keyIdOf(row[column.column]!) ?? "none";
        byKey[id] = (byKey[id] ?? 0) + 1;
      }
    }
    usage.push({ name: column.name, byKey });
  }
  return usage;
}

export interface RotationResult {
  name: string;
  /** Values moved under the current key. */
  moved: number;
  /** Values found under the current key already. */
  current: number;
  /** Hashes without a key id: only their secret could re-hash them (an API secret is, at its next `/token`). */
  withoutKeyId: number;
  /** Values that could not be read: under a key not in the keyring, or altered. */
  unreadable: number;
  /** Values that changed while they were moved (a regeneration); the new value is already current. */
  changedMeanwhile: number;
}

export interface RotationOptions {
  batchSize: number;
  /** Pause between batches, so that an online rotation leaves the database to the service. */
  pauseMs: number;
  /** Told after each batch. */
  onProgress?: (result: RotationResult) => void;
}

/**
 * Moves every ciphertext and hash under the current master key, one small batch (one transaction) at a time,
 * while the service runs: a value is replaced only if it is still the one read, so a secret regenerated
 * meanwhile is never overwritten by its predecessor.
 */
export async function rotateKeys(em: EntityManager, keys: DerivedKeys, options: RotationOptions): Promise<RotationResult[]> {
  const results: RotationResult[] = [];
  for (const column of KEYED_COLUMNS) {
    const result: RotationResult = { name: column.name, moved: 0, current: 0, withoutKeyId: 0, unreadable: 0, changedMeanwhile: 0 };
    for await (const rows of batches(em, column, options.batchSize)) {
      const updates: { id: string; from: string; to: string }[] = [];
      for (const row of rows) {
        const value = row[column.column]!;
        try {
          const rotated = column.rotate(keys, value, row);
          if (rotated !== null) updates.push({ id: row[column.idColumn]!, from: value, to: rotated });
          else if (keyIdOf(value) === keys.keyring.current.id) result.current++;
          else if (keyIdOf(value) === null && !value.startsWith("v1.")) result.withoutKeyId++;
          else result.unreadable++;
        } catch {
          result.unreadable++;
        }
      }
      if (updates.length > 0) {
        await em.transactional(async (tx) => {
          for (const update of updates) {
            const changed = await tx
              .getConnection()
              .execute(
                `update ${column.table} set ${column.column} = ? where ${column.idColumn} = ? and ${column.column} = ?`,
                [update.to, update.id, update.from],
                "run",
                tx.getTransactionContext(),
              );
            if (affectedRows(changed) === 1) result.moved++;
            else result.changedMeanwhile++;
          }
        });
      }
      options.onProgress?.(result);
      if (options.pauseMs > 0) await sleep(options.pauseMs);
    }
    results.push(result);
  }
  return results;
}

function affectedRows(result: unknown): number {
  const { affectedRows, rowCount, changes } = result as { affectedRows?: number; rowCount?: number; changes?: number };
  return affectedRows ?? rowCount ?? changes ?? 0;
}

/** The non-null values of a column, in batches in key order. */
async function* batches(em: EntityManager, column: KeyedColumn, size: number): AsyncGenerator<Row[]> {
  const columns = [column.idColumn, column.column, ...(column.extraColumn ? [column.extraColumn] : [])];
  let after: string | null = null;
  for (;;) {
    const rows: Row[] = await em
      .getConnection()
      .execute(
        `select ${columns.join(", ")} from ${column.table} where ${column.column} is not null` +
          (after === null ? "" : ` and ${column.idColumn} > ?`) +
          ` order by ${column.idColumn} limit ${Number(size)}`,
        after === null ? [] : [after],
      );
    if (rows.length === 0) return;
    yield rows;
    after = rows[rows.length - 1]![column.idColumn]!;
    if (rows.length < size) return;
  }
}
