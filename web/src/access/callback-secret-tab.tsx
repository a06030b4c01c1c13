import { useApolloClient, useQuery } from "@apollo/client/react";
import { useState } from "react";
import { apiErrors } from "../api-errors";
import { ErrorMessages } from "../components/error-messages";
import { SecretValue } from "../components/secret-value";
import { ConfirmationPopup } from "../confirmation/confirmation-popup";
import { formatTime } from "../format";
import { CallbackSecretStatusDocument, RegenerateCallbackSecretDocument } from "../generated/graphql";
import { useSession } from "../session/session-context";
import { OwnerOnly } from "./access-list-page";

/** How long the previous secret may keep verifying callbacks, while the platform's side is switched over. */
const OVERLAPS = [
  { seconds: 0, words: "Stops at once" },
  { seconds: 3600, words: "1 hour" },
  { seconds: 86_400, words: "24 hours" },
  { seconds: 604_800, words: "7 days" },
] as const;

/** The Callback secret tab: whether a secret is set, and Regenerate, which reveals the new one once. */
export function CallbackSecretTab() {
  const { viewer } = useSession();
  if (!viewer.isOwner) return <OwnerOnly what="regenerates the callback secret" />;
  return <OwnerCallbackSecretTab />;
}

function OwnerCallbackSecretTab() {
  const client = useApolloClient();
  const { data, error } = useQuery(CallbackSecretStatusDocument);
  const [overlap, setOverlap] = useState(0);
  const [confirming, setConfirming] = useState(false);
  if (!data) return error ? <ErrorMessages errors={apiErrors(error)} /> : <p role="status">Loading…</p>;
  const status = data.callbackSecretStatus;

  return (
    <div className="tab-panel">
      <section aria-labelledby="callback-secret-heading">
        <h2 id="callback-secret-heading">Your callback secret</h2>
        <dl className="facts">
          <dt>Status</dt>
          <dd className="secret-status">{status.isSet ? "Set" : "Not set"}</dd>
          {status.createdAt && (
            <>
              <dt>Created</dt>
              <dd>{formatTime(status.createdAt)}</dd>
            </>
          )}
          {status.previousSecretExpiresAt && (
            <>
              <dt>Previous secret verifies until</dt>
              <dd>{formatTime(status.previousSecretExpiresAt)}</dd>
            </>
          )}
        </dl>
        <label>
          The previous secret keeps verifying callbacks
          <select name="overlap" value={overlap} onChange={(event) => setOverlap(Number(event.target.value))}>
            {OVERLAPS.map((option) => (
              <option key={option.seconds} value={option.seconds}>
                {option.words}
              </option>
            ))}
          </select>
        </label>
        <p>
          <button type="button" className="primary" onClick={() => setConfirming(true)}>
            Regenerate
          </button>
        </p>
      </section>
      {confirming && (
        <ConfirmationPopup
          title="Regenerate the callback secret"
          action="Regenerate"
          description={
            <p>
              {overlap === 0
                ? "Callbacks signed with the current secret are refused from now on."
                : `Callbacks signed with the current secret are still accepted for ${OVERLAPS.find((option) => option.seconds === overlap)?.words}.`}
            </p>
          }
          run={async (confirmation) =>
            (
              await client.mutate({
                mutation: RegenerateCallbackSecretDocument,
                variables: { input: { confirmation, previousSecretValidFor: overlap } },
                fetchPolicy: "no-cache",
              })
            ).data!.regenerateCallbackSecret
          }
          onSuccess={() => void client.refetchQueries({ include: [CallbackSecretStatusDocument] })}
          reveal={(result) => (
            <>
              <SecretValue label="Callback secret" value={result.callbackSecret} />
              <p className="warning" role="note">
                Mind that the callback secret only reveals once in this popup. It can’t be accessed after the popup is
                closed and has to be regenerated.
              </p>
            </>
          )}
          onClose={() => setConfirming(false)}
        />
      )}
    </div>
  );
}
