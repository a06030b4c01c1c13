import type { MigrationObject } from "@mikro-orm/core";
import { Migration20261127000000 as PgInitial } from "./postgresql/Migration20261127000000.js";
import { Migration20261127010000 as PgSecrets } from "./postgresql/Migration20261127010000.js";
import { Migration20261127020000 as PgCallbacks } from "./postgresql/Migration20261127020000.js";
import { Migration20261127030000 as PgKeyLocality } from "./postgresql/Migration20261127030000.js";
import { Migration20261127040000 as PgAuditTargets } from "./postgresql/Migration20261127040000.js";
import { Migration20261201000000 as PgEventIdentity } from "./postgresql/Migration20261201000000.js";
import { Migration20261201010000 as PgPeople } from "./postgresql/Migration20261201010000.js";
import { Migration20261201020000 as PgInstances } from "./postgresql/Migration20261201020000.js";
import { Migration20261201030000 as PgAuditTrail } from "./postgresql/Migration20261201030000.js";
import { Migration20261205000000 as PgKeyedHashes } from "./postgresql/Migration20261205000000.js";
import { Migration20261215000000 as PgEventEpochs } from "./postgresql/Migration20261215000000.js";
import { Migration20261127000000 as SqliteInitial } from "./sqlite/Migration20261127000000.js";
import { Migration20261127010000 as SqliteSecrets } from "./sqlite/Migration20261127010000.js";
import { Migration20261127020000 as SqliteCallbacks } from "./sqlite/Migration20261127020000.js";
import { Migration20261127030000 as SqliteKeyLocality } from "./sqlite/Migration20261127030000.js";
import { Migration20261127040000 as SqliteAuditTargets } from "./sqlite/Migration20261127040000.js";
import { Migration20261201000000 as SqliteEventIdentity } from "./sqlite/Migration20261201000000.js";
import { Migration20261201010000 as SqlitePeople } from "./sqlite/Migration20261201010000.js";
import { Migration20261201020000 as SqliteInstances } from "./sqlite/Migration20261201020000.js";
import { Migration20261201030000 as SqliteAuditTrail } from "./sqlite/Migration20261201030000.js";
import { Migration20261215000000 as SqliteEventEpochs } from "./sqlite/Migration20261215000000.js";

export type Dialect = "sqlite" | "postgresql";

/**
 * The migrations of each dialect, in order. They are listed here rather than discovered from the file system so
 * that the sources (tests) and the built server run exactly the same set.
 */
const migrations: Record<Dialect, MigrationObject[]> = {
  sqlite: [
    { name: "Migration20261127000000", class: SqliteInitial },
    { name: "Migration20261127010000", class: SqliteSecrets },
    { name: "Migration20261127020000", class: SqliteCallbacks },
    { name: "Migration20261127030000", class: SqliteKeyLocality },
    { name: "Migration20261127040000", class: SqliteAuditTargets },
    { name: "Migration20261201000000", class: SqliteEventIdentity },
    { name: "Migration20261201010000", class: SqlitePeople },
    { name: "Migration20261201020000", class: SqliteInstances },
    { name: "Migration20261201030000", class: SqliteAuditTrail },
    { name: "Migration20261215000000", class: SqliteEventEpochs },
  ],
  postgresql: [
    { name: "Migration20261127000000", class: PgInitial },
    { name: "Migration20261127010000", class: PgSecrets },
    { name: "Migration20261127020000", class: PgCallbacks },
    { name: "Migration20261127030000", class: PgKeyLocality },
    { name: "Migration20261127040000", class: PgAuditTargets },
    { name: "Migration20261201000000", class: PgEventIdentity },
    { name: "Migration20261201010000", class: PgPeople },
    { name: "Migration20261201020000", class: PgInstances },
    { name: "Migration20261201030000", class: PgAuditTrail },
    { name: "Migration20261205000000", class: PgKeyedHashes },
    { name: "Migration20261215000000", class: PgEventEpochs },
  ],
};

export function migrationsFor(dialect: Dialect): MigrationObject[] {
  return migrations[dialect];
}
