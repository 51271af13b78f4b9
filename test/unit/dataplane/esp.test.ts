/**
 * The addon's ESP code (native/src/esp.c and sa.c, the very functions the
 * packet thread calls) against the TypeScript reference codec, on random
 * packets in both directions for every transform; then the inbound checks the
 * data plane adds (ICV, padding, next header, inner header, replay), sequence
 * exhaustion and lifetimes.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ENCRYPTION, INTEGRITY, type EncryptionName, type IntegrityName } from '../../../src/crypto/transforms.js';
import { espDecap, espEncap, padLengthFor, type ReferenceSa } from '../../../src/esp/reference.js';
import type { NativeSaSpec } from '../../../src/native/addon.js';
import { loadDataplaneTesting, type NativeEspSa } from '../../helpers/native-testing.js';
import { SeededRandom } from '../crypto/helpers.js';
import { udp } from './packets.js';

const testing = loadDataplaneTesting();

type SuiteRow = [EncryptionName, IntegrityName | undefined];
const suites: SuiteRow[] = ENCRYPTION.flatMap((e): SuiteRow[] =>
  e.aead ? [[e.name, undefined]] : INTEGRITY.map((i): SuiteRow => [e.name, i.name]),
);

interface Pair {
  native: NativeEspSa;
  /** Decrypts what native sends (its outbound SA). */
  peerIn: ReferenceSa;
  /** Encrypts what native receives (its inbound SA). */
  peerOut: ReferenceSa;
}

function makePair(encryption: EncryptionName, integrity: IntegrityName | undefined, extra: Partial<NativeSaSpec> = {}): Pair {
  const enc = ENCRYPTION.find((e) => e.name === encryption)!;
  const integ = INTEGRITY.find((i) => i.name === integrity);
  const keyIn = randomBytes(enc.keyBits / 8 + enc.saltBytes);
  const keyOut = randomBytes(enc.keyBits / 8 + enc.saltBytes);
  const integIn = integ ? randomBytes(integ.keyBytes) : undefined;
  const integOut = integ ? randomBytes(integ.keyBytes) : undefined;
  const spiIn = 0x1000_0001;
  const spiOut = 0x2000_0002;
  const spec: NativeSaSpec = {
    id: 1,
    tunnel: 1,
    spiIn,
    spiOut,
    encryption,
    encKeyIn: keyIn,
    encKeyOut: keyOut,
    replayWindow: 1024,
    ...(integrity ? { integrity, integKeyIn: integIn, integKeyOut: integOut } : {}),
    ...extra,
  };
  return {
    native: new testing.EspSa(spec),
    peerIn: { spi: spiOut, encryption, integrity, encKey: keyOut, integKey: integOut },
    peerOut: { spi: spiIn, encryption, integrity, encKey: keyIn, integKey: integIn },
  };
}

function randomPacket(rng: SeededRandom, max = 1500): Buffer {
  const total = 28 + rng.int(max - 27);
  return udp({ payload: rng.bytes(total - 28), id: rng.int(65536) });
}

function encap(sa: NativeEspSa, inner: Buffer): Buffer {
  const out = sa.encap(inner);
  if (!Buffer.isBuffer(out)) throw new Error(`encap refused: ${out.reason}`);
  return out;
}

function reason(result: ReturnType<NativeEspSa['decap']>): string {
  return result.ok ? 'ok' : result.reason;
}

describe.each(suites.filter(([e]) => e.includes('gcm')))('addon GCM nonces: %s', (encryption, integrity) => {
  it('an SA that starts mid-space sends its sequence number as the GCM IV (the nonce counter restarts there)', () => {
    const rng = new SeededRandom();
    const { native, peerIn } = makePair(encryption, integrity, { initialSequence: 1_000_000 });
    for (let seq = 1_000_001; seq <= 1_000_050; seq++) {
      const inner = randomPacket(rng);
      const out = espDecap(peerIn, encap(native, inner));
      expect(out.seq).toBe(seq);
      expect(out.iv.readBigUInt64BE(0)).toBe(BigInt(seq));
      expect(out.payload.equals(inner), `seed ${rng.seed}`).toBe(true);
    }
  });
});

describe.each(suites)('addon ESP vs reference: %s %s', (encryption, integrity) => {
  it('addon encrypts, reference decrypts: 300 random packets', () => {
    const rng = new SeededRandom();
    const { native, peerIn } = makePair(encryption, integrity);
    const align = encryption.includes('gcm') ? 4 : 16;
    for (let seq = 1; seq <= 300; seq++) {
      const inner = randomPacket(rng);
      const esp = encap(native, inner);
      const out = espDecap(peerIn, esp);
      expect(out.seq, `seed ${rng.seed}`).toBe(seq);
      expect(out.spi).toBe(0x2000_0002);
      expect(out.nextHeader).toBe(4);
      expect(out.payload.equals(inner), `seed ${rng.seed}`).toBe(true);
      expect(out.padding.length).toBe(padLengthFor(inner.length, align)); // minimal padding
      if (align === 4) expect(out.iv.readBigUInt64BE(0)).toBe(BigInt(seq));
    }
    const state = native.state();
    expect(state.seqOut).toBe(300);
    expect(state.counters.packetsOut).toBe(300);
  });

  it('reference encrypts, addon decrypts: 300 random packets, reordered within the window', () => {
    const rng = new SeededRandom();
    const { native, peerOut } = makePair(encryption, integrity);
    const packets = Array.from({ length: 300 }, (_, i) => {
      const inner = randomPacket(rng);
      return { inner, esp: espEncap(peerOut, inner, { seq: i + 1, extraPadBlocks: rng.int(3) }) };
    });
    for (let i = packets.length - 1; i > 0; i--) {
      const j = Math.max(0, i - rng.int(40));
      [packets[i], packets[j]] = [packets[j]!, packets[i]!];
    }
    let bytes = 0;
    for (const { inner, esp } of packets) {
      const result = native.decap(esp);
      expect(result.ok, `seed ${rng.seed}: ${reason(result)}`).toBe(true);
      if (result.ok) expect(result.inner.equals(inner)).toBe(true);
      bytes += inner.length;
    }
    const state = native.state();
    expect(state.replayTop).toBe(300);
    expect(state.counters).toMatchObject({ packetsIn: 300, bytesIn: bytes });
  });

  it('inbound checks: ICV, padding, next header, inner header, truncation', () => {
    const { native, peerOut } = makePair(encryption, integrity);
    const inner = udp({ payload: randomBytes(77) });
    let seq = 1;
    const make = (options: Partial<Parameters<typeof espEncap>[2]> = {}, payload: Buffer = inner): Buffer =>
      espEncap(peerOut, payload, { seq: seq++, ...options });

    const flipped = make();
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
    expect(reason(native.decap(flipped))).toBe('icv');
    const body = make();
    body[30] = (body[30] as number) ^ 0x10;
    expect(reason(native.decap(body))).toBe('icv');

    const align = encryption.includes('gcm') ? 4 : 16;
    const padLength = padLengthFor(inner.length, align) + align;
    const badPadding = Buffer.from(Array.from({ length: padLength }, (_, i) => i + 1));
    badPadding[0] = 9;
    expect(reason(native.decap(make({ extraPadBlocks: 1, padding: badPadding })))).toBe('bad_padding');
    expect(reason(native.decap(make({ padLengthByte: 255 })))).toBe('bad_padding');

    expect(reason(native.decap(make({ nextHeader: 17 })))).toBe('bad_next_header');
    expect(reason(native.decap(make({ nextHeader: 59 })))).toBe('dummy');
    expect(reason(native.decap(make({ nextHeader: 41 })))).toBe('not_ipv4');

    const lying = Buffer.from(inner);
    lying.writeUInt16BE(inner.length + 20, 2); // total length beyond the payload
    expect(reason(native.decap(make({}, lying))).toString()).toBe('malformed');
    expect(reason(native.decap(make({}, Buffer.from([0x60, 0, 0, 0]))))).toBe('malformed');

    const whole = make();
    expect(reason(native.decap(whole.subarray(0, 8)))).toBe('malformed');
    expect(reason(native.decap(whole.subarray(0, 20)))).toBe('malformed');
    if (align === 16) {
      // CBC ciphertext that is not a whole number of blocks (ICV moved 4 bytes in).
      const cut = Buffer.concat([whole.subarray(0, whole.length - 4 - 16), whole.subarray(whole.length - 16)]);
      expect(['malformed', 'icv']).toContain(reason(native.decap(cut)));
    }

    expect(reason(native.decap(Buffer.concat([Buffer.from([0, 0, 0, 7]), whole.subarray(4)])))).toBe('no_sa');
    // Still fine afterwards.
    expect(native.decap(make()).ok).toBe(true);
    const drops = native.state().counters.drops;
    expect(drops).toMatchObject({ icv: 2, bad_padding: 2, bad_next_header: 1, dummy: 1, not_ipv4: 1 });
  });
});

describe('anti-replay through the ESP path (RFC 4303 §3.4.3)', () => {
  it('drops duplicates and packets left of the window; accepts reordering within it', () => {
    const { native, peerOut } = makePair('aes128-gcm16', undefined, { replayWindow: 64 });
    const inner = udp({ payload: Buffer.alloc(10) });
    const at = (seq: number): Buffer => espEncap(peerOut, inner, { seq });
    expect(native.decap(at(100)).ok).toBe(true);
    expect(reason(native.decap(at(100)))).toBe('replay');
    expect(native.decap(at(37)).ok).toBe(true); // 100 - 63: the left edge of a 64-packet window
    expect(reason(native.decap(at(36)))).toBe('replay'); // left of it
    expect(native.decap(at(99)).ok).toBe(true);
    expect(native.decap(at(5000)).ok).toBe(true); // far future: the window jumps
    expect(reason(native.decap(at(4936)))).toBe('replay');
    expect(native.decap(at(4937)).ok).toBe(true);
    expect(reason(native.decap(at(0)))).toBe('replay'); // sequence 0 is never sent
  });

  it('moves the window only for packets whose ICV verifies', () => {
    const { native, peerOut } = makePair('aes256-cbc', 'hmac-sha256-128', { replayWindow: 64 });
    const inner = udp({ payload: Buffer.alloc(10) });
    expect(native.decap(espEncap(peerOut, inner, { seq: 10 })).ok).toBe(true);
    const forged = espEncap(peerOut, inner, { seq: 1_000_000 });
    forged[forged.length - 1] = (forged[forged.length - 1] as number) ^ 1;
    expect(reason(native.decap(forged))).toBe('icv');
    expect(native.state().replayTop).toBe(10);
    expect(native.decap(espEncap(peerOut, inner, { seq: 5 })).ok).toBe(true); // still inside the window
    // A valid packet with bad padding authenticates, so it does advance the window.
    const align = 16;
    const wrong = Buffer.alloc(padLengthFor(inner.length, align) + align, 7);
    expect(reason(native.decap(espEncap(peerOut, inner, { seq: 20, extraPadBlocks: 1, padding: wrong })))).toBe('bad_padding');
    expect(native.state().replayTop).toBe(20);
    expect(reason(native.decap(espEncap(peerOut, inner, { seq: 20 })))).toBe('replay');
  });

  it('replay window 0 turns the check off (except sequence 0)', () => {
    const { native, peerOut } = makePair('aes128-gcm16', undefined, { replayWindow: 0 });
    const inner = udp({ payload: Buffer.alloc(10) });
    const esp = espEncap(peerOut, inner, { seq: 3 });
    expect(native.decap(esp).ok).toBe(true);
    expect(native.decap(esp).ok).toBe(true);
  });
});

describe('outbound sequence numbers and lifetimes', () => {
  const inner = udp({ payload: Buffer.alloc(100) });

  it('raises "seq exhausting" at 0xF0000000 and refuses to wrap past 2^32 − 1 (no ESN)', () => {
    const { native, peerIn } = makePair('aes128-gcm16', undefined);
    native.setSeqOut(0xefff_fffe);
    encap(native, inner);
    expect(native.state().seqExhausting).toBe(false);
    encap(native, inner);
    expect(native.state()).toMatchObject({ seqOut: 0xf000_0000, seqExhausting: true });
    native.setSeqOut(0xffff_fffe);
    expect(espDecap(peerIn, encap(native, inner)).seq).toBe(0xffff_ffff);
    expect(native.encap(inner)).toEqual({ ok: false, reason: 'seq_exhausted' });
    expect(native.state().counters.drops.seq_exhausted).toBe(1);
  });

  it('soft and hard packet/byte lifetimes', () => {
    const { native } = makePair('aes128-cbc', 'hmac-sha1-96', { softPackets: 3, hardBytes: inner.length * 5 });
    for (let i = 0; i < 2; i++) encap(native, inner);
    expect(native.state().soft).toBeNull();
    encap(native, inner);
    expect(native.state().soft).toBe('packets');
    encap(native, inner);
    expect(native.state().hard).toBeNull();
    encap(native, inner);
    expect(native.state().hard).toBe('bytes');
    expect(native.encap(inner)).toEqual({ ok: false, reason: 'expired' });
  });

  it('soft and hard time lifetimes', () => {
    const { native } = makePair('aes256-gcm16', undefined, { softMs: 1000, hardMs: 2000 });
    native.checkLifetime(999);
    expect(native.state()).toMatchObject({ soft: null, hard: null });
    native.checkLifetime(1000);
    expect(native.state()).toMatchObject({ soft: 'time', hard: null });
    native.checkLifetime(2000);
    expect(native.state()).toMatchObject({ hard: 'time' });
    expect(native.encap(inner)).toEqual({ ok: false, reason: 'expired' });
  });
});

describe('SA construction in the addon', () => {
  it('refuses wrong key lengths, unknown transforms, AEAD with integrity and SPI 0 with DP_BAD_ARG', () => {
    const key16 = Buffer.alloc(16);
    const base: NativeSaSpec = { id: 1, tunnel: 1, spiIn: 1, spiOut: 2, encryption: 'aes128-gcm16', encKeyIn: Buffer.alloc(20), encKeyOut: Buffer.alloc(20) };
    const bad: NativeSaSpec[] = [
      { ...base, encKeyIn: key16 },
      { ...base, encryption: 'aes192-gcm16' },
      { ...base, integrity: 'hmac-sha1-96', integKeyIn: Buffer.alloc(20), integKeyOut: Buffer.alloc(20) },
      { ...base, encryption: 'aes128-cbc', encKeyIn: key16, encKeyOut: key16 },
      { ...base, encryption: 'aes128-cbc', encKeyIn: key16, encKeyOut: key16, integrity: 'hmac-sha256-128', integKeyIn: Buffer.alloc(20), integKeyOut: Buffer.alloc(32) },
      { ...base, spiIn: 0 },
      { ...base, replayWindow: 5000 },
    ];
    for (const spec of bad) expect(() => new testing.EspSa(spec)).toThrow(expect.objectContaining({ code: 'DP_BAD_ARG' }));
    expect(() => new testing.EspSa(base)).not.toThrow();
  });

  it('error messages carry no key material', () => {
    const secret = Buffer.from('00112233445566778899aabbccddeeff0011', 'hex');
    try {
      new testing.EspSa({ id: 1, tunnel: 1, spiIn: 1, spiOut: 2, encryption: 'aes128-gcm16', encKeyIn: secret, encKeyOut: secret });
      throw new Error('expected a throw');
    } catch (error) {
      expect(String((error as Error).message)).not.toMatch(/0011|aabb/i);
    }
  });
});
