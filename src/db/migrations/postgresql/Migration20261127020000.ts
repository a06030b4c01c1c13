import { Migration } from "@mikro-orm/migrations";

/** The callback event log and the per-account sequence that orders it. */
export class Migration20261127020000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "event_sequence" ("account_id" varchar(36) not null, "value" int not null, constraint "event_sequence_pkey" primary key ("account_id"));`);
    this.addSql(`create table "callback_event" ("id" varchar(36) not null, "account_id" varchar(36) not null, "sequence" int not null, "wallet_id" varchar(64) not null, "kind" text check ("kind" in ('DEPOSIT', 'PAYOUT')) not null, "operation_id" varchar(64) not null, "tracking_id" varchar(255) not null, "transfer_id" varchar(64) not null, "transfer_status" smallint not null, "amount" varchar(80) not null, "commission" varchar(80) null, "fee" varchar(80) null, "currency" varchar(32) null, "txid" varchar(255) null, "signed_at" varchar(64) not null, "received_at" timestamptz not null, "signed_key" varchar(64) not null, "transfer_key" varchar(64) not null, "payload" text not null, constraint "callback_event_pkey" primary key ("id"));`);
    this.addSql(`create index "callback_event_wallet_index" on "callback_event" ("wallet_id");`);
    this.addSql(`alter table "callback_event" add constraint "callback_event_transfer_key_unique" unique ("transfer_key");`);
    this.addSql(`alter table "callback_event" add constraint "callback_event_signed_key_unique" unique ("signed_key");`);
    this.addSql(`alter table "callback_event" add constraint "callback_event_account_sequence_unique" unique ("account_id", "sequence");`);
    this.addSql(`alter table "callback_event" add constraint "callback_event_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "callback_event" add constraint "callback_event_wallet_id_foreign" foreign key ("wallet_id") references "wallet" ("id") on update cascade on delete cascade;`);
  }
}
