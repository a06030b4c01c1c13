import { Migration } from "@mikro-orm/migrations";

/**
 * Idempotency keys lead with the signed time and the transfer id (see `idempotencyKeys`), so that new keys land
 * together at the end of their indexes; the keys already stored get the same prefix.
 */
export class Migration20261127030000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "callback_event" alter column "signed_key" type varchar(129), alter column "transfer_key" type varchar(129);`);
    this.addSql(
      `update "callback_event" set "signed_key" = "signed_at" || ':' || "signed_key", "transfer_key" = "transfer_id" || ':' || "transfer_key" ` +
        `where length("signed_key") = 64 and position(':' in "signed_key") = 0;`,
    );
  }
}
