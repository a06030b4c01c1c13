import { Migration } from "@mikro-orm/migrations";

/**
 * An audit trail that cannot be erased: audit entries hold plain ids (no foreign key deletes or nulls them), the
 * e-mails of their actor and target user as they were, and a hash chain; triggers refuse UPDATE and DELETE.
 */
export class Migration20261201030000 extends Migration {
  override async up(): Promise<void> {
    this.addSql("alter table `audit_entry` rename to `audit_entry__before_chain`;");
    this.addSql(
      "create table `audit_entry` (`id` integer not null primary key autoincrement, `account_id` text not null, `actor_id` text null, `actor_email` text null, `action` text not null, `outcome` text not null, `client_address` text not null, `detail` text null, `created_at` datetime not null, `target_user_id` text null, `target_user_email` text null, `wallet_id` text null, `previous_role` text check (`previous_role` in ('OWNER', 'ADMIN', 'WITHDRAWALS_WITH_APPROVAL', 'READ_ONLY')) null, `role` text check (`role` in ('OWNER', 'ADMIN', 'WITHDRAWALS_WITH_APPROVAL', 'READ_ONLY')) null, `previous_hash` text null, `hash` text null);",
    );
    this.addSql(
      "insert into `audit_entry` (`id`, `account_id`, `actor_id`, `actor_email`, `action`, `outcome`, `client_address`, `detail`, `created_at`, `target_user_id`, `target_user_email`, `wallet_id`, `previous_role`, `role`) " +
        "select e.`id`, e.`account_id`, e.`actor_id`, (select u.`email` from `app_user` u where u.`id` = e.`actor_id`), e.`action`, e.`outcome`, e.`client_address`, e.`detail`, e.`created_at`, " +
        "e.`target_user_id`, (select u.`email` from `app_user` u where u.`id` = e.`target_user_id`), e.`wallet_id`, e.`previous_role`, e.`role` from `audit_entry__before_chain` e;",
    );
    this.addSql("delete from `sqlite_sequence` where `name` = 'audit_entry';");
    this.addSql("update `sqlite_sequence` set `name` = 'audit_entry' where `name` = 'audit_entry__before_chain';");
    this.addSql("drop table `audit_entry__before_chain`;");
    this.addSql("create index `audit_entry_account_id_id_index` on `audit_entry` (`account_id`, `id`);");
    this.addSql(
      "create trigger `audit_entry_append_only_update` before update on `audit_entry` begin select raise(abort, 'audit entries are append-only'); end;",
    );
    this.addSql(
      "create trigger `audit_entry_append_only_delete` before delete on `audit_entry` begin select raise(abort, 'audit entries are append-only'); end;",
    );
  }
}
