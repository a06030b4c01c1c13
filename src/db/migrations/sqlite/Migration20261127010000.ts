import { Migration } from "@mikro-orm/migrations";

/** Step-up confirmation state, API access, callback secrets, the audit log and rate-limit windows. */
export class Migration20261127010000 extends Migration {
  override async up(): Promise<void> {
    this.addSql("create table `callback_secret` (`id` text not null, `account_id` text not null, `sealed` text not null, `created_at` datetime not null, `expires_at` datetime null, constraint `callback_secret_account_id_foreign` foreign key(`account_id`) references `account`(`id`) on delete cascade on update cascade, primary key (`id`));");
    this.addSql("create index `callback_secret_account_id_index` on `callback_secret` (`account_id`);");
    this.addSql("create index `callback_secret_account_id_expires_at_index` on `callback_secret` (`account_id`, `expires_at`);");
    this.addSql("create table `rate_limit_window` (`key` text not null, `window_start` bigint not null, `hits` integer not null, primary key (`key`, `window_start`));");
    this.addSql("create table `confirmation_state` (`user_id` text not null, `failures` integer not null default 0, `blocked_until` bigint null, `in_flight_until` bigint null, `last_totp_step` bigint null, constraint `confirmation_state_user_id_foreign` foreign key(`user_id`) references `app_user`(`id`) on delete cascade on update cascade, primary key (`user_id`));");
    this.addSql("create table `audit_entry` (`id` integer not null primary key autoincrement, `account_id` text not null, `actor_id` text null, `action` text not null, `outcome` text not null, `client_address` text not null, `detail` text null, `created_at` datetime not null, constraint `audit_entry_account_id_foreign` foreign key(`account_id`) references `account`(`id`) on delete cascade on update cascade, constraint `audit_entry_actor_id_foreign` foreign key(`actor_id`) references `app_user`(`id`) on delete set null on update cascade);");
    this.addSql("create index `audit_entry_account_id_index` on `audit_entry` (`account_id`);");
    this.addSql("create index `audit_entry_actor_id_index` on `audit_entry` (`actor_id`);");
    this.addSql("create index `audit_entry_account_id_id_index` on `audit_entry` (`account_id`, `id`);");
    this.addSql("create table `api_access` (`account_id` text not null, `api_user_id` text null, `active` integer not null default false, `ip_whitelist` json not null, `api_key` text null, `secret_hash` text null, `key_created_at` datetime null, `key_last_used_at` datetime null, `updated_at` datetime not null, constraint `api_access_account_id_foreign` foreign key(`account_id`) references `account`(`id`) on delete cascade on update cascade, constraint `api_access_api_user_id_foreign` foreign key(`api_user_id`) references `app_user`(`id`) on delete set null on update cascade, primary key (`account_id`));");
    this.addSql("create unique index `api_access_api_user_id_unique` on `api_access` (`api_user_id`);");
    this.addSql("create unique index `api_access_api_key_unique` on `api_access` (`api_key`);");
  }
}
