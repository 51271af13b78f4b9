/**
 * Two data planes in one Node process, each in its own network namespace,
 * joined by a veth pair — the setup the data-plane interop test and the
 * benchmark share (not a test file itself).
 *
 *   ns cgwd-dp-<tag>-a                                ns cgwd-dp-<tag>-b
 *   TUN dpt1 169.254.100.2/30                         TUN dpt1 169.254.100.1/30
 *   Dataplane A  10.99.0.1:4500 ── veth ── 10.99.0.2:4500  Dataplane B
 *
 * Nothing is created in the root namespace. Namespaces are deleted by
 * `destroy()`; processes started here are stopped by their PIDs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { ENCRYPTION, INTEGRITY, type EncryptionName, type IntegrityName } from '../../../src/crypto/transforms.js';
import { Dataplane, type TunnelOptions } from '../../../src/dataplane/index.js';
import type { ReferenceSa } from '../../../src/esp/reference.js';
import type { ChildSaInstall } from '../../../src/ike/runtime.js';
import { execInResult, ipIn, run, runCommand, type RunResult } from '../../../src/system/exec.js';

export const ADDR_A = '10.99.0.1';
export const ADDR_B = '10.99.0.2';
export const INSIDE_A = '169.254.100.2';
export const INSIDE_B = '169.254.100.1';

export interface Suite {
  encryption: EncryptionName;
  integrity?: IntegrityName;
}

export const ALL_SUITES: Suite[] = ENCRYPTION.flatMap((e) =>
  e.aead ? [{ encryption: e.name }] : INTEGRITY.map((i) => ({ encryption: e.name, integrity: i.name })),
);

export interface SaPair {
  a: ChildSaInstall;
  b: ChildSaInstall;
  /** What B sends with (encrypts packets A accepts). */
  bOut: ReferenceSa;
}

let nextSpi = 0x5000_0000 + (randomBytes(2).readUInt16BE(0) << 8);

/** Mirrored SAs with random keys: A's outbound is B's inbound and vice versa. */
export function saPair(id: number, suite: Suite, replayWindow = 1024): SaPair {
  const enc = ENCRYPTION.find((e) => e.name === suite.encryption)!;
  const integ = INTEGRITY.find((i) => i.name === suite.integrity);
  const keyAB = randomBytes(enc.keyBits / 8 + enc.saltBytes);
  const keyBA = randomBytes(enc.keyBits / 8 + enc.saltBytes);
  const intAB = integ ? randomBytes(integ.keyBytes) : undefined;
  const intBA = integ ? randomBytes(integ.keyBytes) : undefined;
  const spiAB = nextSpi++;
  const spiBA = nextSpi++;
  const common = {
    id,
    tunnel: 1 as const,
    encryption: suite.encryption,
    integrity: suite.integrity,
    replayWindow,
    softLifetimeSeconds: 0,
    hardLifetimeSeconds: 0,
    createdAt: 0,
    initiatedByUs: true,
  };
  return {
    a: {
      ...common,
      spiIn: spiBA,
      spiOut: spiAB,
      encKeyIn: keyBA,
      encKeyOut: keyAB,
      integKeyIn: intBA,
      integKeyOut: intAB,
      local: { address: ADDR_A, port: 4500 },
      remote: { address: ADDR_B, port: 4500 },
    },
    b: {
      ...common,
      spiIn: spiAB,
      spiOut: spiBA,
      encKeyIn: keyAB,
      encKeyOut: keyBA,
      integKeyIn: intAB,
      integKeyOut: intBA,
      local: { address: ADDR_B, port: 4500 },
      remote: { address: ADDR_A, port: 4500 },
    },
    bOut: { spi: spiBA, encryption: suite.encryption, integrity: suite.integrity, encKey: keyBA, integKey: intBA },
  };
}

export interface Twins {
  nsA: string;
  nsB: string;
  a: Dataplane;
  b: Dataplane;
  destroy(): Promise<void>;
}

export interface TwinOptions {
  tunnel?: Partial<Omit<TunnelOptions, 'tunnel' | 'address' | 'peer'>>;
  batch?: number;
  offload?: boolean;
  /** Packet threads of both data planes (default 1). */
  threads?: 1 | 2;
}

export async function createTwins(options: TwinOptions = {}): Promise<Twins> {
  const tag = randomBytes(3).toString('hex');
  const nsA = `cgwd-dp-${tag}-a`;
  const nsB = `cgwd-dp-${tag}-b`;
  const made: string[] = [];
  const planes: Dataplane[] = [];
  const destroy = async (): Promise<void> => {
    for (const p of planes) p.close();
    for (const ns of made) await runCommand('ip', ['netns', 'del', ns]);
  };
  try {
    for (const ns of [nsA, nsB]) {
      await run('ip', ['netns', 'add', ns]);
      made.push(ns);
      await ipIn(ns, 'link', 'set', 'lo', 'up');
    }
    await ipIn(nsA, 'link', 'add', 'veth-a', 'type', 'veth', 'peer', 'name', 'veth-b', 'netns', nsB);
    await ipIn(nsA, 'addr', 'add', `${ADDR_A}/24`, 'dev', 'veth-a');
    await ipIn(nsB, 'addr', 'add', `${ADDR_B}/24`, 'dev', 'veth-b');
    await ipIn(nsA, 'link', 'set', 'veth-a', 'up');
    await ipIn(nsB, 'link', 'set', 'veth-b', 'up');
    const limits = options.batch ? { batch: options.batch } : {};
    const offload = { tun: options.offload ?? true, udp: options.offload ?? true };
    const threads = options.threads ?? 1;
    const a = Dataplane.open({ netns: `/run/netns/${nsA}`, local: { address: ADDR_A, port: 4500 }, limits, offload, threads });
    planes.push(a);
    const b = Dataplane.open({ netns: `/run/netns/${nsB}`, local: { address: ADDR_B, port: 4500 }, limits, offload, threads });
    planes.push(b);
    const tunnel = { ifname: 'dpt1', mtu: 1400, ...options.tunnel };
    a.addTunnel({ tunnel: 1, address: `${INSIDE_A}/30`, peer: INSIDE_B, ...tunnel });
    b.addTunnel({ tunnel: 1, address: `${INSIDE_B}/30`, peer: INSIDE_A, ...tunnel });
    return { nsA, nsB, a, b, destroy };
  } catch (error) {
    await destroy();
    throw error;
  }
}

export interface PingResult {
  sent: number;
  received: number;
  output: string;
}

export async function ping(ns: string, target: string, args: string[] = []): Promise<PingResult> {
  const r: RunResult = await execInResult(ns, 'ping', ['-n', '-c', '3', '-i', '0.2', '-W', '2', ...args, target], 20_000);
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  return { sent: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0), output: r.stdout + r.stderr };
}

/** Sends raw UDP datagrams from a plain socket inside `ns` (a hostile or test peer). */
export async function sendRaw(ns: string, to: { address: string; port: number }, datagrams: Buffer[]): Promise<void> {
  const script = `
    const d = require('node:dgram').createSocket('udp4');
    const list = JSON.parse(process.argv[1]);
    let left = list.length;
    for (const h of list) d.send(Buffer.from(h, 'hex'), ${to.port}, '${to.address}', () => { if (--left === 0) d.close(); });`;
  const r = await execInResult(ns, process.execPath, ['-e', script, JSON.stringify(datagrams.map((d) => d.toString('hex')))]);
  if (r.code !== 0) throw new Error(`raw sender failed: ${r.stderr}`);
}

/** A plain UDP listener inside `ns`; resolves the first datagram it receives. */
export async function listenRaw(ns: string, address: string, port: number): Promise<{ first: Promise<Buffer>; stop: () => void }> {
  const script = `
    const d = require('node:dgram').createSocket('udp4');
    d.on('message', (m) => { process.stdout.write(m.toString('hex') + '\\n'); d.close(); });
    d.bind(${port}, '${address}', () => process.stdout.write('ready\\n'));`;
  const child: ChildProcess = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const iterator = lines[Symbol.asyncIterator]();
  const ready = await iterator.next();
  if (ready.value !== 'ready') throw new Error('raw listener did not start');
  const first = iterator.next().then((r) => Buffer.from(String(r.value), 'hex'));
  return {
    first,
    stop: () => {
      if (child.exitCode === null && child.pid !== undefined) child.kill('SIGTERM');
    },
  };
}

export interface TransferResult {
  sent: string;
  received: string;
}

/**
 * Sends `bytes` random bytes over TCP from `fromNs` to a listener on
 * `address:port` in `toNs`; both ends report "<length> <sha256>", so any
 * corruption on the way (segmentation, coalescing, encryption) shows.
 */
export async function tcpTransfer(fromNs: string, toNs: string, address: string, port: number, bytes: number): Promise<TransferResult> {
  const server = `
    const net = require('node:net'), crypto = require('node:crypto');
    const s = net.createServer((sock) => {
      const h = crypto.createHash('sha256'); let n = 0;
      sock.on('data', (d) => { h.update(d); n += d.length; });
      sock.on('end', () => { process.stdout.write(n + ' ' + h.digest('hex') + '\\n'); s.close(); });
    });
    s.listen(${port}, '${address}', () => process.stdout.write('ready\\n'));`;
  const client = `
    const net = require('node:net'), crypto = require('node:crypto');
    const total = ${bytes}; const h = crypto.createHash('sha256'); let sent = 0;
    const sock = net.connect(${port}, '${address}', () => {
      const pump = () => {
        while (sent < total) {
          const chunk = crypto.randomBytes(Math.min(1 + crypto.randomInt(65536), total - sent));
          h.update(chunk); sent += chunk.length;
          if (!sock.write(chunk)) return sock.once('drain', pump);
        }
        sock.end(() => process.stdout.write(sent + ' ' + h.digest('hex') + '\\n'));
      };
      pump();
    });`;
  const child = spawn('ip', ['netns', 'exec', toNs, process.execPath, '-e', server], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  try {
    if ((await lines.next()).value !== 'ready') throw new Error('TCP sink did not start');
    const r = await execInResult(fromNs, process.execPath, ['-e', client], 120_000);
    if (r.code !== 0) throw new Error(`TCP source failed: ${r.stderr}`);
    const received = String((await lines.next()).value);
    return { sent: r.stdout.trim(), received: received.trim() };
  } finally {
    if (child.exitCode === null && child.pid !== undefined) child.kill('SIGTERM');
  }
}
