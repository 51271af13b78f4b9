/**
 * A packet never crashes the data plane: random and truncated ESP through the
 * addon's decap path, random bytes through every per-packet helper, and
 * wrong argument types through the raw addon surface. (Run once with an ASan
 * build of the addon to catch out-of-bounds access, not only crashes.)
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { espEncap } from '../../../src/esp/reference.js';
import { loadDataplane, type NativeSaSpec } from '../../../src/native/addon.js';
import { loadDataplaneTesting } from '../../helpers/native-testing.js';
import { SeededRandom } from '../crypto/helpers.js';
import { udp } from './packets.js';

const addon = loadDataplane();
const testing = loadDataplaneTesting();

const suites: Array<Pick<NativeSaSpec, 'encryption' | 'integrity'> & { key: number; integ?: number }> = [
  { encryption: 'aes128-gcm16', key: 20 },
  { encryption: 'aes256-cbc', integrity: 'hmac-sha512-256', key: 32, integ: 64 },
  { encryption: 'aes128-cbc', integrity: 'hmac-sha1-96', key: 16, integ: 20 },
];

describe.each(suites)('hostile ESP into $encryption $integrity', (suite) => {
  const key = randomBytes(suite.key);
  const integ = suite.integ ? randomBytes(suite.integ) : undefined;
  const spec: NativeSaSpec = {
    id: 1,
    tunnel: 1,
    spiIn: 0x0a0b0c0d,
    spiOut: 0x0a0b0c0d,
    encryption: suite.encryption,
    encKeyIn: key,
    encKeyOut: key,
    replayWindow: 64,
    ...(suite.integrity ? { integrity: suite.integrity, integKeyIn: integ, integKeyOut: integ } : {}),
  };

  it('rejects 5000 random packets carrying the right SPI, each with a reason', () => {
    const rng = new SeededRandom();
    const sa = new testing.EspSa(spec);
    const reasons = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const p = rng.bytes(rng.int(200) + (i % 3 === 0 ? 1400 : 0));
      if (p.length >= 4) p.writeUInt32BE(spec.spiIn, 0);
      const r = sa.decap(p);
      expect(r.ok, `seed ${rng.seed}`).toBe(false);
      if (!r.ok) reasons.add(r.reason);
    }
    expect([...reasons].every((r) => ['malformed', 'icv', 'replay', 'no_sa'].includes(r))).toBe(true);
  });

  it('rejects every truncation and every extension of a valid packet', () => {
    const sa = new testing.EspSa(spec);
    const peer = { spi: spec.spiIn, encryption: spec.encryption as 'aes128-gcm16', integrity: spec.integrity as undefined, encKey: key, integKey: integ };
    const esp = espEncap(peer, udp({ payload: Buffer.alloc(200, 1) }), { seq: 5 });
    for (let n = 0; n < esp.length; n++) expect(sa.decap(esp.subarray(0, n)).ok).toBe(false);
    expect(sa.decap(Buffer.concat([esp, Buffer.alloc(4)])).ok).toBe(false);
    expect(sa.decap(esp).ok).toBe(true);
  });
});

describe('random bytes through the per-packet helpers', () => {
  it('never crash and never claim success on garbage they cannot parse', () => {
    const rng = new SeededRandom();
    for (let i = 0; i < 3000; i++) {
      const p = rng.bytes(rng.int(120));
      if (p.length > 0 && rng.int(2) === 0) p[0] = 0x45; // often a plausible IPv4 header start
      if (p.length > 4 && rng.int(2) === 0) p.writeUInt16BE(p.length, 2);
      testing.ipv4.clampMss(p, 1000 + rng.int(500));
      testing.ipv4.clearDf(p);
      const f = testing.ipv4.fragment(p, 28 + rng.int(100));
      if (f) for (const part of f) expect(part.length).toBeLessThanOrEqual(128);
      testing.ipv4.fragNeeded(p, '169.254.0.1', 1400);
      testing.ipv4.tsoSegment(p, 1 + rng.int(100));
      testing.ipv4.finishChecksum(p, rng.int(130), rng.int(130));
    }
  });
});

describe('wrong argument types through the raw addon', () => {
  it('throws DP_BAD_ARG (or a TypeError) instead of crashing', () => {
    const bad: Array<() => unknown> = [
      () => new addon.Dataplane({ address: '127.0.0.1', port: 'x' } as never, () => {}),
      () => new addon.Dataplane({ address: 'localhost', port: 0 }, () => {}),
      () => new addon.Dataplane({ address: '127.0.0.1', port: 70000 }, () => {}),
      () => new addon.Dataplane(null as never, () => {}),
      () => new addon.Dataplane({ address: '127.0.0.1', port: 0 }, 5 as never),
      () => new testing.EspSa({} as never),
      () => new testing.EspSa({ id: 1, tunnel: 1, spiIn: 1, spiOut: 1, encryption: 'aes128-gcm16', encKeyIn: 'key' as never, encKeyOut: Buffer.alloc(20) }),
      () => new testing.EspSa({ id: -1, tunnel: 1, spiIn: 1, spiOut: 1, encryption: 'aes128-gcm16', encKeyIn: Buffer.alloc(20), encKeyOut: Buffer.alloc(20) }),
      () => new testing.ReplayWindow(10_000),
      () => testing.ipv4.clampMss('packet' as never, 1000),
      () => testing.ipv4.fragNeeded(Buffer.alloc(40), 'not an address', 1400),
      () => testing.ipv4.maxInner('rot13', null, 1500),
    ];
    for (const fn of bad) expect(fn).toThrow();
    const dp = new addon.Dataplane({ address: '127.0.0.1', port: 0 }, () => {});
    try {
      expect(() => dp.addTunnel({ tunnel: 9, ifname: 'x', mtu: 1400, address: '169.254.0.2', prefixLength: 30, peer: '169.254.0.1' })).toThrow();
      expect(() => dp.addTunnel({ tunnel: 1, ifname: 'x'.repeat(40), mtu: 1400, address: '169.254.0.2', prefixLength: 30, peer: '169.254.0.1' })).toThrow();
      expect(() => dp.sendUdp('127.0.0.1', 0, Buffer.alloc(1), true)).toThrow();
      expect(() => dp.installSa({} as never)).toThrow(expect.objectContaining({ code: 'DP_BAD_ARG' }));
      expect(() => dp.removeSa('x' as never)).toThrow();
    } finally {
      dp.close();
    }
    expect(() => dp.counters()).toThrow(expect.objectContaining({ code: 'DP_CLOSED' }));
  });
});
