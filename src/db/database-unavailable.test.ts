import { ConnectionException, DriverException, UniqueConstraintViolationException } from "@mikro-orm/core";
import { describe, expect, it } from "vitest";
import { isDatabaseUnavailable } from "./database-unavailable.js";

/** An error as a driver raises it: a message, and a code when it has one. */
const raised = (message: string, fields: { code?: string; name?: string } = {}) => Object.assign(new Error(message), fields);

describe("isDatabaseUnavailable", () => {
  it.each([
    ["a connection exception", new ConnectionException(raised("connect ECONNREFUSED 127.0.0.1:5432"))],
    ["a statement past its client-side timeout (the statement named first)", raised("select 1 - Query read timeout")],
    ["the same, converted by the ORM", new DriverException(raised("select 1 - Query read timeout"))],
    ["a connection that did not open in time", raised("timeout expired")],
    ["a connection that ended under a statement", raised("select 1 - Connection terminated unexpectedly")],
    ["a statement sent on an ended connection", raised("select 1 - Client was closed and is not queryable")],
    ["a statement sent on a failed connection", raised("Client has encountered a connection error and is not queryable")],
    [
      "no free connection in time",
      raised("Knex: Timeout acquiring a connection. The pool is probably full. Are you missing a .transacting(trx) call?", {
        name: "KnexTimeoutError",
      }),
    ],
    ["a refused connection", raised("connect ECONNREFUSED 127.0.0.1:5432", { code: "ECONNREFUSED" })],
    ["a reset connection", raised("read ECONNRESET", { code: "ECONNRESET" })],
    ["a connection failure (SQLSTATE 08006)", raised("connection failure", { code: "08006" })],
    ["a server shutting down (57P01)", raised("terminating connection due to administrator command", { code: "57P01" })],
    ["a server starting up (57P03)", raised("the database system is starting up", { code: "57P03" })],
  ])("is true for %s", (_case, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ["a unique key taken", new UniqueConstraintViolationException(raised("duplicate key value", { code: "23505" }))],
    ["a statement cancelled by the server (57014)", raised("canceling statement due to user request", { code: "57014" })],
    ["a syntax error", raised("syntax error at or near \"selec\"", { code: "42601" })],
    ["a bug", new TypeError("Cannot read properties of undefined")],
    ["another error that mentions a timeout", raised("the session timeout expired")],
    ["not an error", { message: "Query read timeout" }],
    ["nothing", undefined],
  ])("is false for %s", (_case, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});
