/**
 * IPv4 prefixes as BGP carries them: "a.b.c.d/n" text at every API boundary,
 * (length, significant octets) on the wire (RFC 4271 §4.3, NLRI and Withdrawn
 * Routes encoding). Parsing reuses the strict dotted-quad rules of the config layer.
 */
import { CgwdError } from '../errors.js';
import { formatCidr, formatIpv4, isNetworkAddress, parseIpv4, parseIpv4Cidr, prefixMask } from '../config/ipv4.js';

export interface Ipv4Prefix {
  /** Network address as an unsigned 32-bit number, host bits zero. */
  readonly network: number;
  readonly length: number;
}

/** Parses "10.1.0.0/16"; throws BGP_BAD_PREFIX for anything else, host bits set included. */
export function parsePrefix(text: string): Ipv4Prefix {
  const cidr = parseIpv4Cidr(text);
  if (!cidr) throw new CgwdError('BGP_BAD_PREFIX', `"${text}" is not an IPv4 prefix (a.b.c.d/n)`);
  if (!isNetworkAddress(cidr)) {
    throw new CgwdError('BGP_BAD_PREFIX', `"${text}" has host bits set; the network is ${formatCidr((cidr.network & prefixMask(cidr.prefixLength)) >>> 0, cidr.prefixLength)}`);
  }
  return { network: cidr.network, length: cidr.prefixLength };
}

export function formatPrefix(prefix: Ipv4Prefix): string {
  return formatCidr(prefix.network, prefix.length);
}

/** The two halves of a prefix one bit longer (10.0.0.0/16 → 10.0.0.0/17, 10.0.128.0/17); none for a /32. */
export function splitPrefix(text: string): [string, string] | undefined {
  const { network, length } = parsePrefix(text);
  if (length >= 32) return undefined;
  const upper = (network | (1 << (31 - length))) >>> 0;
  return [formatCidr(network, length + 1), formatCidr(upper, length + 1)];
}

/** Octets a prefix takes in NLRI: one length octet plus the significant address octets. */
export function encodedPrefixLength(prefix: Ipv4Prefix): number {
  return 1 + Math.ceil(prefix.length / 8);
}

/** Parses a dotted quad; undefined when it is not one. */
export function parseAddress(text: string): number | undefined {
  return parseIpv4(text);
}

export function formatAddress(value: number): string {
  return formatIpv4(value);
}

/** Whether `address` lies inside `prefix`. */
export function prefixContains(prefix: Ipv4Prefix, address: number): boolean {
  return ((address & prefixMask(prefix.length)) >>> 0) === prefix.network;
}

export { prefixMask };
