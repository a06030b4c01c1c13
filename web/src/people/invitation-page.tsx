import { useApolloClient } from "@apollo/client/react";
import { useState, type FormEvent } from "react";
import { apiErrors, type ApiError } from "../api-errors";
import { ErrorMessages } from "../components/error-messages";
import { AcceptInvitationDocument } from "../generated/graphql";
import { Link, navigate } from "../navigation/location";
import { claimLinkInvitation } from "../session/fragment";
import { SignIn } from "../session/sign-in";

/**
 * The page an invitation link opens: the invited person sets their password with the invitation's one-time
 * token. No sign-in is needed; when the tab is signed in, the API links that sign-in to the invited person.
 */
export function InvitationPage({ signedIn, onToken }: { signedIn: boolean; onToken(token: string): void }) {
  const client = useApolloClient();
  const [fromLink] = useState(claimLinkInvitation);
  const [invitation, setInvitation] = useState(fromLink ?? "");
  const [password, setPassword] = useState("");
  const [repeated, setRepeated] = useState("");
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<ApiError[] | null>(null);
  const [acceptedEmail, setAcceptedEmail] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (password !== repeated) return setErrors([{ message: "The two passwords differ", code: null, extensions: {} }]);
    setBusy(true);
    setErrors(null);
    try {
      const answer = await client.mutate({
        mutation: AcceptInvitationDocument,
        variables: { input: { token: invitation.trim(), password } },
        fetchPolicy: "no-cache",
      });
      setInvitation("");
      setPassword("");
      setRepeated("");
      setAcceptedEmail(answer.data!.acceptInvitation.email);
    } catch (error) {
      setErrors(apiErrors(error));
    } finally {
      setBusy(false);
    }
  };

  if (acceptedEmail) {
    return (
      <main className="narrow">
        <section aria-labelledby="accepted-heading">
          <h1 id="accepted-heading">Password set</h1>
          <p>
            The password of {acceptedEmail} is set. Next, turn on two-factor authentication: with your password, its codes
            confirm sensitive operations.
          </p>
          {signedIn ? (
            <p>
              <Link to="/two-factor">Turn on two-factor authentication</Link>
            </p>
          ) : (
            <SignIn
              heading="Sign in to continue"
              reason={null}
              onToken={(token) => {
                onToken(token);
                navigate("/two-factor");
              }}
            />
          )}
        </section>
      </main>
    );
  }

  return (
    <main className="narrow">
      <section aria-labelledby="invitation-heading">
        <h1 id="invitation-heading">Set your password</h1>
        <form className="stacked" onSubmit={(event) => void submit(event)}>
          {fromLink ? (
            <p>Your invitation came with the link you followed.</p>
          ) : (
            <label>
              Invitation token
              <input name="invitation" required spellCheck={false} autoComplete="off" value={invitation} onChange={(event) => setInvitation(event.target.value)} />
            </label>
          )}
          <label>
            New password
            <input type="password" name="new-password" autoComplete="new-password" required value={password} onChange={(event) => setPassword(event.target.value)} />
          </label>
          <label>
            Repeat the password
            <input type="password" name="repeat-password" autoComplete="new-password" required value={repeated} onChange={(event) => setRepeated(event.target.value)} />
          </label>
          <p className="hint">12 to 1024 characters.</p>
          <ErrorMessages errors={errors} />
          <button type="submit" className="primary" disabled={busy}>
            Set password
          </button>
        </form>
      </section>
    </main>
  );
}
