import type { ApolloClient } from "@apollo/client";
import { useApolloClient } from "@apollo/client/react";
import { useEffect, useState, type FormEvent } from "react";
import { apiErrors, type ApiError } from "../api-errors";
import { ErrorMessages } from "../components/error-messages";
import { CopyButton, SecretValue } from "../components/secret-value";
import { ConfirmationPopup } from "../confirmation/confirmation-popup";
import {
  ConfirmAuthenticatorEnrolmentDocument,
  StartAuthenticatorEnrolmentDocument,
  ViewerDocument,
  type ConfirmationInput,
  type StartAuthenticatorEnrolmentMutation,
} from "../generated/graphql";
import { useSession } from "../session/session-context";
import { QrCode } from "./qr-code";

type StartedEnrolment = StartAuthenticatorEnrolmentMutation["startAuthenticatorEnrolment"];

/** Starts turning on a new authenticator; replacing an active one needs the person's confirmation. */
async function startEnrolment(client: ApolloClient, confirmation?: ConfirmationInput): Promise<StartedEnrolment> {
  const answer = await client.mutate({
    mutation: StartAuthenticatorEnrolmentDocument,
    variables: { input: confirmation ? { confirmation } : {} },
    fetchPolicy: "no-cache",
  });
  return answer.data!.startAuthenticatorEnrolment;
}

/**
 * Two-factor authentication: where the person stands, and turning the authenticator on (a QR code of its
 * otpauth:// URL, confirmed with a first code) or replacing it, with new recovery codes shown once. The secret
 * and the codes live only in the components of the enrolment, which are gone once it ends.
 */
export function TwoFactorPage() {
  const { viewer } = useSession();
  const client = useApolloClient();
  const [enrolling, setEnrolling] = useState<"first" | "replacement" | null>(null);
  const factors = viewer.factors;
  const end = () => setEnrolling(null);

  return (
    <section aria-labelledby="two-factor-heading" className="two-factor">
      <h1 id="two-factor-heading">Two-factor authentication</h1>
      {enrolling === "first" ? (
        <FirstEnrolment onEnd={end} />
      ) : (
        <>
          <dl className="facts">
            <dt>Password</dt>
            <dd>{factors.hasPassword ? "Set" : "Not set: follow your invitation link to set it"}</dd>
            <dt>Authenticator</dt>
            <dd className="authenticator-state">{factors.authenticatorActive ? "On" : "Off"}</dd>
            {factors.authenticatorActive && (
              <>
                <dt>Recovery codes left</dt>
                <dd>{factors.recoveryCodesRemaining}</dd>
              </>
            )}
          </dl>
          {factors.authenticatorActive ? (
            <button type="button" onClick={() => setEnrolling("replacement")}>
              Replace the authenticator
            </button>
          ) : (
            <button type="button" className="primary" onClick={() => setEnrolling("first")}>
              Turn on the authenticator
            </button>
          )}
        </>
      )}
      {enrolling === "replacement" && (
        <ConfirmationPopup
          title="Replace the authenticator"
          action="Continue"
          description={<p>The current authenticator keeps working until the new one is confirmed with its first code.</p>}
          run={(confirmation) => startEnrolment(client, confirmation)}
          reveal={(started) => <EnrolmentSteps started={started} onEnd={end} />}
          onClose={end}
        />
      )}
    </section>
  );
}

/** Turning the authenticator on for the first time: no confirmation is asked. */
function FirstEnrolment({ onEnd }: { onEnd(): void }) {
  const client = useApolloClient();
  const [started, setStarted] = useState<StartedEnrolment | null>(null);
  const [errors, setErrors] = useState<ApiError[] | null>(null);
  useEffect(() => {
    let live = true;
    startEnrolment(client).then(
      (value) => live && setStarted(value),
      (error: unknown) => live && setErrors(apiErrors(error)),
    );
    return () => {
      live = false;
    };
  }, [client]);
  if (started) return <EnrolmentSteps started={started} onEnd={onEnd} />;
  return errors ? (
    <>
      <ErrorMessages errors={errors} />
      <button type="button" onClick={onEnd}>
        Back
      </button>
    </>
  ) : (
    <p role="status">Starting…</p>
  );
}

/** Scan the QR code and confirm a first code; then the recovery codes, once. */
function EnrolmentSteps({ started, onEnd }: { started: StartedEnrolment; onEnd(): void }) {
  const client = useApolloClient();
  const [recoveryCodes, setRecoveryCodes] = useState<string[] | null>(null);
  const [otp, setOtp] = useState("");
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<ApiError[] | null>(null);

  const confirm = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors(null);
    try {
      const answer = await client.mutate({
        mutation: ConfirmAuthenticatorEnrolmentDocument,
        variables: { input: { otp: otp.trim() } },
        fetchPolicy: "no-cache",
      });
      setRecoveryCodes(answer.data!.confirmAuthenticatorEnrolment.recoveryCodes);
      void client.refetchQueries({ include: [ViewerDocument] });
    } catch (error) {
      setOtp("");
      setErrors(apiErrors(error));
    } finally {
      setBusy(false);
    }
  };

  if (recoveryCodes) {
    return (
      <div className="recovery-codes">
        <h2>Your recovery codes</h2>
        <p>
          Each code confirms one operation in place of a code from the app, with your password. Keep them where you keep
          passwords: they are shown only now.
        </p>
        <ol className="codes" aria-label="Recovery codes">
          {recoveryCodes.map((code) => (
            <li key={code}>
              <code>{code}</code>
            </li>
          ))}
        </ol>
        <p>
          <CopyButton label="recovery codes" value={recoveryCodes.join("\n")} />
        </p>
        <button type="button" className="primary" onClick={onEnd}>
          I have kept them
        </button>
      </div>
    );
  }

  return (
    <ol className="steps">
      <li>
        <p>Scan this QR code with your authenticator app (Google Authenticator, 1Password, …).</p>
        <QrCode text={started.otpauthUrl} label="QR code of the authenticator's secret" />
        <p>Or type the secret in:</p>
        <SecretValue label="Authenticator secret" value={started.secret} display={inGroupsOfFour(started.secret)} />
      </li>
      <li>
        <form className="stacked" onSubmit={(event) => void confirm(event)}>
          <label>
            The 6-digit code the app shows
            <input name="otp" inputMode="numeric" autoComplete="one-time-code" required value={otp} onChange={(event) => setOtp(event.target.value)} />
          </label>
          <ErrorMessages errors={errors} />
          <div className="actions">
            <button type="button" onClick={onEnd} disabled={busy}>
              Cancel
            </button>
            <button type="submit" className="primary" disabled={busy}>
              Turn on
            </button>
          </div>
        </form>
      </li>
    </ol>
  );
}

/** The secret in groups of four characters, to type in. */
function inGroupsOfFour(secret: string): string {
  const groups: string[] = [];
  for (let start = 0; start < secret.length; start += 4) groups.push(secret.slice(start, start + 4));
  return groups.join(" ");
}
