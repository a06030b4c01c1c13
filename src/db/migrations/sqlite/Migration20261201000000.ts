import { Migration } from "@mikro-orm/migrations";
import { rekeyStoredEvents } from "../event-identity.js";

/**
 * The signed message identifies a callback: new keys for the events stored (see `rekeyStoredEvents`); callbacks
 * without a transfer (nullable transfer fields); the deposit's or payout's own status and the amount cleared.
 * SQLite makes a column nullable only by rebuilding its table, so the table is rebuilt to read exactly as the
 * entity describes it.
 */
export class Migration20261201000000 extends Migration {
  override async up(): Promise<void> {
    const execute = (sql: string, params?: unknown[]) => this.execute(sql, params) as Promise<Record<string, unknown>[]>;
    await execute("alter table `callback_event` rename to `callback_event__before_identity`;");
    await execute("create table `callback_event` (`id` text not null, `account_id` text not null, `sequence` integer not null, `wallet_id` text not null, `kind` text check (`kind` in ('DEPOSIT', 'PAYOUT')) not null, `operation_id` text not null, `tracking_id` text not null, `operation_status` integer null, `transfer_id` text null, `transfer_status` integer null, `amount` text null, `amount_cleared` text null, `commission` text null, `fee` text null, `currency` text null, `txid` text null, `signed_at` text not null, `received_at` datetime not null, `signed_key` text null, `resend_key` text null, `replay_of` text null, `payload` text not null, constraint `callback_event_account_id_foreign` foreign key(`account_id`) references `account`(`id`) on delete cascade on update cascade, constraint `callback_event_wallet_id_foreign` foreign key(`wallet_id`) references `wallet`(`id`) on delete cascade on update cascade, primary key (`id`));");
    await execute(
      "insert into `callback_event` (`id`, `account_id`, `sequence`, `wallet_id`, `kind`, `operation_id`, `tracking_id`, `transfer_id`, `transfer_status`, `amount`, `commission`, `fee`, `currency`, `txid`, `signed_at`, `received_at`, `payload`) " +
        "select `id`, `account_id`, `sequence`, `wallet_id`, `kind`, `operation_id`, `tracking_id`, `transfer_id`, `transfer_status`, `amount`, `commission`, `fee`, `currency`, `txid`, `signed_at`, `received_at`, `payload` from `callback_event__before_identity`;",
    );
    await execute("drop table `callback_event__before_identity`;");
    await execute("create index `callback_event__signed_key` on `callback_event` (`signed_key`);");
    await rekeyStoredEvents(execute, async (page) => {
      for (const row of page) {
        await execute(
          "update `callback_event` set `signed_key` = ?, `resend_key` = ?, `operation_status` = ?, `amount_cleared` = ? where `id` = ?",
          [row.signedKey, row.resendKey, row.operationStatus, row.amountCleared, row.id],
        );
      }
    });
    await execute("drop index `callback_event__signed_key`;");
    await execute("create index `callback_event_wallet_index` on `callback_event` (`wallet_id`);");
    await execute("create unique index `callback_event_resend_key_unique` on `callback_event` (`resend_key`);");
    await execute("create unique index `callback_event_signed_key_unique` on `callback_event` (`signed_key`);");
    await execute("create unique index `callback_event_account_sequence_unique` on `callback_event` (`account_id`, `sequence`);");
  }
}
