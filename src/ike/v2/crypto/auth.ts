/**
 * Pre-shared key authentication (RFC 7296 §2.15):
 *
 *   AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets> )
 *   InitiatorSignedOctets = RealMessage1 | NonceRData | prf(SK_pi, RestOfInitIDPayload)
 *   ResponderSignedOctets = RealMessage2 | NonceIData | prf(SK_pr, RestOfRespIDPayload)
 *
 * RealMessage1/2 are the IKE_SA_INIT request/response exactly as sent (without the non-ESP
 * marker); RestOf…IDPayload is the ID payload body: ID Type | RESERVED(3) | Identification Data.
 */
import { timingSafeEqual } from 'node:crypto';
import { prf } from '../../../crypto/prf.js';
import type { PrfName } from '../../../crypto/transforms.js';

const KEY_PAD = Buffer.from('Key Pad for IKEv2', 'ascii');

export interface SignedOctetsInput {
  /** This side's IKE_SA_INIT message (request for the initiator, response for the responder). */
  readonly realMessage: Buffer;
  /** The peer's nonce from IKE_SA_INIT. */
  readonly peerNonce: Buffer;
  /** SK_pi for the original initiator, SK_pr for the responder. */
  readonly skP: Buffer;
  /** ID Type | RESERVED | data of this side's ID payload. */
  readonly idPayloadBody: Buffer;
}

export function pskAuthData(prfName: PrfName, psk: Buffer, input: SignedOctetsInput): Buffer {
  const macedId = prf(prfName, input.skP, input.idPayloadBody);
  const padKey = prf(prfName, psk, KEY_PAD);
  return prf(prfName, padKey, [input.realMessage, input.peerNonce, macedId]);
}

/** Constant-time comparison of a received AUTH value with the expected one. */
export function authMatches(expected: Buffer, received: Buffer): boolean {
  return expected.length === received.length && timingSafeEqual(expected, received);
}

/** The ID payload body the AUTH calculation covers (RFC 7296 §3.5). */
export function idPayloadBody(idType: number, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([idType, 0, 0, 0]), data]);
}
