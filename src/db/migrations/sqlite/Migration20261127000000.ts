import { Migration } from "@mikro-orm/migrations";

/** Accounts, users, wallets and wallet access. */
export class Migration20261127000000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      "create table `account` (`id` text not null, `name` text not null, `created_at` datetime not null, `access_version` integer not null default 0, primary key (`id`));",
    );
    this.addSql(
      "create table `app_user` (`id` text not null, `account_id` text not null, `email` text not null, `kind` text check (`kind` in ('HUMAN', 'API')) not null default 'HUMAN', `is_owner` integer not null default false, `password_hash` text null, `totp_secret_encrypted` text null, `created_at` datetime not null, constraint `app_user_account_id_foreign` foreign key(`account_id`) references `account`(`id`) on delete cascade on update cascade, primary key (`id`));",
    );
    this.addSql("create index `app_user_account_id_index` on `app_user` (`account_id`);");
    this.addSql("create unique index `app_user_account_id_email_unique` on `app_user` (`account_id`, `email`);");
    this.addSql(
      'create unique index "app_user_one_owner_per_account" on "app_user" ("account_id") where "is_owner" = true;',
    );
    this.addSql(
      "create table `wallet` (`id` text not null, `account_id` text not null, `label` text not null, `status` integer not null, `type` integer not null, `currency_iso` integer not null, `currency_alpha` text not null, `currency_name` text not null, `currency_exp` integer not null, `balance_confirmed` text not null default '0', `balance_pending` text not null default '0', `balance_unusable` text not null default '0', `created_at` datetime not null, constraint `wallet_account_id_foreign` foreign key(`account_id`) references `account`(`id`) on delete cascade on update cascade, primary key (`id`));",
    );
    this.addSql("create index `wallet_account_id_index` on `wallet` (`account_id`);");
    this.addSql("create index `wallet_account_id_id_index` on `wallet` (`account_id`, `id`);");
    this.addSql(
      "create table `wallet_access` (`id` text not null, `user_id` text not null, `wallet_id` text not null, `role` text check (`role` in ('OWNER', 'ADMIN', 'WITHDRAWALS_WITH_APPROVAL', 'READ_ONLY')) not null, `created_at` datetime not null, constraint `wallet_access_user_id_foreign` foreign key(`user_id`) references `app_user`(`id`) on delete cascade on update cascade, constraint `wallet_access_wallet_id_foreign` foreign key(`wallet_id`) references `wallet`(`id`) on delete cascade on update cascade, primary key (`id`));",
    );
    this.addSql("create index `wallet_access_user_id_index` on `wallet_access` (`user_id`);");
    this.addSql("create index `wallet_access_wallet_id_index` on `wallet_access` (`wallet_id`);");
    this.addSql(
      "create unique index `wallet_access_user_id_wallet_id_unique` on `wallet_access` (`user_id`, `wallet_id`);",
    );
  }
}
