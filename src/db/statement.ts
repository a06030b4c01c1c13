import type { EntityManager } from "@mikro-orm/core";
import type { SqlEntityManager } from "@mikro-orm/knex";
import pg from "pg";

/**
 * A fixed statement: its text never changes, so `Database.execute` prepares it once per connection and runs it
 * again by its name (on PostgreSQL the database then parses and plans it once). Each name is this service's own and
 * names one text.
 */
export interface Statement {
  name: string;
  text: string;
}

/**
 * Runs one statement with `?` placeholders, its values bound as parameters, and answers its rows as they are. A
 * {@link Statement} is prepared once per connection; a string (a text built for one call, as a filtered read is)
 * is prepared for that call alone.
 */
export type RunStatement = <T>(statement: Statement | string, params: unknown[]) => Promise<T[]>;

/** The text of a statement either way it is given. */
export function textOf(statement: Statement | string): string {
  return typeof statement === "string" ? statement : statement.text;
}

/** Runs statements on an entity manager's connection (inside its transaction when it has one), unprepared. */
export function statementsOf(em: EntityManager): RunStatement {
  return <T>(statement: Statement | string, params: unknown[]) => (em as SqlEntityManager).execute<T[]>(textOf(statement), params);
}

/**
 * Whether PostgreSQL refused a prepared statement whose result's columns a change of the schema changed (a release
 * migrating beside this one): the statement runs again, prepared anew, on another connection.
 */
export function isStalePlan(error: unknown): boolean {
  return error instanceof pg.DatabaseError && error.code === "0A000" && /cached plan/.test(error.message);
}
