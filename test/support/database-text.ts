import fs from "node:fs";
import path from "node:path";
import { onPostgres } from "./database.js";
import type { TestServer } from "./test-server.js";

/**
 * Every byte a test server's database holds, as text: the SQLite files (the write-ahead log included), or every
 * row of every table on PostgreSQL. A secret found in it was stored in the clear.
 */
export async function databaseText(server: TestServer): Promise<string> {
  if (!onPostgres) {
    return fs
      .readdirSync(server.dataDir)
      .filter((file) => file.startsWith("access.sqlite"))
      .map((file) => fs.readFileSync(path.join(server.dataDir, file)).toString("latin1"))
      .join("\n");
  }
  const connection = server.em().getConnection();
  const tables: { table_name: string }[] = await connection.execute(
    "select table_name from information_schema.tables where table_schema = 'public'",
  );
  const dumps: string[] = [];
  for (const { table_name } of tables) {
    const rows: { row: string }[] = await connection.execute(`select row_to_json(t)::text as row from "${table_name}" t`);
    dumps.push(...rows.map((row) => row.row));
  }
  const text = dumps.join("\n");
  if (!text.includes("owner@example.com")) throw new Error("The database dump misses the demo Owner: it read nothing");
  return text;
}
