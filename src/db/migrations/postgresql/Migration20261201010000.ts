import { Migration } from "@mikro-orm/migrations";

/**
 * Real accounts and people: accounts can be suspended; invitations, recovery codes and an authenticator being
 * turned on; links from an identity provider's subjects to users; provisioning requests by their key.
 */
export class Migration20261201010000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "account" add column "suspended_at" timestamptz null;`);
    this.addSql(`alter table "app_user" add column "pending_totp_secret_encrypted" text null;`);
    this.addSql(`create table "provisioning_request" ("key" varchar(128) not null, "operation" varchar(64) not null, "request_hash" varchar(64) not null, "result" text not null, "created_at" timestamptz not null, constraint "provisioning_request_pkey" primary key ("key"));`);
    this.addSql(`create table "recovery_code" ("id" varchar(36) not null, "user_id" varchar(36) not null, "code_hash" varchar(64) not null, "used_at" timestamptz null, "created_at" timestamptz not null, constraint "recovery_code_pkey" primary key ("id"));`);
    this.addSql(`create index "recovery_code_user_index" on "recovery_code" ("user_id");`);
    this.addSql(`alter table "recovery_code" add constraint "recovery_code_code_hash_unique" unique ("code_hash");`);
    this.addSql(`create table "invitation" ("id" varchar(36) not null, "user_id" varchar(36) not null, "token_hash" varchar(64) not null, "expires_at" timestamptz not null, "used_at" timestamptz null, "created_at" timestamptz not null, constraint "invitation_pkey" primary key ("id"));`);
    this.addSql(`create index "invitation_user_index" on "invitation" ("user_id");`);
    this.addSql(`alter table "invitation" add constraint "invitation_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create table "identity_link" ("id" varchar(36) not null, "user_id" varchar(36) not null, "issuer" varchar(255) not null, "subject" varchar(255) not null, "created_at" timestamptz not null, constraint "identity_link_pkey" primary key ("id"));`);
    this.addSql(`alter table "identity_link" add constraint "identity_link_user_issuer_unique" unique ("user_id", "issuer");`);
    this.addSql(`alter table "identity_link" add constraint "identity_link_issuer_subject_unique" unique ("issuer", "subject");`);
    this.addSql(`alter table "recovery_code" add constraint "recovery_code_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "invitation" add constraint "invitation_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "identity_link" add constraint "identity_link_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete cascade;`);
  }
}
