/**
 * An independent check of what went over the wire: from the captured datagrams and one side's
 * keylog, re-derive with @noble (not node:crypto, not src/crypto) every IV, decrypt every
 * protected message and verify every HASH of Main Mode and Quick Mode (RFC 2409 §5, §5.5,
 * Appendix B), and — for a quick mode without PFS — the ESP keys handed to the data plane.
 */
import { cbc } from '@noble/ciphers/aes.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { expect } from 'vitest';
import type { IntegrityName } from '../../../../../src/crypto/transforms.js';
import { decodeMessage, decodePlaintext } from '../../../../../src/ike/v1/wire/message.js';
import type { ChainEntry } from '../../../../../src/ike/v1/wire/payloads.js';
import type { IkeKeylog, Pair } from '../../harness/pair.js';

type Hash = typeof sha1;
const HASH: Record<IntegrityName, Hash> = {
  'hmac-sha1-96': sha1,
  'hmac-sha256-128': sha256,
  'hmac-sha384-192': sha384,
  'hmac-sha512-256': sha512,
};

const cat = (...parts: Uint8Array[]): Buffer => Buffer.concat(parts);
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

interface Captured {
  readonly from: 'cgw' | 'aws';
  readonly data: Buffer;
}

function decrypt(key: Buffer, iv: Uint8Array, body: Buffer): Buffer {
  return Buffer.from(cbc(key, iv, { disablePadding: true }).decrypt(body));
}

function find(entries: readonly ChainEntry[], kind: ChainEntry['payload']['kind']): ChainEntry {
  const e = entries.find((x) => x.payload.kind === kind);
  if (!e) throw new Error(`no ${kind}`);
  return e;
}

export interface IndependentResult {
  readonly quickModes: number;
  readonly keymatChecked: number;
}

/** Verifies the Main Mode of `keys` and every quick mode on it; `psk` as configured. */
export function verifyIndependently(pair: Pair, keys: IkeKeylog, psk: string): IndependentResult {
  const hash = HASH[keys.suite.integrity ?? 'hmac-sha1-96'];
  const prf = (key: Uint8Array, ...data: Uint8Array[]): Buffer => Buffer.from(hmac(hash, key, cat(...data)));
  const cookieI = Buffer.from(keys.spiI, 'hex');
  const cookieR = Buffer.from(keys.spiR, 'hex');
  const cgwAddress = pair.cgw.address;
  const wire: Captured[] = pair.net.delivered
    .filter((w) => w.data.subarray(0, 8).equals(cookieI))
    .map((w) => ({ from: w.from.address === cgwAddress ? 'cgw' : 'aws', data: w.data }));
  const unique = wire.filter((w, i) => wire.findIndex((x) => x.data.equals(w.data)) === i);
  const initiator: 'cgw' | 'aws' = keys.originalInitiator === (pair.cgw.keylog.includes(keys)) ? 'cgw' : 'aws';
  const responder = initiator === 'cgw' ? 'aws' : 'cgw';
  const mm = unique.filter((w) => w.data[18] === 2);
  const plain = (w: Captured | undefined) => {
    if (!w) throw new Error('main mode message missing');
    const d = decodeMessage(w.data);
    if (d.encrypted) throw new Error('expected plain');
    return d.entries;
  };
  const mm1 = plain(mm.find((w) => w.from === initiator && w.data[19] === 0 && !decodeMessageIsKe(w.data)));
  const mm3 = plain(mm.find((w) => w.from === initiator && w.data[19] === 0 && decodeMessageIsKe(w.data)));
  const mm4 = plain(mm.find((w) => w.from === responder && w.data[19] === 0 && decodeMessageIsKe(w.data)));
  const saiBody = find(mm1, 'SA').raw.subarray(4);
  const gxi = find(mm3, 'KE').raw.subarray(4);
  const ni = find(mm3, 'NONCE').raw.subarray(4);
  const gxr = find(mm4, 'KE').raw.subarray(4);
  const nr = find(mm4, 'NONCE').raw.subarray(4);

  // SKEYID = prf(PSK, Ni_b | Nr_b)
  const skeyid = prf(Buffer.from(psk), ni, nr);
  expect(skeyid.equals(keys.keys.skPi), 'SKEYID').toBe(true);

  // IV = hash(g^xi | g^xr); MM5, MM6 chained.
  const ka = keys.keys.skEi;
  let iv: Uint8Array = hash(cat(gxi, gxr)).subarray(0, 16);
  const mm5 = mm.find((w) => w.from === initiator && (w.data[19] ?? 0) & 1);
  const mm6 = mm.find((w) => w.from === responder && (w.data[19] ?? 0) & 1);
  if (!mm5 || !mm6) throw new Error('encrypted main mode messages missing');
  const open = (w: Captured, withIv: Uint8Array): { entries: ChainEntry[]; last: Buffer } => {
    const d = decodeMessage(w.data);
    if (!d.encrypted) throw new Error('expected encrypted');
    const plaintext = decrypt(ka, withIv, d.body);
    return { entries: decodePlaintext(d.header, plaintext), last: d.body.subarray(d.body.length - 16) };
  };
  const m5 = open(mm5, iv);
  iv = m5.last;
  expect(find(m5.entries, 'HASH').raw.subarray(4).equals(prf(skeyid, gxi, gxr, cookieI, cookieR, saiBody, find(m5.entries, 'ID').raw.subarray(4))), 'HASH_I').toBe(true);
  const m6 = open(mm6, iv);
  expect(find(m6.entries, 'HASH').raw.subarray(4).equals(prf(skeyid, gxr, gxi, cookieR, cookieI, saiBody, find(m6.entries, 'ID').raw.subarray(4))), 'HASH_R').toBe(true);
  const phase1Iv = m6.last;

  // Quick modes: IV = hash(phase 1 IV | M-ID), then chained; HASH(1), HASH(2), HASH(3).
  const skeyidA = keys.keys.skAi;
  const skeyidD = keys.keys.skD;
  const qms = new Map<number, Captured[]>();
  for (const w of unique.filter((x) => x.data[18] === 32 && x.data.subarray(8, 16).equals(cookieR))) {
    const mid = w.data.readUInt32BE(20);
    qms.set(mid, [...(qms.get(mid) ?? []), w]);
  }
  let keymatChecked = 0;
  let quickModes = 0;
  for (const [mid, messages] of qms) {
    if (messages.length < 3) continue;
    const [q1, q2, q3] = messages as [Captured, Captured, Captured];
    let qiv: Uint8Array = hash(cat(phase1Iv, u32(mid))).subarray(0, 16);
    const o1 = open(q1, qiv);
    qiv = o1.last;
    const o2 = open(q2, qiv);
    qiv = o2.last;
    const o3 = open(q3, qiv);
    const after = (entries: ChainEntry[]) => cat(...entries.slice(1).map((e) => e.raw));
    const n1 = find(o1.entries, 'NONCE').raw.subarray(4);
    const n2 = find(o2.entries, 'NONCE').raw.subarray(4);
    expect(find(o1.entries, 'HASH').raw.subarray(4).equals(prf(skeyidA, u32(mid), after(o1.entries))), 'HASH(1)').toBe(true);
    expect(find(o2.entries, 'HASH').raw.subarray(4).equals(prf(skeyidA, u32(mid), n1, after(o2.entries))), 'HASH(2)').toBe(true);
    expect(find(o3.entries, 'HASH').raw.subarray(4).equals(prf(skeyidA, Uint8Array.of(0), u32(mid), n1, n2)), 'HASH(3)').toBe(true);
    quickModes += 1;
    if (o1.entries.some((e) => e.payload.kind === 'KE')) continue;
    // KEYMAT = K1 | K2 …, K1 = prf(SKEYID_d, protocol | SPI | Ni_b | Nr_b), Kn = prf(SKEYID_d, Kn-1 | …)
    const spiOf = (entries: ChainEntry[]): Buffer => {
      const sa = find(entries, 'SA').payload;
      if (sa.kind !== 'SA' || !sa.proposals[0]) throw new Error('SA');
      return sa.proposals[0].spi;
    };
    const spiI = spiOf(o1.entries);
    const spiR = spiOf(o2.entries);
    const keymat = (spi: Buffer, length: number): Buffer => {
      const seed = cat(Uint8Array.of(3), spi, n1, n2);
      let k = prf(skeyidD, seed);
      let out = k;
      while (out.length < length) {
        k = prf(skeyidD, k, seed);
        out = cat(out, k);
      }
      return out.subarray(0, length);
    };
    const installs = [...pair.cgw.sink.history, ...pair.aws.sink.history];
    const sa = installs.find((s) => s.spiIn === spiI.readUInt32BE(0) || s.spiOut === spiI.readUInt32BE(0));
    if (!sa) continue;
    const inbound = sa.spiIn === spiI.readUInt32BE(0) ? spiI : spiR;
    const outbound = inbound === spiI ? spiR : spiI;
    const length = sa.encKeyIn.length + (sa.integKeyIn?.length ?? 0);
    expect(keymat(inbound, length).equals(cat(sa.encKeyIn, sa.integKeyIn ?? Buffer.alloc(0))), 'KEYMAT inbound').toBe(true);
    expect(keymat(outbound, length).equals(cat(sa.encKeyOut, sa.integKeyOut ?? Buffer.alloc(0))), 'KEYMAT outbound').toBe(true);
    keymatChecked += 1;
  }
  return { quickModes, keymatChecked };
}

function decodeMessageIsKe(data: Buffer): boolean {
  return data[16] === 4;
}
