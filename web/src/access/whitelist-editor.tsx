import { useState, type FormEvent } from "react";
import type { ApiError } from "../api-errors";
import { ErrorMessages } from "../components/error-messages";

/**
 * The IP whitelist, one address or CIDR range per row. The API checks the entries (before any code is spent);
 * its refusal is shown here in its words, on the row it names (`entries[i]`).
 */
export function WhitelistEditor({ saved, refusal, onSave }: { saved: readonly string[]; refusal: ApiError[] | null; onSave(entries: string[]): void }) {
  const [rows, setRows] = useState<string[]>(() => (saved.length > 0 ? [...saved] : [""]));
  /** For each entry sent, the row it came from (blank rows are not sent). */
  const [sentRows, setSentRows] = useState<number[]>([]);
  const entries = rows.map((value, row) => ({ value: value.trim(), row })).filter((entry) => entry.value !== "");
  const unchanged = entries.length === saved.length && entries.every((entry, index) => entry.value === saved[index]);
  const invalidRows = new Set(
    (refusal ?? []).flatMap((error) => {
      const index = /^entries\[(\d+)\]$/.exec(String(error.extensions.field ?? ""))?.[1];
      const row = index === undefined ? undefined : sentRows[Number(index)];
      return row === undefined ? [] : [row];
    }),
  );

  const save = (event: FormEvent) => {
    event.preventDefault();
    setSentRows(entries.map((entry) => entry.row));
    onSave(entries.map((entry) => entry.value));
  };
  const update = (row: number, value: string) => setRows((current) => current.map((entry, index) => (index === row ? value : entry)));

  return (
    <form className="whitelist" onSubmit={save} aria-labelledby="whitelist-heading">
      <h3 id="whitelist-heading">IP whitelist</h3>
      <p className="hint">Addresses and CIDR ranges allowed to use the API (at most 100). Empty: any address.</p>
      <ol className="whitelist-rows">
        {rows.map((value, row) => (
          <li key={row}>
            <input
              aria-label={`Whitelist entry ${row + 1}`}
              name="whitelist-entry"
              value={value}
              placeholder="203.0.113.7 or 2001:db8::/48"
              spellCheck={false}
              aria-invalid={invalidRows.has(row) || undefined}
              onChange={(event) => update(row, event.target.value)}
            />
            <button
              type="button"
              className="icon-button"
              aria-label={`Remove whitelist entry ${row + 1}`}
              onClick={() => setRows((current) => (current.length > 1 ? current.filter((_, index) => index !== row) : [""]))}
            >
              ×
            </button>
          </li>
        ))}
      </ol>
      <ErrorMessages errors={refusal} />
      <div className="actions">
        <button type="button" onClick={() => setRows((current) => [...current, ""])}>
          Add an entry
        </button>
        <button type="submit" className="primary" disabled={unchanged}>
          Save whitelist
        </button>
      </div>
    </form>
  );
}
