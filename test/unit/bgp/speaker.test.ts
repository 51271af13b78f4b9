/**
 * Two BgpSpeakers over real TCP on loopback: 127.0.0.2 plays the customer
 * gateway, 127.0.0.3 plays AWS, on a random high port instead of 179. Both
 * connect out and listen, so the first session usually starts with a
 * collision, as it does when both ends of a fresh tunnel connect at once.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AS_TRANS } from '../../../src/bgp/constants.js';
import { decodeMessage, encodeMessage } from '../../../src/bgp/codec.js';
import { BgpFramer } from '../../../src/bgp/framer.js';
import type { BgpMessage, OpenMessage } from '../../../src/bgp/messages.js';
import { buildOpen, claimedAs } from '../../../src/bgp/open.js';
import { BgpSpeaker, type BgpSpeakerOptions, type BgpStateEvent, type LearnedRoute } from '../../../src/bgp/speaker.js';
import type { BgpState } from '../../../src/bgp/fsm.js';

const CGW = '127.0.0.2';
const AWS = '127.0.0.3';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: CGW, port: 0 }, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function waitFor<T>(check: () => T | undefined, what: string, timeoutMs = 8_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = (): void => {
      const value = check();
      if (value !== undefined && value !== false) resolve(value);
      else if (Date.now() - started > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 10);
    };
    poll();
  });
}

const running: BgpSpeaker[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

function pair(port: number, options: { cgwAs?: number; awsAs?: number; cgw?: Partial<BgpSpeakerOptions>; aws?: Partial<BgpSpeakerOptions> } = {}) {
  const cgwAs = options.cgwAs ?? 65000;
  const awsAs = options.awsAs ?? 64512;
  const common = { port, connectRetrySeconds: 0.2, holdTimeSeconds: 30 };
  const cgw = new BgpSpeaker({ name: 'cgw', localAs: cgwAs, peerAs: awsAs, localAddress: CGW, peerAddress: AWS, ...common, ...options.cgw });
  const aws = new BgpSpeaker({ name: 'aws', localAs: awsAs, peerAs: cgwAs, localAddress: AWS, peerAddress: CGW, ...common, ...options.aws });
  running.push(cgw, aws);
  return { cgw, aws };
}

function record(speaker: BgpSpeaker): { states: BgpStateEvent[]; routes: LearnedRoute[][] } {
  const log = { states: [] as BgpStateEvent[], routes: [] as LearnedRoute[][] };
  speaker.on('state', (e) => log.states.push(e));
  speaker.on('routes', (r) => log.routes.push([...r]));
  return log;
}

const established = (...speakers: BgpSpeaker[]): Promise<true> =>
  waitFor(() => speakers.every((s) => s.state === 'Established') || undefined, `${speakers.map((s) => s.name).join(' and ')} Established`);

const routesOf = (s: BgpSpeaker): Record<string, { asPath: readonly number[]; nextHop: string; med?: number }> =>
  Object.fromEntries(s.learnedRoutes().map((r) => [r.prefix, { asPath: r.asPath, nextHop: r.nextHop, ...(r.med !== undefined ? { med: r.med } : {}) }]));

describe('two BgpSpeakers over loopback TCP', () => {
  it('establish, exchange prefixes, withdraw, re-advertise with a prepend, stop → Cease', async () => {
    const { cgw, aws } = pair(await freePort());
    const awsLog = record(aws);
    cgw.setAdvertised(['10.10.0.0/16', '10.11.0.0/16']);
    aws.setAdvertised(['172.31.0.0/16'], { med: 100 });
    cgw.start();
    aws.start();
    await established(cgw, aws);

    await waitFor(() => aws.learnedRoutes().length === 2 || undefined, 'AWS to learn 2 prefixes');
    await waitFor(() => cgw.learnedRoutes().length === 1 || undefined, 'CGW to learn 1 prefix');
    expect(routesOf(aws)).toEqual({
      '10.10.0.0/16': { asPath: [65000], nextHop: CGW },
      '10.11.0.0/16': { asPath: [65000], nextHop: CGW },
    });
    expect(cgw.learnedRoutes()).toEqual([{ prefix: '172.31.0.0/16', nextHop: AWS, asPath: [64512], asPathLength: 1, med: 100, origin: 0 }]);

    cgw.setAdvertised(['10.10.0.0/16']);
    await waitFor(() => aws.learnedRoutes().length === 1 || undefined, 'the withdrawal');
    expect(Object.keys(routesOf(aws))).toEqual(['10.10.0.0/16']);

    cgw.setAdvertised(['10.10.0.0/16', '10.12.0.0/16'], { asPathPrepend: 2 });
    await waitFor(() => aws.learnedRoutes().filter((r) => r.asPathLength === 3).length === 2 || undefined, 'the prepended paths');
    expect(routesOf(aws)['10.12.0.0/16']).toEqual({ asPath: [65000, 65000, 65000], nextHop: CGW });

    const status = cgw.status();
    expect(status).toMatchObject({ state: 'Established', prefixesSent: 2, prefixesReceived: 1, negotiated: { holdTimeSeconds: 30, keepaliveSeconds: 10, fourOctetAs: true } });
    expect(status.messages.sent.update).toBeGreaterThanOrEqual(3);
    expect(status.messages.received.open).toBeGreaterThanOrEqual(1);

    await cgw.stop();
    await waitFor(() => aws.state !== 'Established' || undefined, 'AWS to see the session go');
    const down = awsLog.states.find((e) => e.previous === 'Established');
    expect(down?.reason).toMatchObject({ kind: 'notification-received', errorCode: 6, errorSubcode: 2 });
    expect(down?.description).toContain('Cease / administrative shutdown (6/2)');
    expect(aws.learnedRoutes()).toEqual([]);
    expect(awsLog.routes.at(-1)).toEqual([]);
    expect(aws.status().lastDown).toMatchObject({ kind: 'notification-received', errorCode: 6, errorSubcode: 2 });
  });

  it('a 4-octet ASN (4200000001) with AS_TRANS in My AS', async () => {
    const { cgw, aws } = pair(await freePort(), { cgwAs: 4200000001, awsAs: 4200000002 });
    cgw.setAdvertised(['10.20.0.0/16'], { asPathPrepend: 1 });
    cgw.start();
    aws.start();
    await established(cgw, aws);
    await waitFor(() => aws.learnedRoutes().length === 1 || undefined, 'the 4-octet route');
    expect(aws.learnedRoutes()[0]).toMatchObject({ prefix: '10.20.0.0/16', asPath: [4200000001, 4200000001], asPathLength: 2 });
    expect(aws.status().negotiated?.fourOctetAs).toBe(true);
  });

  it('the OPEN on the wire carries AS_TRANS in My AS and the real AS in capability 65', async () => {
    const port = await freePort();
    const opens: OpenMessage[] = [];
    const server = createServer((socket) => {
      const framer = new BgpFramer();
      socket.on('data', (chunk: Buffer) => {
        for (const f of framer.push(chunk).frames) {
          const m = decodeMessage(f);
          if (m.type === 'open') opens.push(m);
        }
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen({ host: AWS, port }, resolve));
    const cgw = new BgpSpeaker({ localAs: 4200000001, peerAs: 64512, localAddress: CGW, peerAddress: AWS, port, listen: false, connectRetrySeconds: 0.2 });
    running.push(cgw);
    cgw.start();
    const open = await waitFor(() => opens[0], 'our OPEN');
    expect(open.myAs).toBe(AS_TRANS);
    expect(claimedAs(open)).toBe(4200000001);
    expect(open.holdTimeSeconds).toBe(30);
  });

  it('AWS in passive mode accepts the customer\'s connection; the session survives a restart of either side', async () => {
    const { cgw, aws } = pair(await freePort(), { aws: { passive: true } });
    aws.setAdvertised(['172.31.0.0/16']);
    cgw.start();
    aws.start();
    await established(cgw, aws);
    await aws.stop();
    await waitFor(() => cgw.state !== 'Established' || undefined, 'the CGW to notice');
    aws.start();
    await established(cgw, aws);
    await waitFor(() => cgw.learnedRoutes().length === 1 || undefined, 'routes again');
    expect(cgw.status().establishedTransitions).toBe(2);
  });

  it('connections from any other address are refused', async () => {
    const port = await freePort();
    const { aws } = pair(port, { aws: { passive: true } });
    aws.start();
    const stray = connect({ host: AWS, port, localAddress: '127.0.0.9' });
    await new Promise((resolve) => stray.once('close', resolve));
    expect(aws.status().connectionsRefused).toBe(1);
    expect(aws.state satisfies BgpState).toBe('Active');
  });

  for (const [peerId, keeps] of [
    ['127.0.0.9', 'the connection the peer opened'],
    ['127.0.0.1', 'the connection it opened'],
  ] as const) {
    it(`collision over TCP with a peer whose BGP Identifier is ${peerId}: the speaker keeps ${keeps} and sends Cease 6/7 on the other`, async () => {
      const port = await freePort();
      const peer = new ScriptedPeer();
      servers.push(peer.server);
      await new Promise<void>((resolve) => peer.server.listen({ host: AWS, port }, resolve));
      const cgw = new BgpSpeaker({ name: 'cgw', localAs: 65000, peerAs: 64512, localAddress: CGW, peerAddress: AWS, port, connectRetrySeconds: 5 });
      running.push(cgw);
      cgw.start();
      // The speaker connected to us; we connect back, as a peer starting at the same moment would.
      const ours = await waitFor(() => peer.accepted, 'the speaker to connect');
      const theirs = peer.attach(connect({ host: CGW, port, localAddress: AWS }));
      await waitFor(() => ours.messages.length > 0 && theirs.messages.length > 0 || undefined, 'an OPEN on both connections');
      const open = buildOpen({ localAs: 64512, bgpIdentifier: ipNumber(peerId), holdTimeSeconds: 30 });
      ours.send(open);
      theirs.send(open);
      const peerWins = peerId === '127.0.0.9';
      const [kept, dropped] = peerWins ? [theirs, ours] : [ours, theirs];
      await waitFor(() => dropped.closed || undefined, 'the losing connection to close');
      expect(dropped.messages.find((m) => m.type === 'notification')).toEqual({ type: 'notification', errorCode: 6, errorSubcode: 7, data: Buffer.alloc(0) });
      await waitFor(() => kept.messages.some((m) => m.type === 'keepalive') || undefined, 'a KEEPALIVE on the kept connection');
      kept.send({ type: 'keepalive' });
      await waitFor(() => cgw.state === 'Established' || undefined, 'Established');
      expect(kept.closed).toBe(false);
    });
  }

  it('from a live peer: a malformed UPDATE withdraws its routes and keeps the session (RFC 7606); a broken header resets it with 1/1', async () => {
    const port = await freePort();
    const peer = new ScriptedPeer();
    servers.push(peer.server);
    await new Promise<void>((resolve) => peer.server.listen({ host: AWS, port }, resolve));
    const cgw = new BgpSpeaker({ name: 'cgw', localAs: 65000, peerAs: 64512, localAddress: CGW, peerAddress: AWS, port, listen: false });
    running.push(cgw);
    cgw.start();
    const conn = await waitFor(() => peer.accepted, 'the speaker to connect');
    conn.send(buildOpen({ localAs: 64512, bgpIdentifier: ipNumber(AWS), holdTimeSeconds: 30 }));
    conn.send({ type: 'keepalive' });
    await waitFor(() => cgw.state === 'Established' || undefined, 'Established');
    const attributes = { origin: 0 as const, asPath: [{ kind: 'sequence' as const, asns: [64512] }], nextHop: AWS };
    conn.send({ type: 'update', withdrawn: [], attributes, nlri: ['172.31.0.0/16', '172.30.0.0/16'] });
    await waitFor(() => cgw.learnedRoutes().length === 2 || undefined, 'two routes');
    // The same prefix again with an undefined ORIGIN (3): treat-as-withdraw.
    const bad = encodeMessage({ type: 'update', withdrawn: [], attributes, nlri: ['172.31.0.0/16'] }, { fourOctetAs: true });
    bad[bad.indexOf(Buffer.from([0x40, 0x01, 0x01, 0x00])) + 3] = 3;
    conn.raw(bad);
    await waitFor(() => cgw.learnedRoutes().length === 1 || undefined, 'the treat-as-withdraw');
    expect(cgw.state).toBe('Established');
    expect(cgw.status().treatAsWithdrawUpdates).toBe(1);
    // Our own AS in the path: ignored, not an error.
    conn.send({ type: 'update', withdrawn: [], attributes: { ...attributes, asPath: [{ kind: 'sequence', asns: [64512, 65000] }] }, nlri: ['10.10.0.0/16'] });
    await waitFor(() => cgw.status().routesIgnored === 1 || undefined, 'the looped route to be ignored');
    expect(cgw.learnedRoutes().map((r) => r.prefix)).toEqual(['172.30.0.0/16']);
    // A broken marker: NOTIFICATION 1/1, session down, routes gone.
    conn.raw(Buffer.alloc(19, 0));
    await waitFor(() => conn.closed || undefined, 'the speaker to close');
    expect(conn.messages.at(-1)).toEqual({ type: 'notification', errorCode: 1, errorSubcode: 1, data: Buffer.alloc(0) });
    expect(cgw.learnedRoutes()).toEqual([]);
    expect(cgw.status().lastDown).toMatchObject({ kind: 'notification-sent', errorCode: 1, errorSubcode: 1 });
  });

  it('refuses to advertise more than 100 prefixes towards a VGW; 1,000 towards a TGW is allowed', () => {
    const many = Array.from({ length: 101 }, (_, i) => `10.${i}.0.0/16`);
    const vgw = new BgpSpeaker({ localAs: 65000, peerAs: 64512, localAddress: CGW, peerAddress: AWS });
    expect(() => vgw.setAdvertised(many)).toThrow(expect.objectContaining({ code: 'BGP_TOO_MANY_PREFIXES', message: expect.stringContaining('at most 100') }));
    expect(vgw.status().prefixesAdvertised).toBe(0);
    const tgw = new BgpSpeaker({ localAs: 65000, peerAs: 64512, localAddress: CGW, peerAddress: AWS, maxAdvertisedPrefixes: 1000 });
    tgw.setAdvertised(many);
    expect(tgw.status().prefixesAdvertised).toBe(101);
    expect(() => tgw.setAdvertised(['10.0.0.1/16'])).toThrow(expect.objectContaining({ code: 'BGP_BAD_PREFIX' }));
  });
});

function ipNumber(text: string): number {
  return text.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

/** One TCP connection of the scripted peer: decoded messages in, encoded messages out. */
class ScriptedConnection {
  readonly messages: BgpMessage[] = [];
  closed = false;
  constructor(private readonly socket: Socket) {
    const framer = new BgpFramer();
    socket.on('data', (chunk: Buffer) => {
      for (const f of framer.push(chunk).frames) this.messages.push(decodeMessage(f, { fourOctetAs: true }));
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => {});
  }
  send(message: BgpMessage): void {
    this.socket.write(encodeMessage(message, { fourOctetAs: true }));
  }
  raw(bytes: Buffer): void {
    this.socket.write(bytes);
  }
}

/** A peer driven by the test, for cases two BgpSpeakers would rarely produce (collisions). */
class ScriptedPeer {
  accepted: ScriptedConnection | undefined;
  readonly server: Server = createServer((socket) => {
    this.accepted = this.attach(socket);
  });
  readonly connections: ScriptedConnection[] = [];
  attach(socket: Socket): ScriptedConnection {
    const connection = new ScriptedConnection(socket);
    this.connections.push(connection);
    return connection;
  }
}
