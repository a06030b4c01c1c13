import type { EntityManager } from "@mikro-orm/core";
import type { SqlEntityManager } from "@mikro-orm/knex";
import { createHash, randomUUID } from "node:crypto";
import type { ParsedCallback } from "./callback-payload.js";

/** One verified callback to store. */
export interface EventInput {
  accountId: string;
  walletId: string;
  callback: ParsedCallback;
  /** The body as received, kept for audit. */
  payload: string;
  receivedAt: Date;
}

export type WriteResult =
  | { stored: true; accountId: string; sequence: number }
  /** Already stored: a replay or a resend. `sameTransfer` is false when only the signed fields matched. */
  | { stored: false; sameTransfer: boolean };

interface Pending {
  input: EventInput;
  resolve(result: WriteResult): void;
  reject(error: unknown): void;
}

/** Most callbacks committed in one transaction. */
const MAX_BATCH = 500;

function sha256(...parts: string[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part).update("\u0000");
  return hash.digest("hex");
}

/** Idempotency keys: the signed fields (time included), and the transfer with its status. */
export function idempotencyKeys(input: Pick<EventInput, "accountId" | "callback">): { signedKey: string; transferKey: string } {
  const { accountId, callback } = input;
  const { status, amount, trackingId, time } = callback.signedFields;
  return {
    signedKey: sha256(accountId, status, amount, trackingId, time),
    transferKey: sha256(accountId, callback.kind, callback.transferId, String(callback.transferStatus)),
  };
}

const INSERT_EVENT =
  "insert into callback_event (id, account_id, sequence, wallet_id, kind, operation_id, tracking_id, transfer_id, " +
  "transfer_status, amount, commission, fee, currency, txid, signed_at, received_at, signed_key, transfer_key, payload) " +
  "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict do nothing returning sequence";

/**
 * Stores verified callbacks durably, once each, with group commit: callbacks that arrive while a commit is in
 * flight are written together in the next transaction, so one fsync serves many of them. Each caller is answered
 * only after the transaction holding its callback committed: 200 still means stored.
 *
 * Per account, the transaction locks the account's sequence counter row and numbers the new events in order, so
 * events become visible in sequence order even with several writers (instances): a reader that has seen N never
 * misses a later-committed N-1. A duplicate (same signed fields, or same transfer and status) is skipped by the
 * unique keys without aborting the rest of the batch. On PostgreSQL the notification for other instances is sent
 * in the same transaction, so it goes out exactly when the events become visible.
 */
export class EventWriter {
  private queue: Pending[] = [];
  private writing = false;

  constructor(
    private readonly em: () => EntityManager,
    private readonly notifyChannel: string | null,
  ) {}

  write(input: EventInput): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.writing) {
        this.writing = true;
        // Start on the next turn of the event loop, so that callbacks read in this turn share the commit.
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          const results = await this.writeBatch(batch.map((pending) => pending.input));
          batch.forEach((pending, index) => pending.resolve(results[index]!));
        } catch (error) {
          for (const pending of batch) pending.reject(error);
        }
      }
    } finally {
      this.writing = false;
    }
  }

  private async writeBatch(inputs: EventInput[]): Promise<WriteResult[]> {
    const em = this.em() as SqlEntityManager;
    const platform = em.getPlatform();
    const results: (WriteResult | null)[] = inputs.map(() => null);
    const accounts = [...new Set(inputs.map((input) => input.accountId))].sort();
    await em.transactional(async (tx) => {
      for (const accountId of accounts) {
        await tx.execute("insert into event_sequence (account_id, value) values (?, 0) on conflict (account_id) do nothing", [accountId]);
        // The no-op update takes the row lock that orders this account's commits.
        const [counter] = await tx.execute<{ value: number }[]>(
          "update event_sequence set value = value where account_id = ? returning value",
          [accountId],
        );
        const start = Number(counter!.value);
        let sequence = start;
        for (const [index, input] of inputs.entries()) {
          if (input.accountId !== accountId) continue;
          const { callback } = input;
          const { signedKey, transferKey } = idempotencyKeys(input);
          const inserted = await tx.execute<{ sequence: number }[]>(INSERT_EVENT, [
            randomUUID(),
            accountId,
            sequence + 1,
            input.walletId,
            callback.kind,
            callback.operationId,
            callback.trackingId,
            callback.transferId,
            callback.transferStatus,
            callback.amount,
            callback.commission,
            callback.fee,
            callback.currency,
            callback.txid,
            callback.signedFields.time,
            platform.processDateProperty(input.receivedAt),
            signedKey,
            transferKey,
            input.payload,
          ]);
          if (inserted.length > 0) {
            sequence += 1;
            results[index] = { stored: true, accountId, sequence };
          }
        }
        if (sequence > start) {
          await tx.execute("update event_sequence set value = ? where account_id = ?", [sequence, accountId]);
          if (this.notifyChannel) await tx.execute("select pg_notify(?, ?)", [this.notifyChannel, `${accountId}:${sequence}`]);
        }
      }
    });
    return Promise.all(
      inputs.map(async (input, index) => {
        const result = results[index];
        if (result) return result;
        const [existing] = await em.execute<{ found: number }[]>(
          "select 1 as found from callback_event where transfer_key = ?",
          [idempotencyKeys(input).transferKey],
        );
        return { stored: false as const, sameTransfer: existing !== undefined };
      }),
    );
  }
}
