import { isAllowed, normaliseAddress, normaliseWhitelist } from "./ip-whitelist.js";

/**
 * Who the client is: the socket's address, unless the socket is one of the configured trusted proxies; then
 * the right-most address of `X-Forwarded-For` that is not itself a trusted proxy. Never "trust every hop".
 */
export class ClientAddressResolver {
  private readonly trusted: string[];

  /** @param trustedProxies CIDR ranges or addresses of the proxies (routers) in front of this service. */
  constructor(trustedProxies: readonly string[]) {
    this.trusted = normaliseWhitelist(trustedProxies);
  }

  /** True when the address is one of the trusted proxies. */
  isTrustedProxy(address: string | undefined): boolean {
    const normalised = normaliseAddress(address ?? "");
    return normalised !== null && this.trusted.length > 0 && isAllowed(this.trusted, normalised);
  }

  resolve(socketAddress: string | undefined, forwardedFor: string | string[] | undefined): string {
    const socket = normaliseAddress(socketAddress ?? "") ?? "unknown";
    if (this.trusted.length === 0 || !isAllowed(this.trusted, socket)) return socket;
    const header = Array.isArray(forwardedFor) ? forwardedFor.join(",") : (forwardedFor ?? "");
    const hops = header
      .split(",")
      .map((hop) => hop.trim())
      .filter((hop) => hop !== "");
    for (let index = hops.length - 1; index >= 0; index--) {
      const hop = normaliseAddress(hops[index]!);
      if (!hop) return socket;
      if (!isAllowed(this.trusted, hop)) return hop;
    }
    return socket;
  }
}
