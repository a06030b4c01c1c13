import { useApolloClient, useQuery } from "@apollo/client/react";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { apiErrors, type ApiError } from "../api-errors";
import { ErrorMessages } from "../components/error-messages";
import { Modal } from "../components/modal";
import { SecretValue } from "../components/secret-value";
import { formatTime, GRANTABLE_ROLES, ROLE_NAMES } from "../format";
import {
  AccessListDocument,
  ChangeWalletRoleDocument,
  GrantWalletAccessDocument,
  RevokeWalletAccessDocument,
  WalletsDocument,
  type AccessEntryFragment,
  type WalletRole,
} from "../generated/graphql";
import { useSession } from "../session/session-context";

/**
 * Who holds which role on which wallet. The Owner grants (a new e-mail adds the person and reveals their
 * invitation once), changes and revokes; anyone else sees their own entry.
 */
export function PeopleTab() {
  const { viewer } = useSession();
  const client = useApolloClient();
  const { data, error } = useQuery(AccessListDocument);
  const [refusal, setRefusal] = useState<ApiError[] | null>(null);
  const [revoking, setRevoking] = useState<{ entry: AccessEntryFragment; walletId: string; walletLabel: string } | null>(null);
  if (!data) return error ? <ErrorMessages errors={apiErrors(error)} /> : <p role="status">Loading…</p>;

  /** Runs an access change and reads the access list again; a refusal is shown as the API words it. */
  const change = async (run: () => Promise<unknown>): Promise<void> => {
    setRefusal(null);
    try {
      await run();
      await client.refetchQueries({ include: [AccessListDocument] });
    } catch (caught) {
      setRefusal(apiErrors(caught));
    }
  };
  const manages = (entry: AccessEntryFragment) => viewer.isOwner && !entry.isOwner && entry.user.kind === "HUMAN";

  return (
    <div className="tab-panel">
      <ErrorMessages errors={refusal} />
      <table className="access-list">
        <thead>
          <tr>
            <th scope="col">Person</th>
            <th scope="col">Wallets and roles</th>
          </tr>
        </thead>
        <tbody>
          {data.accessList.map((entry) => (
            <tr key={entry.user.id} data-user={entry.user.email}>
              <td>
                {entry.user.email}
                {entry.isOwner && <span className="badge">Owner</span>}
                {entry.user.kind === "API" && <span className="badge">API user</span>}
              </td>
              <td>
                {entry.isOwner ? (
                  <span>Owner of every wallet</span>
                ) : entry.grants.length === 0 ? (
                  <span className="muted">No wallet</span>
                ) : (
                  <ul className="grants">
                    {entry.grants.map((grant) => (
                      <li key={grant.wallet.id}>
                        <span className="grant-wallet">
                          {grant.wallet.label} <span className="muted">#{grant.wallet.id}</span>
                        </span>
                        {manages(entry) ? (
                          <>
                            <select
                              aria-label={`Role of ${entry.user.email} on ${grant.wallet.label}`}
                              value={grant.role}
                              onChange={(event) =>
                                void change(() =>
                                  client.mutate({
                                    mutation: ChangeWalletRoleDocument,
                                    variables: { input: { userId: entry.user.id, walletId: grant.wallet.id, role: event.target.value as WalletRole } },
                                  }),
                                )
                              }
                            >
                              {GRANTABLE_ROLES.map((role) => (
                                <option key={role} value={role}>
                                  {ROLE_NAMES[role]}
                                </option>
                              ))}
                            </select>
                            <button
                              type="button"
                              onClick={() => setRevoking({ entry, walletId: grant.wallet.id, walletLabel: grant.wallet.label })}
                            >
                              Revoke
                            </button>
                          </>
                        ) : (
                          <span className="role">{ROLE_NAMES[grant.role]}</span>
                        )}
                      </li>
                    ))}
                  </ul>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {viewer.isOwner && (
        <GrantForm
          onStart={() => setRefusal(null)}
          onGranted={() => void client.refetchQueries({ include: [AccessListDocument] })}
          onRefused={setRefusal}
        />
      )}
      {revoking && (
        <Modal title="Revoke access" onClose={() => setRevoking(null)}>
          <div className="modal-body">
            <p>
              {revoking.entry.user.email} loses access to {revoking.walletLabel} (#{revoking.walletId}); their open dashboards stop
              showing its events.
            </p>
          </div>
          <footer className="modal-footer">
            <button type="button" onClick={() => setRevoking(null)}>
              Cancel
            </button>
            <button
              type="button"
              className="danger"
              onClick={() => {
                const { entry, walletId } = revoking;
                setRevoking(null);
                void change(() => client.mutate({ mutation: RevokeWalletAccessDocument, variables: { input: { userId: entry.user.id, walletId } } }));
              }}
            >
              Revoke
            </button>
          </footer>
        </Modal>
      )}
    </div>
  );
}

interface GrantInput {
  email: string;
  walletId: string;
  role: WalletRole;
}

function GrantForm({ onStart, onGranted, onRefused }: { onStart(): void; onGranted(): void; onRefused(errors: ApiError[]): void }) {
  const wallets = useQuery(WalletsDocument, { variables: { after: null } }).data?.wallets.edges.map((edge) => edge.node) ?? [];
  const [email, setEmail] = useState("");
  const [walletId, setWalletId] = useState("");
  const [role, setRole] = useState<WalletRole>("READ_ONLY");
  const [granting, setGranting] = useState<GrantInput | null>(null);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onStart();
    setGranting({ email: email.trim(), walletId: walletId || wallets[0]?.id || "", role });
  };
  return (
    <form className="grant" onSubmit={submit} aria-labelledby="grant-heading">
      <h2 id="grant-heading">Grant access</h2>
      <p className="hint">A new e-mail adds the person to the account; their invitation to set a password is shown once.</p>
      <div className="fields">
        <label>
          E-mail
          <input type="email" name="email" required value={email} onChange={(event) => setEmail(event.target.value)} autoComplete="off" />
        </label>
        <label>
          Wallet
          <select name="wallet" value={walletId || wallets[0]?.id || ""} onChange={(event) => setWalletId(event.target.value)}>
            {wallets.map((wallet) => (
              <option key={wallet.id} value={wallet.id}>
                {wallet.label} (#{wallet.id})
              </option>
            ))}
          </select>
        </label>
        <label>
          Role
          <select name="role" value={role} onChange={(event) => setRole(event.target.value as WalletRole)}>
            {GRANTABLE_ROLES.map((value) => (
              <option key={value} value={value}>
                {ROLE_NAMES[value]}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="primary" disabled={granting !== null}>
          Grant
        </button>
      </div>
      {granting && (
        <GrantRequest
          input={granting}
          onGranted={() => {
            setEmail("");
            onGranted();
          }}
          onEnd={(errors) => {
            setGranting(null);
            if (errors) onRefused(errors);
          }}
        />
      )}
    </form>
  );
}

/**
 * Sends one grant and, when it added a person, reveals their invitation once in a popup. The invitation lives in
 * this component's state only, and goes when the popup closes and the component with it.
 */
function GrantRequest({ input, onGranted, onEnd }: { input: GrantInput; onGranted(): void; onEnd(errors: ApiError[] | null): void }) {
  const client = useApolloClient();
  const [invitation, setInvitation] = useState<{ token: string; expiresAt: string } | null>(null);
  const ended = useRef({ onGranted, onEnd });
  useEffect(() => {
    let live = true;
    client.mutate({ mutation: GrantWalletAccessDocument, variables: { input }, fetchPolicy: "no-cache" }).then(
      (answer) => {
        if (!live) return;
        ended.current.onGranted();
        const issued = answer.data?.grantWalletAccess.invitation;
        if (issued) setInvitation({ token: issued.token, expiresAt: issued.expiresAt });
        else ended.current.onEnd(null);
      },
      (error: unknown) => live && ended.current.onEnd(apiErrors(error)),
    );
    return () => {
      live = false;
    };
  }, [client, input]);
  if (!invitation) return null;
  const link = `${window.location.origin}/invitation#invitation=${encodeURIComponent(invitation.token)}`;
  const close = () => ended.current.onEnd(null);
  return (
    <Modal title={`Invitation for ${input.email}`} onClose={close}>
      <div className="modal-body">
        <p>Hand this link to {input.email}: it sets their password, once, until {formatTime(invitation.expiresAt)}.</p>
        <SecretValue label="Invitation link" value={link} />
        <SecretValue label="Invitation token" value={invitation.token} />
        <p className="warning" role="note">
          Mind that the invitation only reveals once in this popup. It can’t be accessed after the popup is closed.
        </p>
      </div>
      <footer className="modal-footer">
        <button type="button" className="primary" onClick={close}>
          Close
        </button>
      </footer>
    </Modal>
  );
}
