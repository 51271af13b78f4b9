/**
 * The native data plane for real: two Dataplane instances in this process,
 * each in its own namespace (cgwd-dp-*), TUN to TUN over ESP-in-UDP on a veth
 * pair; kernel pings and TCP across, every transform, rekey overlap, hostile
 * ESP from the peer namespace, IKE on the shared socket, MTU handling.
 * Needs root. Never touches the root namespace's addresses or routes.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataplaneCounters, SaCounters } from '../../../src/dataplane/index.js';
import { espEncap } from '../../../src/esp/reference.js';
import type { IkeDatagram } from '../../../src/ike/runtime.js';
import { execInResult, ipIn, sleep, stopPid } from '../../../src/system/exec.js';
import { spawn } from 'node:child_process';
import { icmpEcho } from '../../unit/dataplane/packets.js';
import { runLoadgen } from '../../../src/lab/loadgen.js';
import {
  ADDR_A,
  ADDR_B,
  ALL_SUITES,
  createTwins,
  INSIDE_A,
  INSIDE_B,
  listenRaw,
  ping,
  saPair,
  sendRaw,
  tcpTransfer,
  type Twins,
} from './twins.js';

const root = process.getuid?.() === 0;

function sa(c: DataplaneCounters, id: number): SaCounters {
  const found = c.sas.find((s) => s.id === id);
  if (!found) throw new Error(`SA ${id} not installed`);
  return found;
}

async function until<T>(fn: () => T | undefined, ms = 3000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await sleep(20);
  }
}

// Everything twice: one packet thread, and two (outbound, inbound: native/src/loop.c).
describe.skipIf(!root).each([1, 2] as const)('data plane between two namespaces (root), %i packet thread(s)', (threads) => {
  let t: Twins;
  let nextId = 1;

  beforeAll(async () => {
    t = await createTwins({ threads });
  });

  afterAll(async () => {
    await t?.destroy();
  });

  it('creates the TUNs in the namespaces with MTU, address and state up', async () => {
    const link = await ipIn(t.nsA, '-o', 'addr', 'show', 'dev', 'dpt1');
    expect(link).toContain(`inet ${INSIDE_A}/30`);
    const details = await ipIn(t.nsA, '-d', 'link', 'show', 'dpt1');
    expect(details).toMatch(/mtu 1400/);
    expect(details).toMatch(/state UNKNOWN|state UP/);
    expect(details).toMatch(/tun type tun pi off/);
    expect(t.a.tunnels()).toEqual([expect.objectContaining({ tunnel: 1, ifname: 'dpt1', peer: INSIDE_B })]);
  });

  it('without an SA, packets into the TUN are dropped as no_outbound_sa', async () => {
    const r = await ping(t.nsA, INSIDE_B, ['-c', '1', '-W', '1']);
    expect(r.received).toBe(0);
    const c = t.a.counters();
    expect(c.tunnels[0]!.drops.no_outbound_sa).toBeGreaterThanOrEqual(1);
  });

  it.each(ALL_SUITES.map((s) => [s.integrity ? `${s.encryption}/${s.integrity}` : s.encryption, s] as const))(
    'pings across with %s',
    async (_, suite) => {
      const id = nextId++;
      const pair = saPair(id, suite);
      t.a.installChildSa(pair.a);
      t.b.installChildSa(pair.b);
      const r = await ping(t.nsA, INSIDE_B);
      expect(r.received, r.output).toBe(3);
      const a = sa(t.a.counters(), id);
      const b = sa(t.b.counters(), id);
      expect(a).toMatchObject({ packetsOut: 3, packetsIn: 3, outbound: true, seqOut: 3, replayTop: 3 });
      expect(b).toMatchObject({ packetsOut: 3, packetsIn: 3, outbound: true });
      expect(a.bytesOut).toBe(3 * 84); // inner bytes: 20 IP + 8 ICMP + 56 data
      expect(Object.values(a.drops).every((n) => n === 0)).toBe(true);
      expect(t.a.removeChildSa(id)).toBe(true);
      expect(t.b.removeChildSa(id)).toBe(true);
    },
  );

  it('carries TCP (iperf3, 2 s) with the MSS clamped in both directions', async () => {
    const id = nextId++;
    const pair = saPair(id, { encryption: 'aes128-gcm16' });
    t.a.installChildSa(pair.a);
    t.b.installChildSa(pair.b);
    t.a.setTunnelOptions(1, { tcpMss: 1300 });
    const server = spawn('ip', ['netns', 'exec', t.nsB, 'iperf3', '-s', '-1', '-B', INSIDE_B, '-p', '5299'], { stdio: 'ignore' });
    try {
      await sleep(300);
      const r = await execInResult(t.nsA, 'iperf3', ['-c', INSIDE_B, '-p', '5299', '-t', '2', '-J'], 30_000);
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
      expect(report.end.sum_received.bits_per_second).toBeGreaterThan(1e6);
      const c = t.a.counters();
      // Two connections (control, data): each SYN out and SYN-ACK in clamped at A.
      expect(c.tunnels[0]!.mssClamped).toBeGreaterThanOrEqual(4);
      expect(c.tunnels[0]!.drops.replay).toBe(0);
    } finally {
      if (server.pid) await stopPid(server.pid);
      t.a.setTunnelOptions(1, {});
      t.a.removeChildSa(id);
      t.b.removeChildSa(id);
    }
  });

  it('carries UDP intact: runs of one flow into the TUN as one USO write, a local UDP_SEGMENT sender split into datagrams', async () => {
    const pair = saPair(nextId++, { encryption: 'aes128-gcm16' });
    t.a.installChildSa(pair.a);
    t.b.installChildSa(pair.b);
    const before = t.b.counters().tunnels[0]!.groPackets;
    const r = await runLoadgen({ dst: `${INSIDE_B}:5501`, rate: 20_000, size: 1300, seconds: 1, senderNetns: t.nsA, sinkNetns: t.nsB });
    expect(r.sent).toBeGreaterThan(10_000);
    expect(r.unique).toBe(r.sent);
    expect(r.lost + r.duplicated + r.stray).toBe(0);
    expect(t.b.counters().tunnels[0]!.groPackets).toBeGreaterThan(before);
    // 10 sends of 7,000 bytes with UDP_SEGMENT 1,000: 70 datagrams of 1,000 bytes each, each its own slice.
    const sink = spawn('ip', ['netns', 'exec', t.nsB, 'python3', '-c', [
      'import socket,sys', 's=socket.socket(2,2)', `s.bind(("${INSIDE_B}",5502))`, 's.settimeout(2)', 'print("ready",flush=True)', 'got=[]',
      'try:', '  while len(got)<70: got.append(s.recv(65535))', 'except OSError: pass',
      'ok=sum(1 for d in got if len(d)==1000 and d==bytes([d[0]])*1000)', 'print(len(got),ok,len(set(d[0] for d in got)),flush=True)',
    ].join('\n')]);
    let out = '';
    sink.stdout.on('data', (b: Buffer) => void (out += b.toString()));
    await until(() => (out.includes('ready') ? true : undefined));
    const send = await execInResult(t.nsA, 'python3', ['-c', [
      'import socket', 's=socket.socket(2,2)', 's.setsockopt(17,103,1000)',
      `for i in range(10): s.sendto(b"".join(bytes([i*7+k])*1000 for k in range(7)),("${INSIDE_B}",5502))`,
    ].join('\n')]);
    expect(send.code, send.stderr).toBe(0);
    await new Promise((resolve) => sink.on('exit', resolve));
    expect(out.trim().split('\n').pop()).toBe('70 70 70');
    t.a.removeChildSa(pair.a.id);
    t.b.removeChildSa(pair.b.id);
  });

  it('carries 24 MB of TCP intact in both directions: TSO split, encrypted, coalesced (GRO) on arrival', async () => {
    const pair = saPair(nextId++, { encryption: 'aes256-cbc', integrity: 'hmac-sha256-128' });
    t.a.installChildSa(pair.a);
    t.b.installChildSa(pair.b);
    const before = [t.a.counters().tunnels[0]!, t.b.counters().tunnels[0]!];
    const there = await tcpTransfer(t.nsA, t.nsB, INSIDE_B, 5401, 16 << 20);
    expect(there.received).toBe(there.sent);
    const back = await tcpTransfer(t.nsB, t.nsA, INSIDE_A, 5402, 8 << 20);
    expect(back.received).toBe(back.sent);
    const [a, b] = [t.a.counters(), t.b.counters()];
    expect(a.tunnels[0]!.offload && b.tunnels[0]!.offload).toBe(true);
    expect(a.tunnels[0]!.tsoPackets).toBeGreaterThan(before[0]!.tsoPackets);
    expect(b.tunnels[0]!.groPackets).toBeGreaterThan(before[1]!.groPackets);
    expect(a.udpGsoSends).toBeGreaterThan(0);
    expect(b.udpGroReceives).toBeGreaterThan(0);
    expect(sa(a, pair.a.id).drops.icv + sa(b, pair.b.id).drops.icv).toBe(0);
    t.a.removeChildSa(pair.a.id);
    t.b.removeChildSa(pair.b.id);
  });

  it('rekey: the newest SA sends, the older one still decrypts until removed, then falls back', async () => {
    const g1 = saPair(nextId++, { encryption: 'aes256-gcm16' });
    const g2 = saPair(nextId++, { encryption: 'aes256-cbc', integrity: 'hmac-sha256-128' });
    t.a.installChildSa(g1.a);
    t.b.installChildSa(g1.b);
    expect((await ping(t.nsA, INSIDE_B)).received).toBe(3);
    t.a.installChildSa(g2.a);
    t.b.installChildSa(g2.b);
    expect((await ping(t.nsA, INSIDE_B)).received).toBe(3);
    let c = t.a.counters();
    expect(sa(c, g1.a.id)).toMatchObject({ outbound: false, packetsOut: 3 });
    expect(sa(c, g2.a.id)).toMatchObject({ outbound: true, packetsOut: 3, packetsIn: 3 });
    expect(c.tunnels[0]!.outboundSa).toBe(g2.a.id);

    // A straggler B sent with the old SA still arrives.
    const late = espEncap(g1.bOut, icmpEcho({ src: INSIDE_B, dst: INSIDE_A, size: 8 }), { seq: 100 });
    await sendRaw(t.nsB, { address: ADDR_A, port: 4500 }, [late]);
    c = await until(() => {
      const now = t.a.counters();
      return sa(now, g1.a.id).packetsIn === 4 ? now : undefined;
    });

    // Removing the newest falls back to the previous one (a failed rekey).
    t.a.removeChildSa(g2.a.id);
    t.b.removeChildSa(g2.b.id);
    expect(t.a.counters().tunnels[0]!.outboundSa).toBe(g1.a.id);
    expect((await ping(t.nsA, INSIDE_B)).received).toBe(3);

    t.a.removeChildSa(g1.a.id);
    t.b.removeChildSa(g1.b.id);
    const gone = t.a.counters();
    await sendRaw(t.nsB, { address: ADDR_A, port: 4500 }, [espEncap(g1.bOut, icmpEcho({ src: INSIDE_B, dst: INSIDE_A, size: 8 }), { seq: 200 })]);
    await until(() => (t.a.counters().drops.no_sa > gone.drops.no_sa ? true : undefined));
  });

  it('a held SA decrypts at once and sends only once released', async () => {
    const g1 = saPair(nextId++, { encryption: 'aes128-gcm16' });
    const g2 = saPair(nextId++, { encryption: 'aes128-gcm16' });
    t.a.installChildSa(g1.a);
    t.b.installChildSa(g1.b);
    t.a.installChildSa(g2.a, { holdOutbound: true });
    t.b.installChildSa(g2.b);
    // B sends on g2 (the newest), A keeps sending on g1 and decrypts B's g2 packets.
    expect((await ping(t.nsA, INSIDE_B)).received).toBe(3);
    let c = t.a.counters();
    expect(c.tunnels[0]!.outboundSa).toBe(g1.a.id);
    expect(sa(c, g1.a.id)).toMatchObject({ outbound: true, packetsOut: 3 });
    expect(sa(c, g2.a.id)).toMatchObject({ outbound: false, packetsOut: 0, packetsIn: 3 });
    expect(t.a.releaseChildSa(g2.a.id)).toBe(true);
    expect((await ping(t.nsA, INSIDE_B)).received).toBe(3);
    c = t.a.counters();
    expect(c.tunnels[0]!.outboundSa).toBe(g2.a.id);
    expect(sa(c, g2.a.id)).toMatchObject({ outbound: true, packetsOut: 3 });
    expect(t.a.releaseChildSa(987_654)).toBe(false);
    for (const id of [g1, g2]) {
      t.a.removeChildSa(id.a.id);
      t.b.removeChildSa(id.b.id);
    }
  });

  it('counts hostile ESP in the right drop counter and keeps working', async () => {
    const id = nextId++;
    const pair = saPair(id, { encryption: 'aes128-cbc', integrity: 'hmac-sha1-96' });
    t.a.installChildSa(pair.a);
    t.b.installChildSa(pair.b);
    expect((await ping(t.nsA, INSIDE_B)).received).toBe(3);
    const ikeSeen: IkeDatagram[] = [];
    const off = t.a.onIkeDatagram((d) => ikeSeen.push(d));

    const before = t.a.counters();
    const seq = sa(t.b.counters(), id).seqOut + 500; // ahead of B, inside A's 1024 window
    const inner = icmpEcho({ src: INSIDE_B, dst: INSIDE_A, size: 16 });
    const valid = espEncap(pair.bOut, inner, { seq });
    const badIcv = espEncap(pair.bOut, inner, { seq: seq + 1 });
    badIcv[badIcv.length - 1] = (badIcv[badIcv.length - 1] as number) ^ 0x55;
    const wrongPad = Buffer.alloc(16 + ((16 - ((inner.length + 2) % 16)) % 16), 0x07);
    const badPadding = espEncap(pair.bOut, inner, { seq: seq + 2, extraPadBlocks: 1, padding: wrongPad });
    const badNextHeader = espEncap(pair.bOut, inner, { seq: seq + 3, nextHeader: 6 });
    const truncated = valid.subarray(0, 10);
    const unknownSpi = Buffer.concat([Buffer.from([0x0b, 0xad, 0x5e, 0xed]), valid.subarray(4)]);
    const spiZero = Buffer.concat([Buffer.alloc(4), Buffer.from('not ESP: the IKE path')]);
    const hostile = [valid, valid /* replayed */, badIcv, badPadding, badNextHeader, truncated, unknownSpi, spiZero, Buffer.from([0xff])];
    await sendRaw(t.nsB, { address: ADDR_A, port: 4500 }, hostile);

    const after = await until(() => {
      const c = t.a.counters();
      return c.udpDatagramsIn - before.udpDatagramsIn >= hostile.length ? c : undefined;
    });
    const delta = (k: keyof DataplaneCounters['drops']): number => after.drops[k] - before.drops[k];
    expect({
      replay: delta('replay'),
      icv: delta('icv'),
      bad_padding: delta('bad_padding'),
      bad_next_header: delta('bad_next_header'),
      malformed: delta('malformed'),
      no_sa: delta('no_sa'),
    }).toEqual({ replay: 1, icv: 1, bad_padding: 1, bad_next_header: 1, malformed: 1, no_sa: 1 });
    expect(after.keepalivesIn - before.keepalivesIn).toBe(1);
    expect(sa(after, id).drops).toMatchObject({ replay: 1, icv: 1, bad_padding: 1, bad_next_header: 1 });
    expect(sa(after, id).packetsIn - sa(before, id).packetsIn).toBe(1); // the one valid packet
    const ike = await until(() => ikeSeen[0]);
    expect(ike.data.toString()).toBe('not ESP: the IKE path');
    expect(ike.remote.address).toBe(ADDR_B);
    off();

    expect((await ping(t.nsA, INSIDE_B)).received).toBe(3);
    t.a.removeChildSa(id);
    t.b.removeChildSa(id);
  });

  it('IKE shares the socket: sendIke reaches the peer data plane and a plain socket, marker first', async () => {
    const got: IkeDatagram[] = [];
    const off = t.b.onIkeDatagram((d) => got.push(d));
    const message = randomBytes(300);
    expect(t.a.sendIke({ address: ADDR_B, port: 4500 }, message)).toBe(true);
    const d = await until(() => got[0]);
    expect(d.data).toEqual(message);
    expect(d.remote).toEqual({ address: ADDR_A, port: 4500 });
    expect(d.local).toEqual({ address: ADDR_B, port: 4500 });
    off();

    const listener = await listenRaw(t.nsB, ADDR_B, 5300);
    try {
      t.a.sendIke({ address: ADDR_B, port: 5300 }, Buffer.from('IKE'));
      const raw = await listener.first;
      expect(raw).toEqual(Buffer.concat([Buffer.alloc(4), Buffer.from('IKE')]));
    } finally {
      listener.stop();
    }
  });

  it('MTU: ICMP "fragmentation needed" for DF, fragments before encryption, DF cleared on request', async () => {
    const id = nextId++;
    const pair = saPair(id, { encryption: 'aes128-gcm16' }); // budget 1438 on a 1500 path
    t.a.installChildSa(pair.a);
    t.b.installChildSa(pair.b);
    for (const dp of [t.a, t.b]) dp.removeTunnel(1);
    for (const [dp, mine, theirs] of [[t.a, INSIDE_A, INSIDE_B], [t.b, INSIDE_B, INSIDE_A]] as const) {
      dp.addTunnel({ tunnel: 1, ifname: 'dpt1', mtu: 1500, address: `${mine}/30`, peer: theirs });
    }
    t.a.installChildSa(pair.a);
    t.b.installChildSa(pair.b);

    // 1500-byte echo with DF: the data plane answers with ICMP 3/4 naming 1438.
    const df = await ping(t.nsA, INSIDE_B, ['-c', '1', '-M', 'do', '-s', '1472']);
    expect(df.received).toBe(0);
    expect(df.output).toMatch(/mtu ?= ?1438|Frag needed/i);
    let c = t.a.counters();
    expect(c.tunnels[0]).toMatchObject({ icmpFragNeeded: 1 });
    expect(c.tunnels[0]!.drops.mtu).toBe(1);

    // Without DF and with fragmentation on both sides: fragments cross, the kernel reassembles.
    for (const dp of [t.a, t.b]) dp.setTunnelOptions(1, { fragmentBeforeEncryption: true });
    await ipIn(t.nsA, 'route', 'flush', 'cache');
    const frag = await ping(t.nsA, INSIDE_B, ['-M', 'dont', '-s', '1472']);
    expect(frag.received, frag.output).toBe(3);
    c = t.a.counters();
    expect(c.tunnels[0]).toMatchObject({ fragmented: 3, fragmentsOut: 6 });
    expect(t.b.counters().tunnels[0]!.fragmented).toBe(3);

    // clear_df_bit: DF packets are fragmented too.
    for (const dp of [t.a, t.b]) dp.setTunnelOptions(1, { fragmentBeforeEncryption: true, clearDf: true });
    await ipIn(t.nsA, 'route', 'flush', 'cache');
    const cleared = await ping(t.nsA, INSIDE_B, ['-M', 'do', '-s', '1472']);
    expect(cleared.received, cleared.output).toBe(3);
    expect(t.a.counters().tunnels[0]!.dfCleared).toBeGreaterThanOrEqual(3);
    t.a.removeChildSa(id);
    t.b.removeChildSa(id);
  });

  it('raises SA events: soft and hard by packets, seq exhausting, soft by time; a hard-expired SA stops sending', async () => {
    const events: Array<[string, unknown]> = [];
    const names = ['sa-soft-expired', 'sa-hard-expired', 'sa-seq-exhausting'] as const;
    const listeners = names.map((name) => {
      const fn = (e: unknown): void => {
        events.push([name, e]);
      };
      t.a.on(name, fn);
      return [name, fn] as const;
    });
    const counted = saPair(nextId++, { encryption: 'aes128-gcm16' });
    t.a.installChildSa(counted.a, { softPackets: 2, hardPackets: 4, initialSequence: 0xefff_fffe });
    t.b.installChildSa(counted.b);
    expect((await ping(t.nsA, INSIDE_B)).received).toBe(3);
    await until(() => (events.length >= 2 ? true : undefined));
    expect(events).toContainEqual(['sa-soft-expired', { id: counted.a.id, tunnel: 1, reason: 'packets' }]);
    expect(events).toContainEqual(['sa-seq-exhausting', expect.objectContaining({ id: counted.a.id, tunnel: 1 })]);
    const r = await ping(t.nsA, INSIDE_B, ['-c', '2']);
    expect(r.received).toBe(0); // the 4th packet out reached the hard limit
    await until(() => (events.some(([n]) => n === 'sa-hard-expired') ? true : undefined));
    expect(events).toContainEqual(['sa-hard-expired', { id: counted.a.id, tunnel: 1, reason: 'packets' }]);
    const c = t.a.counters();
    expect(sa(c, counted.a.id)).toMatchObject({ hardExpired: true, softExpired: true, outbound: false });
    expect(c.tunnels[0]!.outboundSa).toBeNull();
    expect(c.tunnels[0]!.drops.no_outbound_sa).toBeGreaterThanOrEqual(1);
    t.a.removeChildSa(counted.a.id);
    t.b.removeChildSa(counted.b.id);

    const timed = saPair(nextId++, { encryption: 'aes128-gcm16' });
    t.a.installChildSa({ ...timed.a, softLifetimeSeconds: 1, hardLifetimeSeconds: 30 });
    await until(() => (events.some(([n, e]) => n === 'sa-soft-expired' && (e as { id: number }).id === timed.a.id) ? true : undefined), 4000);
    expect(events).toContainEqual(['sa-soft-expired', { id: timed.a.id, tunnel: 1, reason: 'time' }]);
    t.a.removeChildSa(timed.a.id);
    for (const [name, fn] of listeners) t.a.off(name, fn);
  });

  it('a TUN deleted from outside raises an error event and marks the tunnel failed; re-adding recovers', async () => {
    const errors: Error[] = [];
    t.a.on('error', (e) => errors.push(e));
    await ipIn(t.nsA, 'link', 'del', 'dpt1');
    await until(() => errors[0]);
    expect(errors[0]).toMatchObject({ code: 'DATAPLANE_FAULT', tunnel: 1 });
    expect(t.a.counters().tunnels[0]!.failed).toBe(true);
    t.a.removeTunnel(1);
    t.a.addTunnel({ tunnel: 1, ifname: 'dpt1', mtu: 1400, address: `${INSIDE_A}/30`, peer: INSIDE_B });
    expect(t.a.counters().tunnels[0]!.failed).toBe(false);
    t.a.removeAllListeners('error');
  });

  it('removeTunnel deletes the interface and its SAs', async () => {
    const pair = saPair(nextId++, { encryption: 'aes128-gcm16' });
    t.a.installChildSa(pair.a);
    t.a.removeTunnel(1);
    expect(t.a.counters()).toMatchObject({ tunnels: [], sas: [] });
    const r = await execInResult(t.nsA, 'ip', ['link', 'show', 'dpt1']);
    expect(r.code).not.toBe(0);
    t.a.addTunnel({ tunnel: 1, ifname: 'dpt1', mtu: 1400, address: `${INSIDE_A}/30`, peer: INSIDE_B });
  });

  it('close() removes the TUN devices and frees the port', async () => {
    t.b.close();
    const r = await execInResult(t.nsB, 'ip', ['link', 'show', 'dpt1']);
    expect(r.code).not.toBe(0);
    expect(t.b.closed).toBe(true);
  });
});

describe.skipIf(!root).each([1, 2] as const)('data plane with offloads off (plain TUN, one datagram per send), %i packet thread(s)', (threads) => {
  let t: Twins;
  beforeAll(async () => {
    t = await createTwins({ offload: false, threads });
  });
  afterAll(async () => {
    await t?.destroy();
  });

  it('pings and carries TCP intact', async () => {
    const pair = saPair(1, { encryption: 'aes128-gcm16' });
    t.a.installChildSa(pair.a);
    t.b.installChildSa(pair.b);
    expect((await ping(t.nsA, INSIDE_B)).received).toBe(3);
    const r = await tcpTransfer(t.nsA, t.nsB, INSIDE_B, 5403, 4 << 20);
    expect(r.received).toBe(r.sent);
    const c = t.a.counters();
    expect(c).toMatchObject({ udpGso: false, udpGro: false, udpGsoSends: 0 });
    expect(c.tunnels[0]).toMatchObject({ offload: false, tsoPackets: 0, groPackets: 0 });
  });
});
