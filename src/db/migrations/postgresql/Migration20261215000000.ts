import { Migration } from "@mikro-orm/migrations";

/**
 * Epochs of the event log (`event_epoch`, `event_epoch_fork`), with the database's first epoch; and events that
 * stay when their wallet or account goes: deleting either is refused while it has events, where it deleted them.
 */
export class Migration20261215000000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "callback_event" drop constraint "callback_event_account_id_foreign", drop constraint "callback_event_wallet_id_foreign";`);
    this.addSql(
      `alter table "callback_event" add constraint "callback_event_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete restrict, ` +
        `add constraint "callback_event_wallet_id_foreign" foreign key ("wallet_id") references "wallet" ("id") on update cascade on delete restrict;`,
    );
    this.addSql(
      `create table "event_epoch" ("id" varchar(16) not null, "parent_id" varchar(16) null, "ordinal" int not null, "cause" varchar(16) not null, "note" varchar(1024) null, "created_at" timestamptz not null, constraint "event_epoch_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "event_epoch" add constraint "event_epoch_ordinal_unique" unique ("ordinal");`);
    this.addSql(
      `create table "event_epoch_fork" ("epoch_id" varchar(16) not null, "account_id" varchar(36) not null, "sequence" int not null, constraint "event_epoch_fork_pkey" primary key ("epoch_id", "account_id"));`,
    );
    this.addSql(
      `insert into "event_epoch" ("id", "parent_id", "ordinal", "cause", "note", "created_at") values (left(replace(gen_random_uuid()::text, '-', ''), 16), null, 1, 'first', null, now());`,
    );
  }
}
