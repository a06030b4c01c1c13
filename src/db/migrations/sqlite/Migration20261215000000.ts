import { Migration } from "@mikro-orm/migrations";

const EVENT_COLUMNS =
  "`id`, `account_id`, `sequence`, `wallet_id`, `kind`, `operation_id`, `tracking_id`, `operation_status`, `transfer_id`, `transfer_status`, " +
  "`amount`, `amount_cleared`, `commission`, `fee`, `currency`, `txid`, `signed_at`, `received_at`, `signed_key`, `resend_key`, `replay_of`, " +
  "`payload`, `trace_context`";

/**
 * Epochs of the event log (`event_epoch`, `event_epoch_fork`), with the database's first epoch; and events that
 * stay when their wallet or account goes: deleting either is refused while it has events, where it deleted them.
 * SQLite changes a foreign key only by rebuilding its table, so `callback_event` is rebuilt to read exactly as the
 * entity describes it, with its indexes.
 */
export class Migration20261215000000 extends Migration {
  override async up(): Promise<void> {
    const execute = (sql: string, params?: unknown[]) => this.execute(sql, params);
    await execute("alter table `callback_event` rename to `callback_event__before_restrict`;");
    await execute(
      "create table `callback_event` (`id` text not null, `account_id` text not null, `sequence` integer not null, `wallet_id` text not null, `kind` text check (`kind` in ('DEPOSIT', 'PAYOUT')) not null, `operation_id` text not null, `tracking_id` text not null, `operation_status` integer null, `transfer_id` text null, `transfer_status` integer null, `amount` text null, `amount_cleared` text null, `commission` text null, `fee` text null, `currency` text null, `txid` text null, `signed_at` text not null, `received_at` datetime not null, `signed_key` text null, `resend_key` text null, `replay_of` text null, `payload` text not null, `trace_context` text null, constraint `callback_event_account_id_foreign` foreign key(`account_id`) references `account`(`id`) on delete restrict on update cascade, constraint `callback_event_wallet_id_foreign` foreign key(`wallet_id`) references `wallet`(`id`) on delete restrict on update cascade, primary key (`id`));",
    );
    await execute(`insert into \`callback_event\` (${EVENT_COLUMNS}) select ${EVENT_COLUMNS} from \`callback_event__before_restrict\`;`);
    await execute("drop table `callback_event__before_restrict`;");
    await execute("create index `callback_event_wallet_index` on `callback_event` (`wallet_id`);");
    await execute("create unique index `callback_event_resend_key_unique` on `callback_event` (`resend_key`);");
    await execute("create unique index `callback_event_signed_key_unique` on `callback_event` (`signed_key`);");
    await execute("create unique index `callback_event_account_sequence_unique` on `callback_event` (`account_id`, `sequence`);");

    await execute(
      "create table `event_epoch` (`id` text not null, `parent_id` text null, `ordinal` integer not null, `cause` text not null, `note` text null, `created_at` datetime not null, primary key (`id`));",
    );
    await execute("create unique index `event_epoch_ordinal_unique` on `event_epoch` (`ordinal`);");
    await execute(
      "create table `event_epoch_fork` (`epoch_id` text not null, `account_id` text not null, `sequence` integer not null, primary key (`epoch_id`, `account_id`));",
    );
    await execute(
      "insert into `event_epoch` (`id`, `parent_id`, `ordinal`, `cause`, `note`, `created_at`) values (lower(hex(randomblob(8))), null, 1, 'first', null, ?);",
      [Date.now()],
    );
  }
}
