import { Migration } from "@mikro-orm/migrations";

/** The callback event log and the per-account sequence that orders it. */
export class Migration20261127020000 extends Migration {
  override async up(): Promise<void> {
    this.addSql("create table `event_sequence` (`account_id` text not null, `value` integer not null, primary key (`account_id`));");
    this.addSql("create table `callback_event` (`id` text not null, `account_id` text not null, `sequence` integer not null, `wallet_id` text not null, `kind` text check (`kind` in ('DEPOSIT', 'PAYOUT')) not null, `operation_id` text not null, `tracking_id` text not null, `transfer_id` text not null, `transfer_status` integer not null, `amount` text not null, `commission` text null, `fee` text null, `currency` text null, `txid` text null, `signed_at` text not null, `received_at` datetime not null, `signed_key` text not null, `transfer_key` text not null, `payload` text not null, constraint `callback_event_account_id_foreign` foreign key(`account_id`) references `account`(`id`) on delete cascade on update cascade, constraint `callback_event_wallet_id_foreign` foreign key(`wallet_id`) references `wallet`(`id`) on delete cascade on update cascade, primary key (`id`));");
    this.addSql("create index `callback_event_wallet_index` on `callback_event` (`wallet_id`);");
    this.addSql("create unique index `callback_event_transfer_key_unique` on `callback_event` (`transfer_key`);");
    this.addSql("create unique index `callback_event_signed_key_unique` on `callback_event` (`signed_key`);");
    this.addSql("create unique index `callback_event_account_sequence_unique` on `callback_event` (`account_id`, `sequence`);");
  }
}
