/**
 * Our identity and the peer's, for pre-shared-key authentication in either version: an IPv4
 * or IPv6 literal is sent as an address identity, anything else as an FQDN. AWS picks the
 * tunnel's PSK by the customer gateway's public IP, so the default identity is that address.
 *
 * The ID types used here have the same numbers in IKEv1 (RFC 2407 §4.6.2.1) and IKEv2
 * (RFC 7296 §3.5); each version builds its own ID payload from an Identity.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { addressBytes } from './ip-address.js';

/** ID_IPV4_ADDR, ID_FQDN, ID_IPV6_ADDR: numbered alike in both versions (see above). */
export const IdentityType = {
  IPV4_ADDR: 1,
  FQDN: 2,
  IPV6_ADDR: 5,
} as const;

export interface Identity {
  readonly idType: number;
  readonly data: Buffer;
}

export function identityFrom(text: string): Identity {
  if (isIPv4(text)) return { idType: IdentityType.IPV4_ADDR, data: addressBytes(text) };
  if (isIPv6(text)) return { idType: IdentityType.IPV6_ADDR, data: addressBytes(text) };
  return { idType: IdentityType.FQDN, data: Buffer.from(text, 'ascii') };
}

/** `b` (an ID payload) names the identity `a`. */
export function sameIdentity(a: Identity, b: Identity): boolean {
  return a.idType === b.idType && a.data.equals(b.data);
}

/** For logs: the identity as text (never key material). */
export function describeIdentity(id: Identity): string {
  if (id.idType === IdentityType.IPV4_ADDR && id.data.length === 4) return [...id.data].join('.');
  if (id.idType === IdentityType.FQDN) return id.data.toString('ascii').replace(/[^\x20-\x7e]/g, '?');
  return `id-type-${id.idType}(${id.data.length} bytes)`;
}
