/**
 * Forging messages "from" one side of an established pair, with that side's real keys taken
 * from its keylog: how the hostile-input tests put authenticated but malicious requests in
 * front of the other side, and read its encrypted answers.
 */
import { ExchangeType } from '../../../../../src/ike/v2/wire/constants.js';
import {
  decodeMessage,
  encodeInnerPayloads,
  encodeMessage,
  frameEncryptedMessage,
  padPlaintext,
  type IkeHeaderFields,
} from '../../../../../src/ike/v2/wire/message.js';
import { encrypt } from '../../../../../src/crypto/cipher.js';
import { computeIcv } from '../../../../../src/crypto/integrity.js';
import { integrityByName } from '../../../../../src/crypto/transforms.js';
import type { Payload } from '../../../../../src/ike/v2/wire/payloads.js';
import type { Endpoint, IkeDatagram } from '../../../../../src/ike/runtime.js';
import type { KeylogEntry } from '../../../../../src/ike/index.js';
import { SkProtection } from '../../../../../src/ike/v2/crypto/protection.js';
import type { Pair, Peer } from '../../harness/pair.js';
import { SeededRandom } from '../../harness/seeded-random.js';

export interface Forger {
  readonly spiI: Buffer;
  readonly spiR: Buffer;
  readonly originalInitiator: boolean;
  /** An encrypted message from `peer` with its keys. */
  seal(exchange: number, messageId: number, payloads: readonly Payload[], options?: { response?: boolean }): Buffer;
  /** Decrypts a message sent to `peer` (an answer from the other side). */
  open(datagram: Buffer): Payload[];
  /** The other side's next expected request ID for this IKE SA. */
  readonly receiverExpects: number;
}

function ikeEntry(peer: Peer): Extract<KeylogEntry, { kind: 'ike' }> {
  const sa = peer.connection.status().ikeSas.find((s) => s.current) ?? peer.connection.status().ikeSas[0];
  const entry = [...peer.keylog].reverse().find((e): e is Extract<KeylogEntry, { kind: 'ike' }> => e.kind === 'ike' && (!sa || (e.spiI === sa.spiI && e.spiR === sa.spiR)));
  if (!entry) throw new Error(`${peer.name} has no IKE keys`);
  return entry;
}

export function forgerFor(pair: Pair, from: 'cgw' | 'aws'): Forger {
  const sender = pair[from];
  const receiver = from === 'cgw' ? pair.aws : pair.cgw;
  const entry = ikeEntry(sender);
  const spiI = Buffer.from(entry.spiI, 'hex');
  const spiR = Buffer.from(entry.spiR, 'hex');
  const protection = new SkProtection(entry.suite, entry.keys, entry.originalInitiator, new SeededRandom(99));
  return {
    spiI,
    spiR,
    originalInitiator: entry.originalInitiator,
    seal(exchange, messageId, payloads, options = {}) {
      const header: IkeHeaderFields = {
        spiI,
        spiR,
        exchangeType: exchange,
        flags: { initiator: entry.originalInitiator, response: options.response ?? false, version: false },
        messageId,
      };
      return protection.protect(header, payloads);
    },
    open(datagram) {
      return protection.unprotect(datagram, decodeMessage(datagram));
    },
    get receiverExpects() {
      const sa = receiver.connection.status().ikeSas.find((s) => s.spiI === entry.spiI);
      return sa?.expectedRequestId ?? -1;
    },
  };
}

/** A plain (unencrypted) message, e.g. a crafted IKE_SA_INIT request. */
export function plain(header: Partial<IkeHeaderFields> & { spiI: Buffer }, payloads: readonly Payload[]): Buffer {
  return encodeMessage({
    header: {
      spiR: Buffer.alloc(8),
      exchangeType: ExchangeType.IKE_SA_INIT,
      flags: { initiator: true, response: false, version: false },
      messageId: 0,
      ...header,
    },
    payloads,
  });
}

/** Hands a datagram straight to `peer`'s connection as if it came from the other side. */
export function inject(pair: Pair, to: 'cgw' | 'aws', data: Buffer, port = 4500): void {
  const peer = pair[to];
  const other = to === 'cgw' ? pair.aws : pair.cgw;
  const local: Endpoint = { address: peer.address, port };
  const remote: Endpoint = { address: other.address, port };
  const datagram: IkeDatagram = { local, remote, data };
  peer.connection.handleDatagram(datagram);
}

// ---------------------------------------------------------------------------------------------
// Raw payload chains: for inputs the codecs refuse to build (short nonces, duplicates, IKEv1 types).

export interface RawPayload {
  readonly type: number;
  readonly body: Buffer;
  readonly critical?: boolean;
  /** Lie about the length in the generic header. */
  readonly lengthOverride?: number;
}

/** The body (without generic header) of a payload the codec can encode. */
export function bodyOf(payload: Payload): Buffer {
  return Buffer.from(encodeInnerPayloads([payload]).bytes.subarray(4));
}

export function raw(payload: Payload, extra: Partial<RawPayload> = {}): RawPayload {
  return { type: encodeInnerPayloads([payload]).firstType, body: bodyOf(payload), ...extra };
}

export function rawChain(payloads: readonly RawPayload[]): { firstType: number; bytes: Buffer } {
  const parts = payloads.map((p, i) => {
    const head = Buffer.alloc(4);
    head.writeUInt8(payloads[i + 1]?.type ?? 0, 0);
    head.writeUInt8(p.critical ? 0x80 : 0, 1);
    head.writeUInt16BE(p.lengthOverride ?? p.body.length + 4, 2);
    return Buffer.concat([head, p.body]);
  });
  return { firstType: payloads[0]?.type ?? 0, bytes: Buffer.concat(parts) };
}

export interface RawHeader {
  readonly spiI: Buffer;
  readonly spiR?: Buffer;
  readonly exchange?: number;
  readonly flags?: number;
  readonly messageId?: number;
  /** Major/minor octet (0x20 = IKEv2, 0x10 = IKEv1). */
  readonly version?: number;
  readonly lengthOverride?: number;
}

/** HDR | payloads, byte by byte. */
export function rawMessage(header: RawHeader, payloads: readonly RawPayload[]): Buffer {
  const { firstType, bytes } = rawChain(payloads);
  const head = Buffer.alloc(28);
  header.spiI.copy(head, 0);
  (header.spiR ?? Buffer.alloc(8)).copy(head, 8);
  head.writeUInt8(firstType, 16);
  head.writeUInt8(header.version ?? 0x20, 17);
  head.writeUInt8(header.exchange ?? ExchangeType.IKE_SA_INIT, 18);
  head.writeUInt8(header.flags ?? 0x08, 19);
  head.writeUInt32BE(header.messageId ?? 0, 20);
  head.writeUInt32BE(header.lengthOverride ?? 28 + bytes.length, 24);
  return Buffer.concat([head, bytes]);
}

/** HDR | SK { raw payloads } sealed with `from`'s keys (CBC + HMAC suites only). */
export function sealRaw(pair: Pair, from: 'cgw' | 'aws', exchange: number, messageId: number, payloads: readonly RawPayload[], options: { response?: boolean } = {}): Buffer {
  const entry = ikeEntry(pair[from]);
  const integrity = entry.suite.integrity;
  if (!integrity) throw new Error('sealRaw supports CBC + HMAC suites only');
  const out = entry.originalInitiator ? { enc: entry.keys.skEi, integ: entry.keys.skAi } : { enc: entry.keys.skEr, integ: entry.keys.skAr };
  const { firstType, bytes } = rawChain(payloads);
  const padded = padPlaintext(bytes, 16);
  const frame = frameEncryptedMessage({
    header: {
      spiI: Buffer.from(entry.spiI, 'hex'),
      spiR: Buffer.from(entry.spiR, 'hex'),
      exchangeType: exchange,
      flags: { initiator: entry.originalInitiator, response: options.response ?? false, version: false },
      messageId,
    },
    firstInnerType: firstType,
    ivLength: 16,
    ciphertextLength: padded.length,
    icvLength: integrityByName(integrity).icvBytes,
  });
  const iv = Buffer.alloc(16, 7);
  iv.copy(frame.iv);
  encrypt(entry.suite.encryption, out.enc, iv, padded).copy(frame.ciphertext);
  computeIcv(integrity, out.integ, frame.integrityCovered).copy(frame.icv);
  return frame.message;
}
