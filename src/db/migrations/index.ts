import type { MigrationObject } from "@mikro-orm/core";
import { Migration20261127000000 as PgInitial } from "./postgresql/Migration20261127000000.js";
import { Migration20261127000000 as SqliteInitial } from "./sqlite/Migration20261127000000.js";

export type Dialect = "sqlite" | "postgresql";

/**
 * The migrations of each dialect, in order. They are listed here rather than discovered from the file system so
 * that the sources (tests) and the built server run exactly the same set.
 */
const migrations: Record<Dialect, MigrationObject[]> = {
  sqlite: [{ name: "Migration20261127000000", class: SqliteInitial }],
  postgresql: [{ name: "Migration20261127000000", class: PgInitial }],
};

export function migrationsFor(dialect: Dialect): MigrationObject[] {
  return migrations[dialect];
}
