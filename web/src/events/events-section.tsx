import { useApolloClient, useQuery } from "@apollo/client/react";
import { useEffect, useMemo, useRef, useState } from "react";
import { ErrorMessages } from "../components/error-messages";
import { enumWords, formatTime } from "../format";
import {
  WalletsDocument,
  type CallbackEventFilter,
  type CallbackEventKind,
  type EventRowFragment,
  type TransferStatus,
} from "../generated/graphql";
import { useSession } from "../session/session-context";
import { followEvents, type FeedState } from "./event-feed";

/** How many events the table holds, the newest; older ones leave it as new ones come. */
const SHOWN_EVENTS = 500;
const KINDS: CallbackEventKind[] = ["DEPOSIT", "PAYOUT"];
const STATUSES: TransferStatus[] = ["CONFIRMED", "UNCONFIRMED", "CREATED", "FAILED", "BLOCKED", "CANCELED", "UNKNOWN"];

interface Row {
  event: EventRowFragment;
  /** Arrived after the table was first filled: shown as new. */
  arrived: boolean;
}

/**
 * The callback events the viewer may see, newest first, filtered by wallet, kind and transfer status on the
 * server; new ones appear as they arrive, and the state of the connection is shown.
 */
export function EventsSection() {
  const { settings, token, signOut } = useSession();
  const client = useApolloClient();
  const wallets = useQuery(WalletsDocument, { variables: { after: null } }).data?.wallets.edges.map((edge) => edge.node) ?? [];
  const [walletId, setWalletId] = useState("");
  const [kind, setKind] = useState<CallbackEventKind | "">("");
  const [status, setStatus] = useState<TransferStatus | "">("");
  const filter = useMemo<CallbackEventFilter>(
    () => ({
      ...(walletId ? { walletIds: [walletId] } : {}),
      ...(kind ? { kinds: [kind] } : {}),
      ...(status ? { statuses: [status] } : {}),
    }),
    [walletId, kind, status],
  );
  const [rows, setRows] = useState<Row[]>([]);
  const [state, setState] = useState<FeedState>({ kind: "reading-history" });
  const [restarts, setRestarts] = useState(0);
  const retryNow = useRef<() => void>(() => {});

  useEffect(() => {
    setRows([]);
    const feed = followEvents({
      client,
      wsUrl: settings.routerWsUrl,
      token,
      filter,
      onEvents: (events, origin) =>
        setRows((shown) => [...events.map((event) => ({ event, arrived: origin === "arrival" })).reverse(), ...shown].slice(0, SHOWN_EVENTS)),
      onReset: () => setRows([]),
      onState: setState,
      onUnauthenticated: (message) => signOut(`The API refused your token: ${message}`),
      onAccessChanged: () => void client.refetchQueries({ include: [WalletsDocument] }),
    });
    retryNow.current = feed.retryNow;
    // Back online, or back to the tab after the laptop slept: no need to wait for the next attempt.
    const wake = () => {
      if (document.visibilityState === "visible") feed.retryNow();
    };
    window.addEventListener("online", wake);
    document.addEventListener("visibilitychange", wake);
    return () => {
      window.removeEventListener("online", wake);
      document.removeEventListener("visibilitychange", wake);
      feed.stop();
    };
  }, [client, settings.routerWsUrl, token, filter, signOut, restarts]);

  return (
    <section aria-labelledby="events-heading">
      <div className="section-header">
        <h2 id="events-heading">Callback events</h2>
        <ConnectionState state={state} onRetry={() => retryNow.current()} />
      </div>
      <div className="filters" role="group" aria-label="Filters">
        <label>
          Wallet
          <select name="wallet" value={walletId} onChange={(event) => setWalletId(event.target.value)}>
            <option value="">All wallets</option>
            {wallets.map((wallet) => (
              <option key={wallet.id} value={wallet.id}>
                {wallet.label} (#{wallet.id})
              </option>
            ))}
          </select>
        </label>
        <label>
          Kind
          <select name="kind" value={kind} onChange={(event) => setKind(event.target.value as CallbackEventKind | "")}>
            <option value="">All kinds</option>
            {KINDS.map((value) => (
              <option key={value} value={value}>
                {enumWords(value)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select name="status" value={status} onChange={(event) => setStatus(event.target.value as TransferStatus | "")}>
            <option value="">All statuses</option>
            {STATUSES.map((value) => (
              <option key={value} value={value}>
                {enumWords(value)}
              </option>
            ))}
          </select>
        </label>
      </div>
      {state.kind === "stopped" && (
        <>
          <ErrorMessages errors={state.errors} />
          <button type="button" onClick={() => setRestarts((count) => count + 1)}>
            Try again
          </button>
        </>
      )}
      <table className="events">
        <thead>
          <tr>
            <th scope="col">Received</th>
            <th scope="col">Kind</th>
            <th scope="col">Wallet</th>
            <th scope="col">Tracking id</th>
            <th scope="col">Operation</th>
            <th scope="col" className="amount">
              Amount
            </th>
            <th scope="col">Transfer</th>
            <th scope="col">Deposit / payout</th>
            <th scope="col">Transaction</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ event, arrived }) => (
            <tr key={event.id} className={arrived ? "arrived" : undefined} data-event-id={event.id}>
              <td>{formatTime(event.receivedAt)}</td>
              <td>{enumWords(event.kind)}</td>
              <td>
                {event.wallet.label} <span className="muted">#{event.wallet.id}</span>
              </td>
              <td className="tracking-id">{event.trackingId}</td>
              <td>{event.operationId}</td>
              <td className="amount">
                {event.amount ?? ""} {event.currency ?? ""}
              </td>
              <td>{enumWords(event.transferStatus)}</td>
              <td>{enumWords(event.depositStatus ?? event.payoutStatus)}</td>
              <td className="txid" title={event.txid ?? undefined}>
                {event.txid ?? ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && state.kind !== "reading-history" && <p className="hint">No event yet: new ones appear here as they arrive.</p>}
    </section>
  );
}

function ConnectionState({ state, onRetry }: { state: FeedState; onRetry(): void }) {
  const words = {
    "reading-history": "Reading the history…",
    connecting: "Connecting…",
    live: "Live",
    waiting: "Reconnecting…",
    stopped: "Stopped",
  }[state.kind];
  return (
    <div className="connection" data-state={state.kind} role="status" aria-live="polite">
      <span className="dot" aria-hidden="true" />
      <span className="connection-words">{words}</span>
      {state.kind === "waiting" && (
        <>
          <span className="muted">{state.reason}</span>
          <button type="button" className="link-button" onClick={onRetry}>
            Retry now
          </button>
        </>
      )}
    </div>
  );
}
