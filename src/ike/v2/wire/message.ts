/**
 * Whole IKEv2 messages (RFC 7296 §3.1) and the boundary the IKE SA layer decrypts across.
 *
 *   datagram = IKE header (28) | payload chain
 *   header   = SPIi(8) SPIr(8) NextPayload(1) Major|Minor(1) Exchange(1) Flags(1) MessageID(4) Length(4)
 *
 * Receiving:
 *   1. decodeMessage(datagram) checks the header (version 2, Length == datagram length ≤ 64 KiB)
 *      and decodes the outer chain. If it ends in SK (or SKF), `encrypted` gives the payload, its
 *      offset and the associated data the AEAD must authenticate (RFC 5282 §5.1: the IKE header
 *      through the SK generic header; RFC 7383 §2.5: through the 8-byte SKF header).
 *   2. The IKE SA layer splits the SK body (splitSkBody), verifies and decrypts, strips the
 *      padding (unpadPlaintext), then calls decodeInnerPayloads(firstInnerType, plaintext).
 *   3. rules.ts checks the payload set against the exchange before any task sees it.
 *
 * Sending an encrypted message: encodeInnerPayloads → padPlaintext → frameEncryptedMessage (a
 * buffer with IV, ciphertext and ICV slots and the exact AAD/integrity ranges) → fill the slots.
 * Plain messages (IKE_SA_INIT) go through encodeMessage. On UDP 4500 the caller strips the
 * non-ESP marker (four zero octets) first.
 */
import { Reader, Writer } from '../../../wire/buffer.js';
import {
  GENERIC_PAYLOAD_HEADER_LENGTH,
  IKE_HEADER_LENGTH,
  MAX_IKE_MESSAGE_LENGTH,
  SKF_HEADER_LENGTH,
} from './constants.js';
import { type IkeHeader, type IkeHeaderFields, decodeHeader, writeHeader } from './header.js';
import {
  type EncryptedPayload,
  type Payload,
  decodePayloadChain,
  encodePayloadChain,
  isEncryptedPayload,
} from './payloads.js';

// message.ts is the entry point for the SK round trip: header codec and SK layout helpers too.
export * from './header.js';
export { frameEncryptedMessage, integrityParts, padPlaintext, splitSkBody, unpadPlaintext } from './encrypted.js';
export type { EncryptedFrame, EncryptedFrameSpec, SkBodyParts } from './encrypted.js';

export interface IkeMessage {
  readonly header: IkeHeaderFields;
  readonly payloads: readonly Payload[];
}

/** Where the encrypted payload sits in a received datagram. */
export interface EncryptedSection {
  readonly payload: EncryptedPayload;
  /** Offset of the SK/SKF generic header in the datagram. */
  readonly offset: number;
  /**
   * Bytes an AEAD authenticates (RFC 5282 §5.1; RFC 7383 §2.5): from the first octet of the IKE
   * header through the last octet of the SK generic header (SKF: including Fragment Number and
   * Total Fragments). For non-AEAD integrity use integrityParts() on the datagram.
   */
  readonly associatedData: Buffer;
}

export interface DecodedMessage {
  readonly header: IkeHeader;
  /** Outer payloads in wire order; an SK/SKF payload, if any, is last. */
  readonly payloads: readonly Payload[];
  readonly encrypted?: EncryptedSection;
}

function locateEncrypted(datagram: Buffer, payload: EncryptedPayload): EncryptedSection {
  const headerLength = payload.kind === 'SK' ? GENERIC_PAYLOAD_HEADER_LENGTH : SKF_HEADER_LENGTH;
  const offset = datagram.length - headerLength - payload.body.length;
  return {
    payload,
    offset,
    associatedData: Buffer.from(datagram.subarray(0, offset + headerLength)),
  };
}

/** Decodes a whole IKE message. Any malformation throws a WireError; nothing else escapes. */
export function decodeMessage(datagram: Buffer): DecodedMessage {
  const header = decodeHeader(datagram);
  const r = new Reader(datagram, IKE_HEADER_LENGTH, header.length, 'IKE message');
  const payloads = decodePayloadChain(r, header.nextPayload, { allowEncrypted: true });
  const last = payloads[payloads.length - 1];
  if (last && isEncryptedPayload(last)) {
    return { header, payloads, encrypted: locateEncrypted(datagram, last) };
  }
  return { header, payloads };
}

/** Encodes a message: header, then the payloads with Next Payload chain and lengths computed. */
export function encodeMessage(message: IkeMessage): Buffer {
  const body = new Writer(512, MAX_IKE_MESSAGE_LENGTH - IKE_HEADER_LENGTH);
  const firstType = encodePayloadChain(body, message.payloads, { allowEncrypted: true });
  const bytes = body.finish();
  const w = new Writer(IKE_HEADER_LENGTH + bytes.length, MAX_IKE_MESSAGE_LENGTH);
  writeHeader(w, message.header, firstType, IKE_HEADER_LENGTH + bytes.length);
  w.bytes(bytes);
  return w.finish();
}

/** Decodes the payloads found inside a decrypted (and unpadded) SK payload. */
export function decodeInnerPayloads(firstType: number, plaintext: Buffer): Payload[] {
  const r = new Reader(plaintext, 0, plaintext.length, 'SK plaintext');
  return decodePayloadChain(r, firstType, { allowEncrypted: false });
}

/** Encodes payloads for an SK payload: `firstType` goes into the SK header's Next Payload. */
export function encodeInnerPayloads(payloads: readonly Payload[]): { firstType: number; bytes: Buffer } {
  const w = new Writer(512, MAX_IKE_MESSAGE_LENGTH);
  const firstType = encodePayloadChain(w, payloads, { allowEncrypted: false });
  return { firstType, bytes: w.finish() };
}
