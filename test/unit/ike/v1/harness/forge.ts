/**
 * Speaking with one side's keys: builds protected Informational and Quick Mode messages "from"
 * cgw or aws using that side's keylog (SKEYID_a, Ka) and the phase 1 IV taken from the wire
 * (the last ciphertext block of MM6, RFC 2409 Appendix B) — how the hostile-input tests put
 * authenticated but malicious messages in front of the other side.
 */
import { createCipheriv, createHash, createHmac } from 'node:crypto';
import type { Endpoint } from '../../../../../src/ike/runtime.js';
import { ExchangeType } from '../../../../../src/ike/v1/constants.js';
import { encodeChain, type V1Payload } from '../../../../../src/ike/v1/wire/payloads.js';
import { encrypted, exchangeOf } from './messages.js';
import type { IkeKeylog, Pair } from '../../harness/pair.js';
import { currentIkeKeys } from '../../harness/pair.js';

const HASH = { 'hmac-sha1-96': 'sha1', 'hmac-sha256-128': 'sha256', 'hmac-sha384-192': 'sha384', 'hmac-sha512-256': 'sha512' } as const;

export interface ForgeOptions {
  readonly messageId?: number;
  readonly exchange?: number;
  /** Replace the computed HASH(1). */
  readonly hash?: Buffer;
  readonly flags?: number;
}

export class Forger {
  readonly keys: IkeKeylog;
  readonly cookieI: Buffer;
  readonly cookieR: Buffer;
  readonly #phase1Iv: Buffer;
  #mid = 0x1000;

  constructor(pair: Pair, from: 'cgw' | 'aws') {
    const keys = currentIkeKeys(pair[from]);
    if (!keys) throw new Error(`${from} has no current ISAKMP SA`);
    this.keys = keys;
    this.cookieI = Buffer.from(keys.spiI, 'hex');
    this.cookieR = Buffer.from(keys.spiR, 'hex');
    const mm6 = [...pair.net.delivered]
      .reverse()
      .find((w) => exchangeOf(w) === ExchangeType.IDENTITY_PROTECTION && encrypted(w) && w.data.subarray(0, 16).equals(Buffer.concat([this.cookieI, this.cookieR])) && w.from.address !== initiatorAddress(pair, keys, from));
    if (!mm6) throw new Error('no MM6 on the wire');
    this.#phase1Iv = mm6.data.subarray(mm6.data.length - 16);
  }

  get #hash(): 'sha1' | 'sha256' | 'sha384' | 'sha512' {
    return HASH[this.keys.suite.integrity ?? 'hmac-sha1-96'];
  }

  prf(...data: Buffer[]): Buffer {
    const mac = createHmac(this.#hash, this.keys.keys.skAi);
    for (const d of data) mac.update(d);
    return mac.digest();
  }

  /** HDR*, HASH(1), payloads (RFC 2409 §5.7), encrypted with the exchange's first IV. */
  informational(payloads: readonly V1Payload[], o: ForgeOptions = {}): Buffer {
    const rest = encodeChain(payloads);
    return this.protectedRaw(rest.firstType, rest.bytes, o);
  }

  /** The same with a raw payload chain after the HASH (types the codec would never build). */
  protectedRaw(firstType: number, restBytes: Buffer, o: ForgeOptions = {}): Buffer {
    const mid = o.messageId ?? this.#mid++;
    const midBytes = Buffer.alloc(4);
    midBytes.writeUInt32BE(mid);
    const hash = o.hash ?? this.prf(midBytes, restBytes);
    const hashPayload = Buffer.alloc(4);
    hashPayload.writeUInt8(firstType, 0);
    hashPayload.writeUInt16BE(4 + hash.length, 2);
    let plaintext = Buffer.concat([hashPayload, hash, restBytes]);
    if (plaintext.length % 16 !== 0) plaintext = Buffer.concat([plaintext, Buffer.alloc(16 - (plaintext.length % 16))]);
    const iv = createHash(this.#hash).update(this.#phase1Iv).update(midBytes).digest().subarray(0, 16);
    const cipher = createCipheriv(this.keys.suite.encryption === 'aes256-cbc' ? 'aes-256-cbc' : 'aes-128-cbc', this.keys.keys.skEi, iv).setAutoPadding(false);
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const header = Buffer.alloc(28);
    this.cookieI.copy(header, 0);
    this.cookieR.copy(header, 8);
    header.writeUInt8(8, 16); // HASH
    header.writeUInt8(0x10, 17);
    header.writeUInt8(o.exchange ?? ExchangeType.INFORMATIONAL, 18);
    header.writeUInt8(o.flags ?? 0x01, 19);
    header.writeUInt32BE(mid, 20);
    header.writeUInt32BE(28 + body.length, 24);
    return Buffer.concat([header, body]);
  }
}

function initiatorAddress(pair: Pair, keys: IkeKeylog, from: 'cgw' | 'aws'): string {
  const fromIsInitiator = keys.originalInitiator;
  return fromIsInitiator === (from === 'cgw') ? pair.cgw.address : pair.aws.address;
}

/** Hands a datagram straight to `to`'s connection as if it came from the other side. */
export function inject(pair: Pair, to: 'cgw' | 'aws', data: Buffer, port = 4500): void {
  const peer = pair[to];
  const other = to === 'cgw' ? pair.aws : pair.cgw;
  const local: Endpoint = { address: peer.address, port };
  const remote: Endpoint = { address: other.address, port };
  peer.connection.handleDatagram({ local, remote, data });
}

/** A raw generic payload: Next(1) RESERVED(1) Length(2) body. */
export function rawPayload(next: number, body: Buffer, lengthOverride?: number): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt8(next, 0);
  head.writeUInt16BE(lengthOverride ?? 4 + body.length, 2);
  return Buffer.concat([head, body]);
}

/** A raw plain ISAKMP message: HDR | chain. */
export function rawMessage(o: { cookieI: Buffer; cookieR?: Buffer; firstPayload: number; exchange?: number; version?: number; flags?: number; messageId?: number; lengthOverride?: number }, chain: Buffer): Buffer {
  const header = Buffer.alloc(28);
  o.cookieI.copy(header, 0);
  (o.cookieR ?? Buffer.alloc(8)).copy(header, 8);
  header.writeUInt8(o.firstPayload, 16);
  header.writeUInt8(o.version ?? 0x10, 17);
  header.writeUInt8(o.exchange ?? ExchangeType.IDENTITY_PROTECTION, 18);
  header.writeUInt8(o.flags ?? 0, 19);
  header.writeUInt32BE(o.messageId ?? 0, 20);
  header.writeUInt32BE(o.lengthOverride ?? 28 + chain.length, 24);
  return Buffer.concat([header, chain]);
}
