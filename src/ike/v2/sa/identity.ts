/** IKEv2 Identification payloads (RFC 7296 §3.5) from the shared Identity (src/ike/identity.ts). */
import type { Identity } from '../../identity.js';
import type { IdPayload } from '../wire/payloads.js';

export function idPayload(kind: 'IDi' | 'IDr', identity: Identity): IdPayload {
  return { kind, idType: identity.idType, data: identity.data };
}
