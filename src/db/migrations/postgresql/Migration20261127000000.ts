import { Migration } from "@mikro-orm/migrations";

/** Accounts, users, wallets and wallet access. */
export class Migration20261127000000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "account" ("id" varchar(36) not null, "name" varchar(200) not null, "created_at" timestamptz not null, "access_version" int not null default 0, constraint "account_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create table "app_user" ("id" varchar(36) not null, "account_id" varchar(36) not null, "email" varchar(254) not null, "kind" text check ("kind" in ('HUMAN', 'API')) not null default 'HUMAN', "is_owner" boolean not null default false, "password_hash" text null, "totp_secret_encrypted" text null, "created_at" timestamptz not null, constraint "app_user_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "app_user" add constraint "app_user_account_id_email_unique" unique ("account_id", "email");`);
    this.addSql(
      `create unique index "app_user_one_owner_per_account" on "app_user" ("account_id") where "is_owner" = true;`,
    );
    this.addSql(
      `create table "wallet" ("id" varchar(64) not null, "account_id" varchar(36) not null, "label" varchar(100) not null, "status" smallint not null, "type" smallint not null, "currency_iso" int not null, "currency_alpha" varchar(32) not null, "currency_name" varchar(100) not null, "currency_exp" int not null, "balance_confirmed" varchar(80) not null default '0', "balance_pending" varchar(80) not null default '0', "balance_unusable" varchar(80) not null default '0', "created_at" timestamptz not null, constraint "wallet_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "wallet_account_id_id_index" on "wallet" ("account_id", "id");`);
    this.addSql(
      `create table "wallet_access" ("id" varchar(36) not null, "user_id" varchar(36) not null, "wallet_id" varchar(64) not null, "role" text check ("role" in ('OWNER', 'ADMIN', 'WITHDRAWALS_WITH_APPROVAL', 'READ_ONLY')) not null, "created_at" timestamptz not null, constraint "wallet_access_pkey" primary key ("id"));`,
    );
    this.addSql(
      `alter table "wallet_access" add constraint "wallet_access_user_id_wallet_id_unique" unique ("user_id", "wallet_id");`,
    );
    this.addSql(
      `alter table "app_user" add constraint "app_user_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "wallet" add constraint "wallet_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "wallet_access" add constraint "wallet_access_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "wallet_access" add constraint "wallet_access_wallet_id_foreign" foreign key ("wallet_id") references "wallet" ("id") on update cascade on delete cascade;`,
    );
  }
}
