/** The JSON:API body of a `/token` answer: `data` on success, `errors` otherwise. */
export interface TokenResponseBody {
  data: { type: string; attributes: { access: string; expires_in: number; token_type: string } };
  errors: { status: string; title: string; detail: string }[];
}

/** Calls `POST /token` the way an integration does (JSON:API). */
export async function requestToken(
  url: string,
  clientId: unknown,
  clientSecret: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: TokenResponseBody }> {
  const response = await fetch(`${url}/token`, {
    method: "POST",
    headers: { "content-type": "application/vnd.api+json", ...headers },
    body: JSON.stringify({ data: { type: "auth-token", attributes: { client_id: clientId, client_secret: clientSecret } } }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}
