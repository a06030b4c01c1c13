import type { ApiError } from "../api-errors";

/** Refusals shown as the API words them, each with its code. */
export function ErrorMessages({ errors }: { errors: readonly ApiError[] | null | undefined }) {
  if (!errors?.length) return null;
  return (
    <div className="error" role="alert">
      {errors.map((error, index) => (
        <p key={index}>
          <span className="error-message">{error.message}</span>
          {error.code && <code className="error-code">{error.code}</code>}
        </p>
      ))}
    </div>
  );
}
