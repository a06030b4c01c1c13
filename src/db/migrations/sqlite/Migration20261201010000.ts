import { Migration } from "@mikro-orm/migrations";

/**
 * Real accounts and people: accounts can be suspended; invitations, recovery codes and an authenticator being
 * turned on; links from an identity provider's subjects to users; provisioning requests by their key.
 */
export class Migration20261201010000 extends Migration {
  override async up(): Promise<void> {
    this.addSql("alter table `account` add column `suspended_at` datetime null;");
    this.addSql("alter table `app_user` add column `pending_totp_secret_encrypted` text null;");
    this.addSql("create table `provisioning_request` (`key` text not null, `operation` text not null, `request_hash` text not null, `result` text not null, `created_at` datetime not null, primary key (`key`));");
    this.addSql("create table `recovery_code` (`id` text not null, `user_id` text not null, `code_hash` text not null, `used_at` datetime null, `created_at` datetime not null, constraint `recovery_code_user_id_foreign` foreign key(`user_id`) references `app_user`(`id`) on delete cascade on update cascade, primary key (`id`));");
    this.addSql("create index `recovery_code_user_index` on `recovery_code` (`user_id`);");
    this.addSql("create unique index `recovery_code_code_hash_unique` on `recovery_code` (`code_hash`);");
    this.addSql("create table `invitation` (`id` text not null, `user_id` text not null, `token_hash` text not null, `expires_at` datetime not null, `used_at` datetime null, `created_at` datetime not null, constraint `invitation_user_id_foreign` foreign key(`user_id`) references `app_user`(`id`) on delete cascade on update cascade, primary key (`id`));");
    this.addSql("create index `invitation_user_index` on `invitation` (`user_id`);");
    this.addSql("create unique index `invitation_token_hash_unique` on `invitation` (`token_hash`);");
    this.addSql("create table `identity_link` (`id` text not null, `user_id` text not null, `issuer` text not null, `subject` text not null, `created_at` datetime not null, constraint `identity_link_user_id_foreign` foreign key(`user_id`) references `app_user`(`id`) on delete cascade on update cascade, primary key (`id`));");
    this.addSql("create unique index `identity_link_user_issuer_unique` on `identity_link` (`user_id`, `issuer`);");
    this.addSql("create unique index `identity_link_issuer_subject_unique` on `identity_link` (`issuer`, `subject`);");
  }
}
