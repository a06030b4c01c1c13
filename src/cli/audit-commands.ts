import { parseArgs } from "node:util";
import { exportAuditEntries, verifyAuditChain } from "../audit/audit-trail.js";
import { UsageError, withServiceDatabase } from "./provisioning-commands.js";

export const AUDIT_USAGE = `Audit trail (any set-up; run with the service's configuration: DATA_DIR or DATABASE_URL):
  audit verify
      Walks the hash chain of all audit entries; prints OK and the count, or the first broken entry (exit 1).
  audit export --since <ISO date> [--account <account id>]
      Prints the entries written since then (of that account), oldest first, one JSON object a line, hashes
      included.`;

/** `audit verify` and `audit export`. */
export async function auditCommand(args: string[]): Promise<void> {
  const [subcommand, ...rest] = args;
  if (subcommand === "verify") {
    parseArgs({ args: rest, options: {}, strict: true });
    const verification = await withServiceDatabase((db) => verifyAuditChain(db.orm.em.fork()));
    if (verification.ok) {
      console.log(`OK: ${verification.entries} audit entries, chain intact`);
      return;
    }
    console.error(`BROKEN at audit entry ${verification.broken.id}: ${verification.broken.reason} (${verification.entries} entries before it check)`);
    process.exitCode = 1;
    return;
  }
  if (subcommand === "export") {
    const { values } = parseArgs({ args: rest, options: { since: { type: "string" }, account: { type: "string" } }, strict: true });
    if (!values.since) throw new UsageError("audit export needs --since <ISO date>");
    const since = new Date(values.since);
    if (Number.isNaN(since.getTime())) throw new UsageError(`--since ${values.since} is not a date (e.g. 2026-12-01T00:00:00Z)`);
    await withServiceDatabase((db) =>
      exportAuditEntries(db.orm.em.fork(), { since, accountId: values.account }, (line) => {
        process.stdout.write(line);
      }),
    );
    return;
  }
  throw new UsageError(`unknown audit command ${subcommand ?? "(none)"}`);
}
