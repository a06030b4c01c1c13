import { parseArgs } from "node:util";
import { buildSignedCallback } from "../callbacks/callback-builder.js";
import { CallbackEventKind, TransferStatus } from "../events/event.js";

export const SEND_CALLBACK_USAGE = `  send-callback --secret <callback secret> [options]
      Builds a deposit or payout callback as the platform sends it, signs it and posts it.
      --wallet <id>          wallet id (default 10001, the demo ETH wallet)
      --kind <kind>          deposit | payout (default deposit)
      --status <status>      CONFIRMED, UNCONFIRMED, CREATED, FAILED, BLOCKED, CANCELED or the code -3..2 (default CONFIRMED)
      --amount <decimal>     exactly as the platform would send it (default 0.300000000000000000)
      --tracking-id <text>   the merchant's reference (default a new one)
      --transfer-id <id>     the transfer (default a new one; reuse it to send the same transfer again)
      --time <text>          meta.time (default now, in seconds)
      --secret <secret>      the callback secret (or CALLBACK_SECRET)
      --url <url>            where to post (default http://localhost:4000/callbacks)`;

function status(value: string): TransferStatus {
  if (/^-?\d+$/.test(value) && Number(value) in TransferStatus) return Number(value);
  const code = TransferStatus[value.toUpperCase() as keyof typeof TransferStatus];
  if (code === undefined) throw new Error(`--status must be one of CONFIRMED, UNCONFIRMED, CREATED, FAILED, BLOCKED, CANCELED or -3..2`);
  return code;
}

/** Posts one signed callback; prints the answer's status (and body, if any); fails on anything but 200. */
export async function sendCallback(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      wallet: { type: "string", default: "10001" },
      kind: { type: "string", default: "deposit" },
      status: { type: "string", default: "CONFIRMED" },
      amount: { type: "string", default: "0.300000000000000000" },
      "tracking-id": { type: "string" },
      "transfer-id": { type: "string" },
      time: { type: "string" },
      secret: { type: "string", default: process.env.CALLBACK_SECRET },
      url: { type: "string", default: "http://localhost:4000/callbacks" },
    },
  });
  if (!values.secret) throw new Error("--secret (or CALLBACK_SECRET) is required");
  if (values.kind !== "deposit" && values.kind !== "payout") throw new Error("--kind must be deposit or payout");
  const body = buildSignedCallback({
    walletId: values.wallet!,
    kind: values.kind === "payout" ? CallbackEventKind.PAYOUT : CallbackEventKind.DEPOSIT,
    status: status(values.status!),
    amount: values.amount!,
    trackingId: values["tracking-id"] ?? `sim-${Date.now()}`,
    transferId: values["transfer-id"],
    time: values.time,
    secret: values.secret,
  });
  const response = await fetch(values.url!, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  process.stdout.write(`HTTP ${response.status}${text ? ` ${text}` : ""}\n`);
  if (response.status !== 200) process.exitCode = 1;
}
