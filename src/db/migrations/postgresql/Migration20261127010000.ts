import { Migration } from "@mikro-orm/migrations";

/** Step-up confirmation state, API access, callback secrets, the audit log and rate-limit windows. */
export class Migration20261127010000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "callback_secret" ("id" varchar(36) not null, "account_id" varchar(36) not null, "sealed" text not null, "created_at" timestamptz not null, "expires_at" timestamptz null, constraint "callback_secret_pkey" primary key ("id"));`);
    this.addSql(`create index "callback_secret_account_id_expires_at_index" on "callback_secret" ("account_id", "expires_at");`);
    this.addSql(`create table "rate_limit_window" ("key" varchar(128) not null, "window_start" bigint not null, "hits" int not null, constraint "rate_limit_window_pkey" primary key ("key", "window_start"));`);
    this.addSql(`create table "confirmation_state" ("user_id" varchar(36) not null, "failures" int not null default 0, "blocked_until" bigint null, "in_flight_until" bigint null, "last_totp_step" bigint null, constraint "confirmation_state_pkey" primary key ("user_id"));`);
    this.addSql(`create table "audit_entry" ("id" serial primary key, "account_id" varchar(36) not null, "actor_id" varchar(36) null, "action" varchar(64) not null, "outcome" varchar(32) not null, "client_address" varchar(64) not null, "detail" varchar(500) null, "created_at" timestamptz not null);`);
    this.addSql(`create index "audit_entry_account_id_id_index" on "audit_entry" ("account_id", "id");`);
    this.addSql(`create table "api_access" ("account_id" varchar(36) not null, "api_user_id" varchar(36) null, "active" boolean not null default false, "ip_whitelist" jsonb not null, "api_key" varchar(64) null, "secret_hash" varchar(64) null, "key_created_at" timestamptz null, "key_last_used_at" timestamptz null, "updated_at" timestamptz not null, constraint "api_access_pkey" primary key ("account_id"));`);
    this.addSql(`alter table "api_access" add constraint "api_access_api_user_id_unique" unique ("api_user_id");`);
    this.addSql(`alter table "api_access" add constraint "api_access_api_key_unique" unique ("api_key");`);
    this.addSql(`alter table "callback_secret" add constraint "callback_secret_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "confirmation_state" add constraint "confirmation_state_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "audit_entry" add constraint "audit_entry_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "audit_entry" add constraint "audit_entry_actor_id_foreign" foreign key ("actor_id") references "app_user" ("id") on update cascade on delete set null;`);
    this.addSql(`alter table "api_access" add constraint "api_access_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "api_access" add constraint "api_access_api_user_id_foreign" foreign key ("api_user_id") references "app_user" ("id") on update cascade on delete set null;`);
  }
}
