import { randomBytes } from "node:crypto";
import pg from "pg";

/** True when the suite runs against PostgreSQL (`DATABASE_URL` set), false on the embedded SQLite. */
export const onPostgres = Boolean(process.env.DATABASE_URL);

/**
 * A database of its own for one test server: on PostgreSQL a fresh database created beside the one
 * `DATABASE_URL` names (dropped afterwards), on SQLite nothing (each server gets its own data directory).
 */
export async function createTestDatabase(): Promise<{ databaseUrl: string | undefined; drop(): Promise<void> }> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) return { databaseUrl: undefined, drop: async () => {} };
  const name = `access_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    databaseUrl: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
