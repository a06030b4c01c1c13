import { Migration } from "@mikro-orm/migrations";
import { rekeyStoredEvents } from "../event-identity.js";

/**
 * The signed message identifies a callback: new keys for the events stored (see `rekeyStoredEvents`); callbacks
 * without a transfer (nullable transfer fields); the deposit's or payout's own status and the amount cleared.
 */
export class Migration20261201000000 extends Migration {
  override async up(): Promise<void> {
    const execute = (sql: string, params?: unknown[]) => this.execute(sql, params) as Promise<Record<string, unknown>[]>;
    await execute(`alter table "callback_event" drop constraint "callback_event_transfer_key_unique", drop constraint "callback_event_signed_key_unique";`);
    await execute(`alter table "callback_event" rename column "transfer_key" to "resend_key";`);
    await execute(
      `alter table "callback_event" add column "operation_status" int null, add column "amount_cleared" varchar(80) null, add column "replay_of" varchar(36) null, ` +
        `alter column "transfer_id" drop not null, alter column "transfer_status" type int, alter column "transfer_status" drop not null, ` +
        `alter column "amount" drop not null, alter column "signed_key" drop not null, alter column "resend_key" drop not null;`,
    );
    await execute(`create index "callback_event__signed_key" on "callback_event" ("signed_key");`);
    await rekeyStoredEvents(execute, async (page) => {
      await execute(
        `update "callback_event" c set "signed_key" = v.s, "resend_key" = v.r, "operation_status" = v.o, "amount_cleared" = v.a ` +
          `from json_to_recordset(?::json) as v(id text, s text, r text, o int, a text) where c.id = v.id`,
        [JSON.stringify(page.map((row) => ({ id: row.id, s: row.signedKey, r: row.resendKey, o: row.operationStatus, a: row.amountCleared })))],
      );
    });
    await execute(`drop index "callback_event__signed_key";`);
    await execute(`alter table "callback_event" add constraint "callback_event_resend_key_unique" unique ("resend_key");`);
    await execute(`alter table "callback_event" add constraint "callback_event_signed_key_unique" unique ("signed_key");`);
  }
}
