import { Migration } from "@mikro-orm/migrations";

/**
 * Keyed hashes name the master key they are under (`h2.<key id>.<wrapped digest>`, 70 characters): their columns
 * widen to 128. (SQLite's text columns have no length.)
 */
export class Migration20261205000000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "api_access" alter column "secret_hash" type varchar(128);`);
    this.addSql(`alter table "invitation" alter column "token_hash" type varchar(128);`);
    this.addSql(`alter table "recovery_code" alter column "code_hash" type varchar(128);`);
  }
}
