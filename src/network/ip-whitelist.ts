import ipaddr from "ipaddr.js";
import { badInput } from "../domain-error.js";

/** Most entries one whitelist may hold. */
export const MAX_WHITELIST_ENTRIES = 100;

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Parses an address, turning an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) into plain IPv4. */
export function parseAddress(text: string): Address | null {
  const value = text.trim().replace(/^\[|\]$/g, "");
  if (!ipaddr.isValid(value) || value.includes("%")) return null;
  const address = ipaddr.parse(value);
  if (address instanceof ipaddr.IPv6 && address.isIPv4MappedAddress()) return address.toIPv4Address();
  // ipaddr accepts shorthand IPv4 such as "10.1" or "0x0a000001"; only the four-part decimal form is an address here.
  if (address instanceof ipaddr.IPv4 && !ipaddr.IPv4.isValidFourPartDecimal(value)) return null;
  return address;
}

/** The canonical text of an address: dotted IPv4, or RFC 5952 compressed IPv6. */
export function normaliseAddress(text: string): string | null {
  return parseAddress(text)?.toString() ?? null;
}

/** One normalised whitelist entry: a single address, or a CIDR range with no host bits set. */
function normaliseEntry(raw: unknown, index: number): string {
  const field = `entries[${index}]`;
  if (typeof raw !== "string" || raw.trim() === "" || raw.length > 64) {
    throw badInput(`${field} must be an IPv4 or IPv6 address or CIDR range`, field);
  }
  const [addressText, prefixText, ...rest] = raw.trim().split("/");
  const address = parseAddress(addressText!);
  if (!address || rest.length > 0) {
    throw badInput(`${field} "${raw}" is not an IPv4 or IPv6 address or CIDR range`, field);
  }
  const mappedFromV6 = address.kind() === "ipv4" && addressText!.includes(":");
  const bits = address.kind() === "ipv4" ? 32 : 128;
  if (prefixText === undefined) return address.toString();
  if (!/^\d{1,3}$/.test(prefixText)) throw badInput(`${field} "${raw}" has an invalid prefix length`, field);
  let prefix = Number(prefixText);
  if (mappedFromV6) {
    if (prefix < 96) throw badInput(`${field} "${raw}": an IPv4-mapped range needs a prefix of at least /96`, field);
    prefix -= 96;
  }
  if (prefix > bits) throw badInput(`${field} "${raw}" has a prefix longer than /${bits}`, field);
  if (prefix === 0) {
    throw badInput(`${field} "${raw}" would allow every address; list the addresses of your servers instead`, field);
  }
  const networkAddress =
    address.kind() === "ipv4"
      ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${prefix}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${prefix}`);
  if (networkAddress.toString() !== address.toString()) {
    throw badInput(
      `${field} "${raw}" has host bits set; the range starts at ${networkAddress.toString()}/${prefix}`,
      field,
    );
  }
  return prefix === bits ? address.toString() : `${address.toString()}/${prefix}`;
}

/**
 * Validates and normalises a whitelist: IPv4 and IPv6 addresses and CIDR ranges, at most 100, duplicates
 * removed, order kept. Throws BAD_USER_INPUT naming the first bad entry.
 */
export function normaliseWhitelist(entries: readonly unknown[]): string[] {
  if (entries.length > MAX_WHITELIST_ENTRIES) {
    throw badInput(`The whitelist holds at most ${MAX_WHITELIST_ENTRIES} entries; got ${entries.length}`, "entries");
  }
  return [...new Set(entries.map((entry, index) => normaliseEntry(entry, index)))];
}

/** True when the address is inside one of the entries; an empty whitelist allows every address. */
export function isAllowed(whitelist: readonly string[], addressText: string): boolean {
  if (whitelist.length === 0) return true;
  const address = parseAddress(addressText);
  if (!address) return false;
  return whitelist.some((entry) => {
    const range = entry.includes("/") ? ipaddr.parseCIDR(entry) : ([ipaddr.parse(entry), address.kind() === "ipv4" ? 32 : 128] as const);
    return range[0].kind() === address.kind() && address.match(range[0] as never, range[1]);
  });
}
