/**
 * Per-packet options on crafted IPv4 packets, checked with checksums computed
 * independently (packets.ts): TCP MSS clamping (tcp_mss_adjustment), DF
 * clearing (clear_df_bit), fragmentation before encryption, ICMP
 * "fragmentation needed", and the path budget per transform against AWS's
 * MTU table (aws-peer.md §4) and the TypeScript arithmetic in src/dataplane/mtu.ts.
 */
import { describe, expect, it } from 'vitest';
import { ENCRYPTION, INTEGRITY } from '../../../src/crypto/transforms.js';
import { maxInnerPacket } from '../../../src/dataplane/mtu.js';
import { loadDataplaneTesting } from '../../helpers/native-testing.js';
import { SeededRandom } from '../crypto/helpers.js';
import {
  checksum,
  headerLength,
  icmpEcho,
  ipv4,
  ipv4HeaderValid,
  mssOption,
  reassemble,
  tcp,
  tcpMss,
  transportChecksumValid,
  udp,
} from './packets.js';

const { ipv4: native } = loadDataplaneTesting();

describe('TCP MSS clamping', () => {
  it('lowers the MSS of a SYN and keeps the TCP checksum valid', () => {
    const p = tcp({ syn: true, options: mssOption(1460) });
    expect(transportChecksumValid(p)).toBe(true);
    expect(native.clampMss(p, 1379)).toBe(true);
    expect(tcpMss(p)).toBe(1379);
    expect(transportChecksumValid(p)).toBe(true);
    expect(ipv4HeaderValid(p)).toBe(true);
  });

  it('clamps SYN-ACKs too (the other direction)', () => {
    const p = tcp({ syn: true, ack: true, options: mssOption(8960) });
    expect(native.clampMss(p, 1382)).toBe(true);
    expect(tcpMss(p)).toBe(1382);
    expect(transportChecksumValid(p)).toBe(true);
  });

  it('handles the option at an odd offset behind NOPs, among other options, with a payload', () => {
    const rng = new SeededRandom();
    for (let nops = 0; nops < 8; nops++) {
      const options = Buffer.concat([Buffer.alloc(nops, 1), Buffer.from([4, 2]) /* SACK permitted */, mssOption(1000 + rng.int(64000))]);
      const p = tcp({ syn: true, options, payload: rng.bytes(rng.int(40)) });
      const before = tcpMss(p)!;
      const changed = native.clampMss(p, 1200);
      expect(changed).toBe(before > 1200);
      expect(tcpMss(p)).toBe(Math.min(before, 1200));
      expect(transportChecksumValid(p), `nops ${nops} seed ${rng.seed}`).toBe(true);
    }
  });

  it('leaves non-SYN segments, smaller MSS values, other protocols and later fragments alone', () => {
    const cases = [
      tcp({ ack: true, options: mssOption(1460) }),
      tcp({ syn: true, options: mssOption(536) }),
      tcp({ syn: true }),
      udp({ payload: Buffer.alloc(30, 0x02) }),
    ];
    for (const p of cases) {
      const copy = Buffer.from(p);
      expect(native.clampMss(p, 1379)).toBe(false);
      expect(p).toEqual(copy);
    }
    const syn = tcp({ syn: true, options: mssOption(1460) });
    const later = ipv4({ protocol: 6, payload: syn.subarray(20), fragmentOffset: 8 });
    expect(native.clampMss(later, 1379)).toBe(false);
  });

  it('survives malformed option lists without reading past the packet', () => {
    const p = tcp({ syn: true, options: Buffer.from([2, 0, 9, 9]) }); // option length 0
    expect(native.clampMss(p, 1000)).toBe(false);
    const q = tcp({ syn: true, options: Buffer.from([1, 1, 1, 2]) }); // MSS kind in the last byte, no length
    expect(native.clampMss(q, 1000)).toBe(false);
    const truncated = tcp({ syn: true, options: mssOption(1460) }).subarray(0, 30);
    expect(native.clampMss(truncated, 1000)).toBe(false);
  });
});

describe('clearing DF', () => {
  it('clears the flag and fixes the header checksum', () => {
    const p = icmpEcho({ size: 100, df: true });
    expect(native.clearDf(p)).toBe(true);
    expect(p.readUInt16BE(6) & 0x4000).toBe(0);
    expect(ipv4HeaderValid(p)).toBe(true);
    expect(native.clearDf(p)).toBe(false);
  });
});

describe('fragmenting before encryption (RFC 791)', () => {
  it('splits into pieces within the budget at 8-byte offsets that reassemble to the original', () => {
    const rng = new SeededRandom();
    for (let i = 0; i < 200; i++) {
      const original = udp({ payload: rng.bytes(100 + rng.int(8800)), id: rng.int(65536) });
      const max = 68 + rng.int(1500);
      const fragments = native.fragment(original, max);
      if (original.length <= max) {
        expect(fragments).toHaveLength(1);
      }
      expect(fragments).not.toBeNull();
      for (const [k, f] of fragments!.entries()) {
        expect(f.length).toBeLessThanOrEqual(max);
        expect(ipv4HeaderValid(f), `seed ${rng.seed}`).toBe(true);
        expect(f.readUInt16BE(2)).toBe(f.length);
        expect(f.readUInt16BE(4)).toBe(original.readUInt16BE(4)); // same identification
        const more = (f.readUInt16BE(6) & 0x2000) !== 0;
        expect(more).toBe(k < fragments!.length - 1);
        if (more) expect((f.length - headerLength(f)) % 8).toBe(0);
      }
      const whole = reassemble(fragments!);
      expect(whole.equals(original), `seed ${rng.seed}`).toBe(true);
      expect(transportChecksumValid(whole)).toBe(true);
    }
  });

  it('keeps offsets and MF right when fragmenting a fragment', () => {
    const payload = Buffer.alloc(2000, 0xab);
    const middle = ipv4({ protocol: 17, payload, fragmentOffset: 1480, mf: true });
    const parts = native.fragment(middle, 1000)!;
    expect(parts.map((f) => (f.readUInt16BE(6) & 0x1fff) * 8)).toEqual([1480, 1480 + 976, 1480 + 1952]);
    expect(parts.every((f) => (f.readUInt16BE(6) & 0x2000) !== 0)).toBe(true); // the original had MF
  });

  it('copies only options with the "copied" flag into later fragments', () => {
    // Router Alert (148, copied) and a record-route-like option 7 (not copied), padded.
    const options = Buffer.from([148, 4, 0, 0, 7, 7, 4, 0, 0, 0, 0, 0]);
    const p = ipv4({ protocol: 17, payload: Buffer.alloc(600, 1), options });
    const parts = native.fragment(p, 300)!;
    expect(headerLength(parts[0]!)).toBe(32);
    expect(parts[0]!.subarray(20, 32)).toEqual(options);
    for (const f of parts.slice(1)) {
      expect(headerLength(f)).toBe(24);
      expect(f.subarray(20, 24)).toEqual(Buffer.from([148, 4, 0, 0]));
      expect(ipv4HeaderValid(f)).toBe(true);
    }
  });

  it('refuses budgets too small to carry a header and 8 bytes', () => {
    expect(native.fragment(udp({ payload: Buffer.alloc(100) }), 27)).toBeNull();
  });
});

describe('ICMP fragmentation needed (RFC 792, RFC 1191)', () => {
  it('is type 3 code 4 with the next-hop MTU, from the tunnel peer to the sender, quoting the packet', () => {
    const big = icmpEcho({ src: '10.1.2.3', dst: '10.9.9.9', size: 1472, df: true });
    const reply = native.fragNeeded(big, '169.254.10.1', 1438)!;
    expect(ipv4HeaderValid(reply)).toBe(true);
    expect(reply.length).toBeLessThanOrEqual(576);
    expect(reply[9]).toBe(1);
    expect([...reply.subarray(12, 16)].join('.')).toBe('169.254.10.1');
    expect([...reply.subarray(16, 20)].join('.')).toBe('10.1.2.3');
    const icmp = reply.subarray(20);
    expect([icmp[0], icmp[1]]).toEqual([3, 4]);
    expect(icmp.readUInt16BE(6)).toBe(1438);
    expect(checksum(icmp)).toBe(0);
    expect(icmp.subarray(8, 8 + 28)).toEqual(big.subarray(0, 28));
  });

  it('is never sent about ICMP errors or later fragments', () => {
    const error = icmpEcho({ size: 1400, df: true, type: 3 });
    expect(native.fragNeeded(error, '169.254.10.1', 1400)).toBeNull();
    const later = ipv4({ protocol: 17, payload: Buffer.alloc(1400), fragmentOffset: 1480, df: true });
    expect(native.fragNeeded(later, '169.254.10.1', 1400)).toBeNull();
  });
});

describe('path budget per transform', () => {
  // aws-peer.md §4: MTU with NAT-T for a 1500-byte path.
  const aws: Record<string, number> = {
    'aes128-gcm16': 1438,
    'aes256-gcm16': 1438,
    'hmac-sha1-96': 1422,
    'hmac-sha256-128': 1422,
    'hmac-sha384-192': 1422,
    'hmac-sha512-256': 1406,
  };

  it('matches AWS\'s table with NAT-T, and the TypeScript arithmetic for any path MTU', () => {
    for (const enc of ENCRYPTION) {
      const integrities = enc.aead ? [undefined] : INTEGRITY.map((i) => i.name);
      for (const integrity of integrities) {
        const suite = { encryption: enc.name, integrity };
        expect(native.maxInner(enc.name, integrity ?? null, 1500)).toBe(aws[integrity ?? enc.name]);
        expect(maxInnerPacket(suite, 1500)).toBe(aws[integrity ?? enc.name]);
        for (let mtu = 576; mtu <= 9000; mtu += 37) {
          expect(native.maxInner(enc.name, integrity ?? null, mtu)).toBe(maxInnerPacket(suite, mtu));
        }
      }
    }
  });

  it('matches AWS\'s table without NAT-T', () => {
    expect(maxInnerPacket({ encryption: 'aes128-gcm16' }, 1500, false)).toBe(1446);
    expect(maxInnerPacket({ encryption: 'aes128-cbc', integrity: 'hmac-sha1-96' }, 1500, false)).toBe(1438);
    expect(maxInnerPacket({ encryption: 'aes256-cbc', integrity: 'hmac-sha384-192' }, 1500, false)).toBe(1422);
    expect(maxInnerPacket({ encryption: 'aes256-cbc', integrity: 'hmac-sha512-256' }, 1500, false)).toBe(1422);
  });
});

describe('TUN offloads: TSO splitting and partial checksums (virtio_net_hdr)', () => {
  function superPacket(payloadLength: number, flags: { fin?: boolean; psh?: boolean; cwr?: boolean } = {}): Buffer {
    const payload = Buffer.from(Array.from({ length: payloadLength }, (_, i) => (i * 7) & 0xff));
    const p = tcp({ ack: true, payload, options: Buffer.from([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]) /* NOP NOP timestamps */ });
    const hl = headerLength(p);
    p[hl + 13] = (p[hl + 13] as number) | (flags.fin ? 0x01 : 0) | (flags.psh ? 0x08 : 0) | (flags.cwr ? 0x80 : 0);
    return p; // checksum now stale: TSO recomputes it
  }

  it('splits like TSO hardware: sizes, sequence numbers, IP ids, flags, checksums', () => {
    const original = superPacket(10_000, { fin: true, psh: true, cwr: true });
    const hl = headerLength(original);
    const thl = ((original[hl + 12] as number) >> 4) * 4;
    const segments = native.tsoSegment(original, 1386)!;
    expect(segments).toHaveLength(Math.ceil(10_000 / 1386));
    const seq0 = original.readUInt32BE(hl + 4);
    let offset = 0;
    const data: Buffer[] = [];
    for (const [k, s] of segments.entries()) {
      const last = k === segments.length - 1;
      expect(s.readUInt16BE(2)).toBe(s.length);
      expect(s.length - hl - thl).toBe(last ? 10_000 - 1386 * k : 1386);
      expect(s.readUInt16BE(4)).toBe((original.readUInt16BE(4) + k) & 0xffff);
      expect(s.readUInt32BE(hl + 4)).toBe((seq0 + offset) >>> 0);
      const f = s[hl + 13] as number;
      expect((f & 0x01) !== 0).toBe(last); // FIN
      expect((f & 0x08) !== 0).toBe(last); // PSH
      expect((f & 0x80) !== 0).toBe(k === 0); // CWR
      expect(f & 0x10).toBe(0x10); // ACK everywhere
      expect(s.subarray(hl + 20, hl + thl)).toEqual(original.subarray(hl + 20, hl + thl)); // options
      expect(ipv4HeaderValid(s)).toBe(true);
      expect(transportChecksumValid(s)).toBe(true);
      data.push(s.subarray(hl + thl));
      offset += s.length - hl - thl;
    }
    expect(Buffer.concat(data)).toEqual(original.subarray(hl + thl));
  });

  it('refuses what is not IPv4/TCP', () => {
    expect(native.tsoSegment(udp({ payload: Buffer.alloc(3000) }), 1400)).toBeNull();
  });

  it('finishes a partial checksum whose field holds the pseudo-header sum', () => {
    for (const make of [() => tcp({ syn: true, options: mssOption(1460), payload: Buffer.alloc(333, 9) }), () => udp({ payload: Buffer.alloc(501, 3) })]) {
      const p = make();
      const hl = headerLength(p);
      const field = p[9] === 6 ? 16 : 6;
      // What a kernel hands over with NEEDS_CSUM: the folded pseudo-header sum, not complemented.
      const pseudo = Buffer.alloc(12);
      p.copy(pseudo, 0, 12, 20);
      pseudo[9] = p[9] as number;
      pseudo.writeUInt16BE(p.length - hl, 10);
      p.writeUInt16BE(~checksum(pseudo) & 0xffff, hl + field);
      expect(transportChecksumValid(p)).toBe(false);
      expect(native.finishChecksum(p, hl, field)).toBe(true);
      expect(transportChecksumValid(p)).toBe(true);
    }
    expect(native.finishChecksum(Buffer.alloc(40), 60, 16)).toBe(false);
  });
});
