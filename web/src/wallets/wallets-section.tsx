import { useQuery } from "@apollo/client/react";
import { apiErrors } from "../api-errors";
import { ErrorMessages } from "../components/error-messages";
import { enumWords } from "../format";
import { WalletsDocument } from "../generated/graphql";

/** The wallets the viewer may see, with their balances exactly as the API states them (decimal strings). */
export function WalletsSection() {
  const { data, error } = useQuery(WalletsDocument, { variables: { after: null } });
  const wallets = data?.wallets.edges.map((edge) => edge.node) ?? [];
  return (
    <section aria-labelledby="wallets-heading">
      <h2 id="wallets-heading">Wallets</h2>
      {error && <ErrorMessages errors={apiErrors(error)} />}
      {!data && !error && <p role="status">Loading wallets…</p>}
      {data && wallets.length === 0 && <p>No wallet is shared with you yet.</p>}
      {wallets.length > 0 && (
        <table className="wallets">
          <thead>
            <tr>
              <th scope="col">Wallet</th>
              <th scope="col">Currency</th>
              <th scope="col">Status</th>
              <th scope="col">Type</th>
              <th scope="col" className="amount">
                Confirmed
              </th>
              <th scope="col" className="amount">
                Pending
              </th>
              <th scope="col" className="amount">
                Unusable
              </th>
            </tr>
          </thead>
          <tbody>
            {wallets.map((wallet) => (
              <tr key={wallet.id} data-wallet-id={wallet.id}>
                <td>
                  {wallet.label} <span className="muted">#{wallet.id}</span>
                </td>
                <td title={wallet.currency.name}>{wallet.currency.alpha}</td>
                <td>{enumWords(wallet.status)}</td>
                <td>{enumWords(wallet.type)}</td>
                <td className="amount">{wallet.balanceConfirmed}</td>
                <td className="amount">{wallet.balancePending}</td>
                <td className="amount">{wallet.balanceUnusable}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data?.wallets.pageInfo.hasNextPage && <p className="hint">The first {wallets.length} wallets are shown.</p>}
    </section>
  );
}
