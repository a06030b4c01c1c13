import { Migration } from "@mikro-orm/migrations";

/** Audit entries name the user and wallet a wallet access change was about, and the roles before and after. */
export class Migration20261127040000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "audit_entry" add column "target_user_id" varchar(36) null, add column "wallet_id" varchar(64) null, add column "previous_role" text check ("previous_role" in ('OWNER', 'ADMIN', 'WITHDRAWALS_WITH_APPROVAL', 'READ_ONLY')) null, add column "role" text check ("role" in ('OWNER', 'ADMIN', 'WITHDRAWALS_WITH_APPROVAL', 'READ_ONLY')) null;`);
    this.addSql(`alter table "audit_entry" add constraint "audit_entry_target_user_id_foreign" foreign key ("target_user_id") references "app_user" ("id") on update cascade on delete set null;`);
  }
}
