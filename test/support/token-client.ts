/** Calls `POST /token` the way an integration does (JSON:API). */
export async function requestToken(
  url: string,
  clientId: unknown,
  clientSecret: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(`${url}/token`, {
    method: "POST",
    headers: { "content-type": "application/vnd.api+json", ...headers },
    body: JSON.stringify({ data: { type: "auth-token", attributes: { client_id: clientId, client_secret: clientSecret } } }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}
