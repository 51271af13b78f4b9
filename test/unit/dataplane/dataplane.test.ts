/**
 * The Dataplane's TypeScript face without root: validation of SAs and tunnel
 * options before they reach C, error classes, and the UDP side of a real
 * packet thread on 127.0.0.1 (IKE up with the marker stripped, sendIke with the
 * marker added, keepalives, junk and unknown SPIs counted). TUN devices need
 * root and a namespace: test/interop/dataplane covers them.
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ChildSaInvalidError,
  Dataplane,
  DataplaneClosedError,
  DataplaneNotFoundError,
  DataplaneOptionsError,
  DataplaneSystemError,
  DROP_REASONS,
  describeSa,
  toNativeSa,
} from '../../../src/dataplane/index.js';
import { toNativeTunnel } from '../../../src/dataplane/validate.js';
import { CgwdError } from '../../../src/errors.js';
import type { ChildSaInstall, IkeDatagram } from '../../../src/ike/runtime.js';
import { loadDataplane } from '../../../src/native/addon.js';

function childSa(overrides: Partial<ChildSaInstall> = {}): ChildSaInstall {
  return {
    id: 7,
    tunnel: 1,
    spiIn: 0xc0ffee01,
    spiOut: 0xc0ffee02,
    encryption: 'aes256-cbc',
    integrity: 'hmac-sha256-128',
    encKeyIn: Buffer.alloc(32, 0x11),
    encKeyOut: Buffer.alloc(32, 0x22),
    integKeyIn: Buffer.alloc(32, 0x33),
    integKeyOut: Buffer.alloc(32, 0x44),
    local: { address: '192.0.2.10', port: 4500 },
    remote: { address: '198.51.100.1', port: 4500 },
    replayWindow: 1024,
    softLifetimeSeconds: 3000,
    hardLifetimeSeconds: 3600,
    createdAt: 0,
    initiatedByUs: true,
    ...overrides,
  };
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('SA validation before the addon', () => {
  it('accepts a CBC and a GCM SA and converts lifetimes to milliseconds', () => {
    const spec = toNativeSa(childSa());
    expect(spec).toMatchObject({ id: 7, tunnel: 1, encryption: 'aes256-cbc', integrity: 'hmac-sha256-128', softMs: 3_000_000, hardMs: 3_600_000 });
    const gcm = toNativeSa(
      childSa({ encryption: 'aes128-gcm16', integrity: undefined, encKeyIn: Buffer.alloc(20), encKeyOut: Buffer.alloc(20), integKeyIn: undefined, integKeyOut: undefined }),
    );
    expect(gcm.integrity).toBeUndefined();
  });

  it.each<[string, Partial<ChildSaInstall>]>([
    ['short encryption key', { encKeyIn: Buffer.alloc(16) }],
    ['GCM key without salt', { encryption: 'aes128-gcm16', integrity: undefined, encKeyIn: Buffer.alloc(16), encKeyOut: Buffer.alloc(16) }],
    ['GCM with integrity', { encryption: 'aes128-gcm16', encKeyIn: Buffer.alloc(20), encKeyOut: Buffer.alloc(20) }],
    ['CBC without integrity', { integrity: undefined }],
    ['wrong integrity key length', { integKeyOut: Buffer.alloc(20) }],
    ['SPI 0', { spiIn: 0 }],
    ['SPI beyond 32 bits', { spiOut: 2 ** 32 }],
    ['tunnel 3', { tunnel: 3 as 1 }],
    ['replay window beyond 4096', { replayWindow: 8192 }],
    ['soft after hard', { softLifetimeSeconds: 4000 }],
    ['remote not IPv4', { remote: { address: '2001:db8::1', port: 4500 } }],
    ['remote port 0', { remote: { address: '198.51.100.1', port: 0 } }],
    ['unknown encryption', { encryption: 'des-cbc' as 'aes128-cbc' }],
  ])('refuses %s with ChildSaInvalidError', (_, overrides) => {
    const error = caught(() => toNativeSa(childSa(overrides)));
    expect(error).toBeInstanceOf(ChildSaInvalidError);
    expect(error).toBeInstanceOf(CgwdError);
    expect((error as ChildSaInvalidError).code).toBe('DATAPLANE_BAD_SA');
    expect((error as Error).message).not.toMatch(/1111|2222|3333|4444/);
  });

  it('describeSa is the loggable view: SPIs, suite, no keys', () => {
    const view = describeSa(childSa());
    expect(view).toEqual({
      id: 7,
      tunnel: 1,
      spiIn: '0xc0ffee01',
      spiOut: '0xc0ffee02',
      suite: 'aes256-cbc/hmac-sha256-128',
      remote: '198.51.100.1:4500',
      replayWindow: 1024,
    });
    expect(JSON.stringify(view)).not.toMatch(/1111|2222|3333|4444|Key/);
  });
});

describe('tunnel option validation', () => {
  it('derives the peer (network + 1) and passes AWS per-packet options through', () => {
    const { spec, info } = toNativeTunnel({
      tunnel: 2,
      ifname: 'cgw-t2',
      mtu: 1422,
      address: '169.254.44.46/30',
      tcpMss: 1379,
      clearDf: true,
      fragmentBeforeEncryption: true,
    });
    expect(info).toEqual({ tunnel: 2, ifname: 'cgw-t2', mtu: 1422, address: '169.254.44.46', prefixLength: 30, peer: '169.254.44.45' });
    expect(spec).toMatchObject({ mss: 1379, clearDf: true, fragment: true, pathMtu: 1500, disableIpv6: true });
    expect(toNativeTunnel({ tunnel: 1, ifname: 't', mtu: 1400, address: '169.254.1.1/30' }).info.peer).toBe('169.254.1.2');
  });

  it.each([
    { ifname: 'much-too-long-name0' },
    { ifname: '../x' },
    { mtu: 100 },
    { mtu: 65535 },
    { address: '169.254.10.2' },
    { address: '169.254.10.0/30' },
    { address: '169.254.10.3/30' },
    { peer: '10.0.0.1' },
    { tcpMss: 20 },
    { pathMtu: 100 },
  ])('refuses %o', (overrides) => {
    const error = caught(() => toNativeTunnel({ tunnel: 1, ifname: 'cgw-t1', mtu: 1422, address: '169.254.10.2/30', ...overrides }));
    expect(error).toBeInstanceOf(DataplaneOptionsError);
    expect((error as DataplaneOptionsError).code).toBe('DATAPLANE_BAD_OPTIONS');
  });

  it('names every drop reason the addon counts, in its order', () => {
    expect([...DROP_REASONS]).toEqual(loadDataplane().dropReasons());
  });
});

describe('a packet thread on 127.0.0.1 (no TUN)', () => {
  const open: Dataplane[] = [];
  const sockets: Socket[] = [];
  afterEach(() => {
    for (const dp of open.splice(0)) dp.close();
    for (const s of sockets.splice(0)) s.close();
  });

  async function peer(address = '127.0.0.1'): Promise<Socket> {
    const s = createSocket('udp4');
    sockets.push(s);
    s.bind(0, address);
    await once(s, 'listening');
    return s;
  }

  function start(): Dataplane {
    const dp = Dataplane.open({ local: { address: '127.0.0.1', port: 0 } });
    open.push(dp);
    return dp;
  }

  async function until<T>(fn: () => T | undefined, ms = 2000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = fn();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('binds the requested address and a free port', () => {
    const dp = start();
    expect(dp.local.address).toBe('127.0.0.1');
    expect(dp.local.port).toBeGreaterThan(0);
    expect(dp.closed).toBe(false);
  });

  it('refuses a port in use with DataplaneSystemError (EADDRINUSE)', () => {
    const dp = start();
    const error = caught(() => Dataplane.open({ local: dp.local }));
    expect(error).toBeInstanceOf(DataplaneSystemError);
    expect(error).toMatchObject({ code: 'DATAPLANE_SYSTEM', errnoName: 'EADDRINUSE' });
  });

  it('passes marker datagrams up as IKE, counts keepalives, junk and unknown SPIs', async () => {
    const dp = start();
    const s = await peer();
    const received: IkeDatagram[] = [];
    const off = dp.onIkeDatagram((d) => received.push(d));
    const ike = Buffer.from('this is an IKE message');
    s.send(Buffer.concat([Buffer.alloc(4), ike]), dp.local.port, '127.0.0.1');
    s.send(Buffer.from([0xff]), dp.local.port, '127.0.0.1');
    s.send(Buffer.from([0x01, 0x02]), dp.local.port, '127.0.0.1');
    s.send(Buffer.concat([Buffer.from([0xde, 0xad, 0xbe, 0xef]), Buffer.alloc(60)]), dp.local.port, '127.0.0.1');
    const datagram = await until(() => received[0]);
    expect(datagram.data).toEqual(ike);
    expect(datagram.remote).toEqual({ address: '127.0.0.1', port: s.address().port });
    expect(datagram.local).toEqual(dp.local);
    const c = await until(() => {
      const now = dp.counters();
      return now.udpDatagramsIn >= 4 ? now : undefined;
    });
    expect(c).toMatchObject({ ikeIn: 1, keepalivesIn: 1, espIn: 1 });
    expect(c.drops).toMatchObject({ malformed: 1, no_sa: 1 });
    off();
  });

  it('sendIke adds the non-ESP marker; sendNatKeepalive sends one 0xFF byte', async () => {
    const dp = start();
    const s = await peer();
    const got: Buffer[] = [];
    s.on('message', (m) => got.push(m));
    expect(dp.sendIke({ address: '127.0.0.1', port: s.address().port }, Buffer.from('hello'))).toBe(true);
    expect(dp.sendNatKeepalive({ address: '127.0.0.1', port: s.address().port })).toBe(true);
    await until(() => (got.length >= 2 ? true : undefined));
    expect(got[0]).toEqual(Buffer.from('00000000' + Buffer.from('hello').toString('hex'), 'hex'));
    expect(got[1]).toEqual(Buffer.from([0xff]));
    expect(dp.counters().ikeOut).toBe(1);
  });

  it('needs the tunnel before its SA; unknown tunnels and SAs are not found', () => {
    const dp = start();
    expect(caught(() => dp.installChildSa(childSa()))).toBeInstanceOf(DataplaneNotFoundError);
    expect(caught(() => dp.removeTunnel(2))).toBeInstanceOf(DataplaneNotFoundError);
    expect(dp.removeChildSa(99)).toBe(false);
    expect(dp.counters()).toMatchObject({ tunnels: [], sas: [] });
  });

  it('close is idempotent; afterwards every call throws DataplaneClosedError', () => {
    const dp = start();
    dp.close();
    dp.close();
    expect(dp.closed).toBe(true);
    expect(caught(() => dp.counters())).toBeInstanceOf(DataplaneClosedError);
    expect(caught(() => dp.sendIke({ address: '127.0.0.1', port: 1 }, Buffer.alloc(1)))).toBeInstanceOf(DataplaneClosedError);
    // The port is free again.
    const again = Dataplane.open({ local: dp.local });
    open.push(again);
  });

  it('refuses a missing namespace and bad limits', () => {
    expect(caught(() => Dataplane.open({ netns: '/run/netns/cgwd-dp-does-not-exist', local: { address: '127.0.0.1', port: 0 } }))).toMatchObject({
      code: 'DATAPLANE_SYSTEM',
      errnoName: 'ENOENT',
    });
    expect(caught(() => Dataplane.open({ netns: 'relative' }))).toBeInstanceOf(DataplaneOptionsError);
    expect(caught(() => Dataplane.open({ limits: { batch: 0 } }))).toBeInstanceOf(DataplaneOptionsError);
  });

  it('drops IKE datagrams beyond the event queue and counts them (bounded, no growth)', async () => {
    const dp = Dataplane.open({ local: { address: '127.0.0.1', port: 0 }, limits: { eventQueue: 4 } });
    open.push(dp);
    const s = await peer();
    let seen = 0;
    dp.onIkeDatagram(() => seen++);
    // Keep the JavaScript thread busy while they arrive, so nothing drains the queue.
    const msg = Buffer.concat([Buffer.alloc(4), Buffer.alloc(100, 1)]);
    for (let i = 0; i < 50; i++) s.send(msg, dp.local.port, '127.0.0.1');
    await null; // dgram sends to an IP literal go out from process.nextTick, before this resumes
    const spin = Date.now() + 200;
    while (Date.now() < spin) {
      /* keep the event loop from running call_js */
    }
    const c = await until(() => {
      const now = dp.counters();
      return now.udpDatagramsIn >= 50 ? now : undefined;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(c.ikeIn + c.ikeDropped).toBe(50);
    expect(c.ikeDropped).toBeGreaterThan(0);
    expect(c.drops.queue_full).toBe(c.ikeDropped);
    expect(seen).toBe(c.ikeIn);
  });

  // Issue 13, finding 3. Loopback is 127.0.0.0/8: senders bind 127.0.0.x without adding addresses.
  it('drops IKE from sources other than the configured peers in C, before JavaScript sees it', async () => {
    const dp = Dataplane.open({ local: { address: '127.0.0.1', port: 0 }, ikePeers: ['127.0.0.2'] });
    open.push(dp);
    const stranger = await peer('127.0.0.1');
    const aws = await peer('127.0.0.2');
    const seen: string[] = [];
    dp.onIkeDatagram((d) => seen.push(d.remote.address));
    const msg = Buffer.concat([Buffer.alloc(4), Buffer.alloc(60, 2)]);
    for (let i = 0; i < 20; i++) stranger.send(msg, dp.local.port, '127.0.0.1');
    for (let i = 0; i < 3; i++) aws.send(msg, dp.local.port, '127.0.0.1');
    const c = await until(() => {
      const now = dp.counters();
      return now.udpDatagramsIn >= 23 && seen.length >= 3 ? now : undefined;
    });
    expect(c.ikeFiltered).toBe(20);
    expect(c.drops.ike_filtered).toBe(20);
    expect(c.ikeIn).toBe(3);
    expect(seen).toEqual(['127.0.0.2', '127.0.0.2', '127.0.0.2']);
  });

  it('a flood "from" one configured peer cannot take the other peer’s share of the queue', async () => {
    const dp = Dataplane.open({ local: { address: '127.0.0.1', port: 0 }, limits: { eventQueue: 8 }, ikePeers: ['127.0.0.2', '127.0.0.3'] });
    open.push(dp);
    const flooder = await peer('127.0.0.2');
    const other = await peer('127.0.0.3');
    const seen: string[] = [];
    dp.onIkeDatagram((d) => seen.push(d.remote.address));
    const msg = Buffer.concat([Buffer.alloc(4), Buffer.alloc(100, 1)]);
    for (let i = 0; i < 50; i++) flooder.send(msg, dp.local.port, '127.0.0.1');
    await null;
    const spin = Date.now() + 150;
    while (Date.now() < spin) {
      /* the JavaScript thread is busy: nothing drains the queue */
    }
    for (let i = 0; i < 2; i++) other.send(msg, dp.local.port, '127.0.0.1');
    await null;
    const spin2 = Date.now() + 150;
    while (Date.now() < spin2) {
      /* still busy while the other peer's datagrams arrive */
    }
    await until(() => (dp.counters().udpDatagramsIn >= 52 ? true : undefined));
    await until(() => (seen.filter((a) => a === '127.0.0.3').length >= 2 ? true : undefined));
    const c = dp.counters();
    expect(seen.filter((a) => a === '127.0.0.3')).toHaveLength(2);
    expect(seen.filter((a) => a === '127.0.0.2').length).toBeLessThanOrEqual(3); // (8 × 3/4) / 2 peers
    expect(c.ikeDropped).toBeGreaterThanOrEqual(47);
  });

  it('refuses more than 8 IKE peers or one that is not an IPv4 address', () => {
    expect(() => Dataplane.open({ local: { address: '127.0.0.1', port: 0 }, ikePeers: Array.from({ length: 9 }, (_, i) => `127.0.0.${i + 2}`) })).toThrow(DataplaneOptionsError);
    expect(() => Dataplane.open({ local: { address: '127.0.0.1', port: 0 }, ikePeers: ['aws.example'] })).toThrow(DataplaneOptionsError);
  });
});
