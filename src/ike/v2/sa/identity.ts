/**
 * Identification payloads (RFC 7296 §3.5) for PSK authentication: an IPv4 or IPv6 literal is
 * sent as ID_IPV4_ADDR / ID_IPV6_ADDR (AWS selects the PSK by the CGW's public IP, lab-notes),
 * anything else as ID_FQDN.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { IdType } from '../wire/constants.js';
import type { IdPayload } from '../wire/payloads.js';
import { addressBytes } from '../crypto/nat-detection.js';

export interface Identity {
  readonly idType: number;
  readonly data: Buffer;
}

export function identityFrom(text: string): Identity {
  if (isIPv4(text)) return { idType: IdType.ID_IPV4_ADDR, data: addressBytes(text) };
  if (isIPv6(text)) return { idType: IdType.ID_IPV6_ADDR, data: addressBytes(text) };
  return { idType: IdType.ID_FQDN, data: Buffer.from(text, 'ascii') };
}

export function idPayload(kind: 'IDi' | 'IDr', identity: Identity): IdPayload {
  return { kind, idType: identity.idType, data: identity.data };
}

export function sameIdentity(a: Identity, b: { readonly idType: number; readonly data: Buffer }): boolean {
  return a.idType === b.idType && a.data.equals(b.data);
}

/** For logs: the identity as text. */
export function describeIdentity(id: { readonly idType: number; readonly data: Buffer }): string {
  if (id.idType === IdType.ID_IPV4_ADDR && id.data.length === 4) return [...id.data].join('.');
  if (id.idType === IdType.ID_FQDN) return id.data.toString('ascii').replace(/[^\x20-\x7e]/g, '?');
  return `id-type-${id.idType}(${id.data.length} bytes)`;
}
