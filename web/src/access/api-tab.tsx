import { useApolloClient, useQuery } from "@apollo/client/react";
import { useState } from "react";
import { apiErrors, type ApiError } from "../api-errors";
import { ErrorMessages } from "../components/error-messages";
import { SecretValue } from "../components/secret-value";
import { ConfirmationPopup } from "../confirmation/confirmation-popup";
import { formatTime } from "../format";
import {
  ApiAccessDocument,
  RegenerateApiCredentialsDocument,
  SetApiIpWhitelistDocument,
  SetApiUserActiveDocument,
} from "../generated/graphql";
import { useSession } from "../session/session-context";
import { OwnerOnly } from "./access-list-page";
import { WhitelistEditor } from "./whitelist-editor";

type Popup = { kind: "whitelist"; entries: string[] } | { kind: "activate"; active: boolean } | { kind: "regenerate" } | null;

/**
 * The API tab, as the platform's "How to access the API" page describes it: the IP whitelist, the Activate API
 * user toggle, and Regenerate, which reveals the new key and secret once, in the popup.
 */
export function ApiTab() {
  const { viewer } = useSession();
  if (!viewer.isOwner) return <OwnerOnly what="manages API access: the IP whitelist, the API user and its credentials" />;
  return <OwnerApiTab />;
}

function OwnerApiTab() {
  const client = useApolloClient();
  const { data, error } = useQuery(ApiAccessDocument);
  const [popup, setPopup] = useState<Popup>(null);
  const [whitelistRefusal, setWhitelistRefusal] = useState<ApiError[] | null>(null);
  if (!data) return error ? <ErrorMessages errors={apiErrors(error)} /> : <p role="status">Loading…</p>;
  const access = data.apiAccess;
  const close = () => setPopup(null);
  /** The state after a change is read again: the answer to a confirmed operation never enters the cache. */
  const reread = () => void client.refetchQueries({ include: [ApiAccessDocument] });

  return (
    <div className="tab-panel">
      <section aria-labelledby="manage-api-access">
        <h2 id="manage-api-access">Manage API access</h2>
        <WhitelistEditor
          key={access.ipWhitelist.join(",")}
          saved={access.ipWhitelist}
          refusal={whitelistRefusal}
          onSave={(entries) => {
            setWhitelistRefusal(null);
            setPopup({ kind: "whitelist", entries });
          }}
        />
        <div className="toggle-row">
          <button
            type="button"
            role="switch"
            className="switch"
            aria-checked={access.apiUserActive}
            aria-labelledby="activate-api-user"
            onClick={() => setPopup({ kind: "activate", active: !access.apiUserActive })}
          >
            <span className="switch-knob" aria-hidden="true" />
          </button>
          <span id="activate-api-user">Activate API user</span>
        </div>
        <p className="hint">The API user holds the Admin role on every wallet of the account.</p>
      </section>

      <section aria-labelledby="api-credentials">
        <h2 id="api-credentials">Your API access credentials</h2>
        {access.credentials ? (
          <dl className="facts">
            <dt>API key</dt>
            <dd>
              <code>{access.credentials.apiKey}</code>
            </dd>
            <dt>Created</dt>
            <dd>{formatTime(access.credentials.createdAt)}</dd>
            <dt>Last used</dt>
            <dd>{access.credentials.lastUsedAt ? formatTime(access.credentials.lastUsedAt) : "never"}</dd>
          </dl>
        ) : (
          <p>No API key yet.</p>
        )}
        <button type="button" className="primary" onClick={() => setPopup({ kind: "regenerate" })}>
          Regenerate
        </button>
      </section>

      {popup?.kind === "whitelist" && (
        <ConfirmationPopup
          title="Save the IP whitelist"
          action="Save"
          description={
            <p>
              {popup.entries.length === 0
                ? "An empty whitelist lets the API be used from any address."
                : `Only these ${popup.entries.length} entries may use the API.`}
            </p>
          }
          run={async (confirmation) =>
            (
              await client.mutate({
                mutation: SetApiIpWhitelistDocument,
                variables: { input: { entries: popup.entries, confirmation } },
                fetchPolicy: "no-cache",
              })
            ).data!.setApiIpWhitelist
          }
          onSuccess={reread}
          takeRefusal={(errors) => {
            if (!errors.some((entry) => entry.code === "BAD_USER_INPUT" && String(entry.extensions.field ?? "").startsWith("entries"))) return false;
            setWhitelistRefusal(errors);
            return true;
          }}
          onClose={close}
        />
      )}
      {popup?.kind === "activate" && (
        <ConfirmationPopup
          title={popup.active ? "Activate the API user" : "Deactivate the API user"}
          action={popup.active ? "Activate" : "Deactivate"}
          description={popup.active ? null : <p>Its tokens stop working at once.</p>}
          run={async (confirmation) =>
            (
              await client.mutate({
                mutation: SetApiUserActiveDocument,
                variables: { input: { active: popup.active, confirmation } },
                fetchPolicy: "no-cache",
              })
            ).data!.setApiUserActive
          }
          onSuccess={reread}
          onClose={close}
        />
      )}
      {popup?.kind === "regenerate" && (
        <ConfirmationPopup
          title="Regenerate API credentials"
          action="Regenerate"
          description={<p>The current key and secret, and the tokens issued for them, stop working.</p>}
          run={async (confirmation) =>
            (
              await client.mutate({
                mutation: RegenerateApiCredentialsDocument,
                variables: { input: { confirmation } },
                fetchPolicy: "no-cache",
              })
            ).data!.regenerateApiCredentials
          }
          onSuccess={reread}
          reveal={(credentials) => (
            <>
              <SecretValue label="API key" value={credentials.apiKey} />
              <SecretValue label="API secret" value={credentials.apiSecret} />
              <p className="warning" role="note">
                Mind that the credentials only reveal once in this popup. They can’t be accessed after the popup is
                closed and have to be regenerated.
              </p>
            </>
          )}
          onClose={close}
        />
      )}
    </div>
  );
}
