import { useState } from "react";

/**
 * A value shown once, with a Copy button; it lives only as long as the popup or page step that shows it.
 * `display` is how it is shown when that differs from what is copied (grouped for typing).
 */
export function SecretValue({ label, value, display = value }: { label: string; value: string; display?: string }) {
  return (
    <div className="secret">
      <span className="secret-label">{label}</span>
      <code className="secret-value" aria-label={label}>
        {display}
      </code>
      <CopyButton label={label} value={value} />
    </div>
  );
}

export function CopyButton({ label, value }: { label: string; value: string }) {
  const [outcome, setOutcome] = useState<"copied" | "failed" | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setOutcome("copied");
    } catch {
      setOutcome("failed");
    }
  };
  return (
    <button type="button" className="copy" aria-label={`Copy ${label}`} onClick={() => void copy()}>
      {outcome === "copied" ? "Copied" : outcome === "failed" ? "Copy failed: select and copy" : "Copy"}
    </button>
  );
}
