import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from "jose";
import http from "node:http";
import type { AddressInfo } from "node:net";

/** A running identity provider: its JWKS URL, the settings that make the service trust it, and a signer. */
export interface IdentityProvider {
  /** Where the service fetches the provider's public keys (`JWT_JWKS_URL`). */
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** The service's settings for this provider: pass them to `startTestServer`. */
  env: { JWT_JWKS_URL: string; JWT_ISSUER: string; JWT_AUDIENCE: string };
  /**
   * An RS256 token for `subject`, issued by this provider for its audience, valid for 10 minutes from `now`
   * (epoch ms; give the test server's clock when it was moved). `claims` are added, and may replace `iss`, `aud`,
   * `iat` or `exp`.
   */
  sign(subject: string, claims?: JWTPayload, now?: number): Promise<string>;
  close(): Promise<void>;
}

/**
 * A real identity provider for tests: an RSA key pair made at start, its public key served as a JWKS (with a
 * `kid`) by an HTTP server on port 0, and tokens signed with the private key, as an OpenID provider issues them.
 *
 * ```ts
 * const idp = await startIdentityProvider();
 * const server = await startTestServer(idp.env);
 * const token = await idp.sign("provider-subject-1");
 * ```
 */
export async function startIdentityProvider(
  options: { issuer?: string; audience?: string } = {},
): Promise<IdentityProvider> {
  const issuer = options.issuer ?? "https://idp.example.test/";
  const audience = options.audience ?? "access-subgraph";
  const kid = "test-key-1";
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" }] });

  const server = http.createServer((req, res) => {
    if (req.method === "GET" && req.url === "/jwks.json") {
      res.writeHead(200, { "content-type": "application/json" }).end(jwks);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;

  return {
    jwksUrl,
    issuer,
    audience,
    env: { JWT_JWKS_URL: jwksUrl, JWT_ISSUER: issuer, JWT_AUDIENCE: audience },
    async sign(subject, claims = {}, now = Date.now()) {
      const seconds = Math.floor(now / 1000);
      return new SignJWT({ iss: issuer, aud: audience, iat: seconds, exp: seconds + 600, ...claims })
        .setProtectedHeader({ alg: "RS256", kid, typ: "JWT" })
        .setSubject(subject)
        .sign(privateKey);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
