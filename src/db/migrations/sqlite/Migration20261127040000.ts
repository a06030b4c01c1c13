import { Migration } from "@mikro-orm/migrations";

/**
 * Audit entries name the user and wallet a wallet access change was about, and the roles before and after.
 * SQLite adds a column with a foreign key only at the end of the table's text, after its constraints, so the
 * table is rebuilt to read exactly as the entity describes it; entries keep their ids and the id sequence
 * carries on where it was.
 */
export class Migration20261127040000 extends Migration {
  override async up(): Promise<void> {
    this.addSql("alter table `audit_entry` rename to `audit_entry__before_targets`;");
    this.addSql("create table `audit_entry` (`id` integer not null primary key autoincrement, `account_id` text not null, `actor_id` text null, `action` text not null, `outcome` text not null, `client_address` text not null, `detail` text null, `created_at` datetime not null, `target_user_id` text null, `wallet_id` text null, `previous_role` text check (`previous_role` in ('OWNER', 'ADMIN', 'WITHDRAWALS_WITH_APPROVAL', 'READ_ONLY')) null, `role` text check (`role` in ('OWNER', 'ADMIN', 'WITHDRAWALS_WITH_APPROVAL', 'READ_ONLY')) null, constraint `audit_entry_account_id_foreign` foreign key(`account_id`) references `account`(`id`) on delete cascade on update cascade, constraint `audit_entry_actor_id_foreign` foreign key(`actor_id`) references `app_user`(`id`) on delete set null on update cascade, constraint `audit_entry_target_user_id_foreign` foreign key(`target_user_id`) references `app_user`(`id`) on delete set null on update cascade);");
    this.addSql("insert into `audit_entry` (`id`, `account_id`, `actor_id`, `action`, `outcome`, `client_address`, `detail`, `created_at`) select `id`, `account_id`, `actor_id`, `action`, `outcome`, `client_address`, `detail`, `created_at` from `audit_entry__before_targets`;");
    this.addSql("delete from `sqlite_sequence` where `name` = 'audit_entry';");
    this.addSql("update `sqlite_sequence` set `name` = 'audit_entry' where `name` = 'audit_entry__before_targets';");
    this.addSql("drop table `audit_entry__before_targets`;");
    this.addSql("create index `audit_entry_account_id_index` on `audit_entry` (`account_id`);");
    this.addSql("create index `audit_entry_actor_id_index` on `audit_entry` (`actor_id`);");
    this.addSql("create index `audit_entry_target_user_id_index` on `audit_entry` (`target_user_id`);");
    this.addSql("create index `audit_entry_account_id_id_index` on `audit_entry` (`account_id`, `id`);");
  }
}
