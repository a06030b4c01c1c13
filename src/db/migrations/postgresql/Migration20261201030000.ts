import { Migration } from "@mikro-orm/migrations";

/**
 * An audit trail that cannot be erased: audit entries hold plain ids (no foreign key deletes or nulls them), the
 * e-mails of their actor and target user as they were, and a hash chain; a trigger refuses UPDATE, DELETE and
 * TRUNCATE.
 */
export class Migration20261201030000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "audit_entry" drop constraint "audit_entry_account_id_foreign";`);
    this.addSql(`alter table "audit_entry" drop constraint "audit_entry_actor_id_foreign";`);
    this.addSql(`alter table "audit_entry" drop constraint "audit_entry_target_user_id_foreign";`);
    this.addSql(
      `alter table "audit_entry" add column "actor_email" varchar(254) null, add column "target_user_email" varchar(254) null, add column "previous_hash" varchar(64) null, add column "hash" varchar(64) null;`,
    );
    this.addSql(`update "audit_entry" e set "actor_email" = u."email" from "app_user" u where u."id" = e."actor_id";`);
    this.addSql(`update "audit_entry" e set "target_user_email" = u."email" from "app_user" u where u."id" = e."target_user_id";`);
    this.addSql(
      `create function "audit_entry_append_only"() returns trigger language plpgsql as $$ begin raise exception 'audit entries are append-only'; end $$;`,
    );
    this.addSql(
      `create trigger "audit_entry_append_only" before update or delete on "audit_entry" for each row execute function "audit_entry_append_only"();`,
    );
    this.addSql(
      `create trigger "audit_entry_append_only_truncate" before truncate on "audit_entry" for each statement execute function "audit_entry_append_only"();`,
    );
  }
}
