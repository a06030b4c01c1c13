import type { SqlEntityManager } from "@mikro-orm/knex";
import { execFile } from "node:child_process";
import fs from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Account } from "../src/access/account.entity.js";
import { AuditEntry } from "../src/audit/audit-entry.entity.js";
import { verifyingCallbackSecrets } from "../src/credentials/callback-secret.service.js";
import { RegenerateCallbackSecretDocument } from "./generated/graphql.js";
import { BUILT_CLI } from "./support/built-server.js";
import { onPostgres } from "./support/database.js";
import { codes, execute } from "./support/graphql-client.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

let server: TestServer;
let owner: string;
let demoAccountId: string;

beforeAll(async () => {
  if (!fs.existsSync(BUILT_CLI)) throw new Error("run `npm run build` first (npm test does)");
  server = await startTestServer();
  owner = await server.token("owner@example.com");
  demoAccountId = (await server.em().findOneOrFail(Account, { name: "Demo Merchant" })).id;
});
afterAll(() => server?.close());

/** Runs the built CLI over the server's database; never throws on a non-zero exit. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    PATH: process.env.PATH,
    DATA_DIR: server.dataDir,
    ...(server.service.config.databaseUrl ? { DATABASE_URL: server.service.config.databaseUrl } : {}),
  };
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BUILT_CLI, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

const sql = (statement: string) => (server.em() as SqlEntityManager).getConnection().execute(statement);

/** Makes the database refuse the SUCCESS entries of one action, as a full disk or a lost privilege would. */
async function refuseSuccessEntries(action: string): Promise<() => Promise<void>> {
  if (onPostgres) {
    await sql(
      `create function refuse_audit_success() returns trigger language plpgsql as $$ begin ` +
        `if new.action = '${action}' and new.outcome = 'SUCCESS' then raise exception 'audit entry refused'; end if; return new; end $$`,
    );
    await sql("create trigger refuse_audit_success before insert on audit_entry for each row execute function refuse_audit_success()");
    return async () => {
      await sql("drop trigger refuse_audit_success on audit_entry");
      await sql("drop function refuse_audit_success()");
    };
  }
  await sql(
    `create trigger refuse_audit_success before insert on audit_entry when new.action = '${action}' and new.outcome = 'SUCCESS' ` +
      "begin select raise(abort, 'audit entry refused'); end",
  );
  return async () => {
    await sql("drop trigger refuse_audit_success");
  };
}

const regenerateCallbackSecret = () =>
  execute(server.url, RegenerateCallbackSecretDocument, { input: { confirmation: server.confirmation() } }, { token: owner });
const verifying = () => verifyingCallbackSecrets(server.em(), server.service.box, demoAccountId, new Date(server.clock.now()));
const entriesOf = (action: string) => server.em().find(AuditEntry, { action }, { orderBy: { id: "asc" } });

describe("audit trail", () => {
  it("fails closed: a change whose SUCCESS entry cannot be written does not happen, and the caller is told", async () => {
    const { callbackSecret } = (await regenerateCallbackSecret()).data!.regenerateCallbackSecret;
    const secretRows = await sql("select * from callback_secret order by id");
    const entriesBefore = await entriesOf("REGENERATE_CALLBACK_SECRET");
    expect(entriesBefore.map((entry) => entry.outcome)).toEqual(["SUCCESS"]);

    const restore = await refuseSuccessEntries("REGENERATE_CALLBACK_SECRET");
    try {
      const refused = await regenerateCallbackSecret();
      expect(refused.data?.regenerateCallbackSecret ?? null).toBeNull();
      expect(codes(refused)).toEqual(["INTERNAL_SERVER_ERROR"]);
    } finally {
      await restore();
    }

    // The old secret still verifies, alone; the rows are exactly as they were.
    expect(await verifying()).toEqual([callbackSecret]);
    expect(await sql("select * from callback_secret order by id")).toEqual(secretRows);
    // No SUCCESS entry; the failure is recorded in a transaction of its own.
    expect((await entriesOf("REGENERATE_CALLBACK_SECRET")).map((entry) => entry.outcome)).toEqual(["SUCCESS", "ERROR"]);

    // Once entries can be written again, the change goes through with its entry.
    const { callbackSecret: next } = (await regenerateCallbackSecret()).data!.regenerateCallbackSecret;
    expect(await verifying()).toEqual([next]);
    expect((await entriesOf("REGENERATE_CALLBACK_SECRET")).map((entry) => entry.outcome)).toEqual(["SUCCESS", "ERROR", "SUCCESS"]);
  });

  it("is append-only: the database refuses to update or delete an entry", async () => {
    const [entry] = await entriesOf("REGENERATE_CALLBACK_SECRET");
    await expect(sql(`update audit_entry set detail = 'rewritten' where id = ${entry!.id}`)).rejects.toThrow(/append-only/);
    await expect(sql(`delete from audit_entry where id = ${entry!.id}`)).rejects.toThrow(/append-only/);
    await expect(sql("delete from audit_entry")).rejects.toThrow(/append-only/);
    expect((await server.em().findOneOrFail(AuditEntry, { id: entry!.id })).detail).toBe(entry!.detail);
  });

  it("keeps the actor's identity as it was, with plain ids that nothing deletes", async () => {
    const [entry] = await entriesOf("REGENERATE_CALLBACK_SECRET");
    expect(entry).toMatchObject({ accountId: demoAccountId, actorId: await server.userId("owner@example.com"), actorEmail: "owner@example.com" });
    // No foreign key ties an entry to its account or users.
    const foreignKeys = onPostgres
      ? await sql("select conname from pg_constraint where conrelid = 'audit_entry'::regclass and contype = 'f'")
      : await sql("select * from pragma_foreign_key_list('audit_entry')");
    expect(foreignKeys).toEqual([]);
  });

  it("chains every entry to the one before; verify walks the chain and export prints it as JSON lines", async () => {
    const verified = await cli(["audit", "verify"]);
    expect(verified.stderr).toBe("");
    expect(verified).toMatchObject({ code: 0 });
    const total = await server.em().count(AuditEntry, {});
    expect(verified.stdout.trim()).toBe(`OK: ${total} audit entries, chain intact`);

    const exported = await cli(["audit", "export", "--since", "2000-01-01T00:00:00Z", "--account", demoAccountId]);
    expect(exported.code).toBe(0);
    const lines = exported.stdout.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    const stored = await server.em().find(AuditEntry, { accountId: demoAccountId }, { orderBy: { id: "asc" } });
    expect(lines.map((line) => line.id)).toEqual(stored.map((entry) => entry.id));
    expect(lines.every((line) => line.accountId === demoAccountId && typeof line.hash === "string")).toBe(true);
    const all = await cli(["audit", "export", "--since", "2000-01-01T00:00:00Z"]);
    expect(all.stdout.trim().split("\n")).toHaveLength(total);
    const future = await cli(["audit", "export", "--since", "2100-01-01T00:00:00Z"]);
    expect(future).toMatchObject({ code: 0, stdout: "" });
    expect((await cli(["audit", "export", "--since", "yesterday"])).code).toBe(1);
  });

  it("verify names the first entry whose content was changed behind the database's back", async () => {
    const [, tampered] = await entriesOf("REGENERATE_CALLBACK_SECRET");
    if (onPostgres) {
      await sql("alter table audit_entry disable trigger audit_entry_append_only");
      await sql(`update audit_entry set detail = 'nothing happened' where id = ${tampered!.id}`);
      await sql("alter table audit_entry enable trigger audit_entry_append_only");
    } else {
      await sql("drop trigger audit_entry_append_only_update");
      await sql(`update audit_entry set detail = 'nothing happened' where id = ${tampered!.id}`);
    }
    const verified = await cli(["audit", "verify"]);
    expect(verified.code).toBe(1);
    expect(verified.stdout).toBe("");
    expect(verified.stderr).toContain(`BROKEN at audit entry ${tampered!.id}: content does not match its hash`);
  });
});
