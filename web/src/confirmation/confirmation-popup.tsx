import { useState, type FormEvent, type ReactNode } from "react";
import { apiErrors, type ApiError } from "../api-errors";
import { ErrorMessages } from "../components/error-messages";
import { Modal } from "../components/modal";
import type { ConfirmationInput } from "../generated/graphql";
import { Link } from "../navigation/location";

export interface ConfirmationPopupProps<Result> {
  title: string;
  /** What confirming does, above the fields. */
  description?: ReactNode;
  /** The confirming button's words: what it does. */
  action: string;
  /** Sends the confirmed operation alone, bypassing the client's cache; rejects with the API's refusal. */
  run(confirmation: ConfirmationInput): Promise<Result>;
  /**
   * What the popup shows once the operation succeeded, until it is closed: the secrets it revealed. Without it the
   * popup closes at once.
   */
  reveal?(result: Result): ReactNode;
  /** Called after a success, before anything is revealed. */
  onSuccess?(result: Result): void;
  /**
   * A refusal the page shows elsewhere (an invalid input next to its field): return true to close the popup with
   * it. Others stay in the popup, as the API words them.
   */
  takeRefusal?(errors: ApiError[]): boolean;
  onClose(): void;
}

/**
 * The confirmation popup of the platform's settings pages: the person's password and the code of their
 * authenticator (or a recovery code) confirm one sensitive operation. The fields, the answer and any revealed
 * secret live in this component's state only, and go when the popup closes.
 */
export function ConfirmationPopup<Result>(props: ConfirmationPopupProps<Result>) {
  const [password, setPassword] = useState("");
  const [otp, setOtp] = useState("");
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<ApiError[] | null>(null);
  const [result, setResult] = useState<{ value: Result } | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors(null);
    try {
      const value = await props.run({ password, otp: otp.trim() });
      setPassword("");
      setOtp("");
      props.onSuccess?.(value);
      if (props.reveal) setResult({ value });
      else props.onClose();
    } catch (error) {
      const refusal = apiErrors(error);
      if (props.takeRefusal?.(refusal)) return props.onClose();
      // A code confirms at most once, and a wrong one is no use again.
      setOtp("");
      setErrors(refusal);
    } finally {
      setBusy(false);
    }
  };

  if (result && props.reveal) {
    return (
      <Modal title={props.title} onClose={props.onClose}>
        <div className="modal-body">{props.reveal(result.value)}</div>
        <footer className="modal-footer">
          <button type="button" className="primary" onClick={props.onClose}>
            Close
          </button>
        </footer>
      </Modal>
    );
  }

  const enrolment = errors?.find((error) => error.code === "ENROLMENT_REQUIRED");
  return (
    <Modal title={props.title} onClose={props.onClose}>
      <form className="modal-body confirmation" onSubmit={(event) => void submit(event)}>
        {props.description}
        <label>
          Password
          <input
            type="password"
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(event) => setPassword(event.target.value)}
            autoFocus
          />
        </label>
        <label>
          Authorization 2FA for operations
          <input
            name="otp"
            autoComplete="one-time-code"
            inputMode="numeric"
            placeholder="6-digit code or a recovery code"
            required
            value={otp}
            onChange={(event) => setOtp(event.target.value)}
          />
        </label>
        <ErrorMessages errors={errors} />
        {enrolment && (
          <p>
            <Link to="/two-factor" onClick={props.onClose}>
              Set up two-factor authentication
            </Link>
          </p>
        )}
        <footer className="modal-footer">
          <button type="button" onClick={props.onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Confirming…" : props.action}
          </button>
        </footer>
      </form>
    </Modal>
  );
}
