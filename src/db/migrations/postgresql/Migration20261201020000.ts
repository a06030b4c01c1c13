import { Migration } from "@mikro-orm/migrations";

/** Several instances: the trace context of each event's ingress, and retention (pruned sequences, retained keys). */
export class Migration20261201020000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "callback_event" add column "trace_context" varchar(128) null;`);
    this.addSql(`alter table "event_sequence" add column "pruned_through" int not null default 0;`);
    this.addSql(`create table "retained_key" ("key" varchar(129) not null, "expires_at" timestamptz null, constraint "retained_key_pkey" primary key ("key"));`);
  }
}
