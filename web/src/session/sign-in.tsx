import { useState, type FormEvent } from "react";
import { cleanToken } from "./token-store";

/**
 * Sign-in for the demo: a bearer token pasted here (or brought in a `#token=` link). The API decides whether it
 * is good; a refusal comes back here with its words.
 */
export function SignIn({ reason, onToken, heading = "Sign in" }: { reason: string | null; onToken(token: string): void; heading?: string }) {
  const [text, setText] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const token = cleanToken(text);
    setText("");
    if (token) onToken(token);
  };
  return (
    <section className="sign-in" aria-labelledby="sign-in-heading">
      <h1 id="sign-in-heading">{heading}</h1>
      {reason && (
        <p className="error" role="alert">
          {reason}
        </p>
      )}
      <p>
        Paste a bearer token. For the demo, <code>npm run cli -- token owner@example.com</code> prints one; a link ending in{" "}
        <code>#token=&lt;token&gt;</code> signs this tab in too.
      </p>
      <form onSubmit={submit}>
        <label>
          Bearer token
          <textarea name="token" rows={4} spellCheck={false} autoComplete="off" value={text} onChange={(event) => setText(event.target.value)} required />
        </label>
        <button type="submit" className="primary">
          Sign in
        </button>
      </form>
      <p className="hint">The token is kept for this tab only, and forgotten when it closes or you sign out.</p>
    </section>
  );
}
