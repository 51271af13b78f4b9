/**
 * Floods against `cgwd up` in the lab (issue 13, load and fault tests; figures are printed):
 *
 *   1. spoofed IKE_SA_INIT (MODP group 2, half with KE 0, half random) at 1,000/s "from" the AWS
 *      endpoint of tunnel 1, to UDP 500 and 4500, for 15 s, while pinging through both tunnels:
 *      no ping lost, both BGP sessions stay Established, `cgwd status` answers, and an
 *      AWS-initiated IKE rekey completes about as fast as without the flood; prints cgwd's CPU
 *      share during the flood
 *   2. non-ESP-marker junk on UDP 4500 from random source addresses (a raw socket in the
 *      internet router's namespace): an AWS-initiated IKE rekey still succeeds
 *
 * The senders run in lab namespaces only, stop by themselves, and are stopped by PID.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { proposalPolicyFor } from '../../src/ike/index.js';
import { buildIkeProposals } from '../../src/ike/v2/proposals/proposals.js';
import { encodeMessage } from '../../src/ike/v2/wire/message.js';
import { LAB_CONFIG_BGP } from '../../src/lab/command.js';
import { labDown, labUp, swanctl, type LabState } from '../../src/lab/lab.js';
import { NS, buildLabPlan } from '../../src/lab/plan.js';
import { ping } from '../../src/lab/reference.js';
import { execIn, spawnDaemonIn, stopPid, waitFor, sleep } from '../../src/system/exec.js';
import { recordLabPid } from '../../src/lab/lab.js';
import { CLI, CgwdProcess } from './helpers/cgwd-process.js';
import { awsVici } from './helpers/swanctl-sas.js';

const work = mkdtempSync(path.join(tmpdir(), 'cgwd-flood-'));
const controlSocket = path.join(work, 'cgwd.sock');
const config = loadConfig(LAB_CONFIG_BGP);
const plan = buildLabPlan(config, { nat: false });
const FLOOD_SECONDS = 15;
let state: LabState;
const running: CgwdProcess[] = [];

async function status(): Promise<DaemonStatus> {
  return JSON.parse(await execIn(NS.cgw, process.execPath, [CLI, 'status', '--json', '--control-socket', controlSocket])) as DaemonStatus;
}

function currentSpi(s: DaemonStatus, tunnel: number): string | undefined {
  return s.tunnels.find((t) => t.tunnel === tunnel)?.ike?.ikeSas.find((sa) => sa.current && sa.state === 'established')?.spiI;
}

/** Seconds of CPU (user + system) the process has used, from /proc/PID/stat (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

/** An AWS-initiated IKE SA rekey of tunnel 1; resolves with the milliseconds until cgwd's status shows the new SA. */
async function awsRekeyMs(): Promise<number> {
  const before = currentSpi(await status(), 1);
  const started = Date.now();
  await swanctl(awsVici(state.stateDir, 1), '--rekey', '--ike', 'aws');
  await waitFor('the AWS-initiated IKE rekey', async () => {
    const now = currentSpi(await status(), 1);
    return now !== undefined && now !== before ? true : undefined;
  }, 30_000, 50);
  return Date.now() - started;
}

/** A spoofed IKE_SA_INIT (group 2) with KE `ke`: encoded once here, SPIs varied by the sender. */
function spoofedInit(ke: Buffer): string {
  const policy = proposalPolicyFor(config.tunnels[0] ?? (undefined as never));
  return encodeMessage({
    header: { spiI: Buffer.alloc(8, 1), spiR: Buffer.alloc(8), exchangeType: 34, flags: { initiator: true, response: false, version: false }, messageId: 0 },
    payloads: [
      { kind: 'SA', proposals: buildIkeProposals(policy.ike, Buffer.alloc(0)) },
      { kind: 'KE', group: 2, data: ke },
      { kind: 'Nonce', nonce: Buffer.alloc(32, 0x5a) },
    ],
  }).toString('hex');
}

/** Node in an AWS endpoint's namespace: `rate` datagrams/s from `from` to cgwd on 500 and 4500, for `seconds`. */
const SENDER = `
const dgram = require('node:dgram');
const [from, to, rate, seconds, ...hex] = process.argv.slice(1);
const messages = hex.map((h) => Buffer.from(h, 'hex'));
const marker = Buffer.alloc(4);
const s = dgram.createSocket('udp4');
s.bind(0, from, () => {
  let n = 0;
  const perTick = Number(rate) / 100;
  const timer = setInterval(() => {
    for (let i = 0; i < perTick; i++, n++) {
      const m = Buffer.from(messages[n % messages.length]);
      m.writeUInt32BE(n, 4);
      m.writeUInt32BE(Math.floor(Math.random() * 2 ** 32), 0);
      if (n % 2) s.send(Buffer.concat([marker, m]), 4500, to);
      else s.send(m, 500, to);
    }
  }, 10);
  setTimeout(() => { clearInterval(timer); s.close(); console.log('sent ' + n); }, Number(seconds) * 1000);
});
`;

/** Python (raw socket, IP_HDRINCL) in the internet router: UDP to cgwd:4500 from random sources, no non-ESP marker. */
const JUNK = `
import random, socket, struct, sys, time
dst, rate, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
def csum(b):
    if len(b) % 2: b += b'\\0'
    t = sum(struct.unpack('!%dH' % (len(b) // 2), b)); t = (t >> 16) + (t & 0xffff); t += t >> 16
    return ~t & 0xffff
end = time.time() + seconds; n = 0
while time.time() < end:
    for _ in range(rate // 100):
        src = '100.%d.%d.%d' % (random.randint(64, 127), random.randint(0, 255), random.randint(1, 254))
        body = bytes(4) + random.randbytes(60)   # the non-ESP marker, then junk: "IKE" from nobody we know
        udp = struct.pack('!HHHH', random.randint(1024, 65535), 4500, 8 + len(body), 0) + body
        ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), n & 0xffff, 0, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
        ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
        s.sendto(ip + udp, (dst, 0)); n += 1
    time.sleep(0.01)
print('sent', n)
`;

beforeAll(async () => {
  state = await labUp({ config, configPath: LAB_CONFIG_BGP, options: { nat: false } });
});

afterEach(async () => {
  for (const p of running.splice(0)) await p.stop();
});

afterAll(async () => {
  await labDown();
  rmSync(work, { recursive: true, force: true });
});

/** cgwd's /metrics (default listener 127.0.0.1:9580 in its namespace). */
async function metrics(): Promise<string> {
  return execIn(NS.cgw, process.execPath, ['-e', "fetch('http://127.0.0.1:9580/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))"]);
}

function metric(text: string, name: string, label: string): number {
  const line = text.split('\n').find((l) => l.startsWith(name) && l.includes(label));
  return Number(line?.split(' ').at(-1) ?? 0);
}

/** IKE_SA_INIT refusals cgwd reported in its log: the first one and the periodic summaries. */
function refusalsLogged(p: CgwdProcess): number {
  return p.events.filter((e) => typeof e.msg === 'string' && e.msg.startsWith('IKE_SA_INIT refus')).reduce((sum, e) => sum + (typeof e.refused === 'number' ? e.refused : 1), 0);
}

async function established(): Promise<CgwdProcess> {
  const p = new CgwdProcess(NS.cgw, ['up', '--config', LAB_CONFIG_BGP, '--advertise', '192.0.2.0/24', '--keepalive-interval', '1', '--control-socket', controlSocket], state.stateDir);
  running.push(p);
  await waitFor('both tunnels and BGP sessions up', async () => {
    if (p.exitCode !== null) throw new Error(`cgwd exited: ${p.stderr.slice(-1000)}`);
    const s = await status().catch(() => undefined);
    return s?.tunnels.every((t) => t.bgp?.state === 'Established' && currentSpi(s, t.tunnel) !== undefined) ? true : undefined;
  }, 90_000, 500);
  return p;
}

describe('floods against cgwd up', () => {
  it('spoofed IKE_SA_INIT at 1,000/s from the AWS address: no ping lost, BGP up, status answers, AWS rekey on time', async () => {
    const p = await established();
    const baselineMs = await awsRekeyMs();
    await sleep(2_000);
    const t1 = plan.tunnels[0];
    const t2 = plan.tunnels[1];
    if (!t1 || !t2) throw new Error('lab plan without two tunnels');
    const half = Buffer.alloc(128);
    const random = Buffer.from(Array.from({ length: 128 }, (_, i) => (i * 37 + 11) & 0xff));
    const sender = spawnDaemonIn(t1.namespace, [process.execPath, '-e', SENDER, t1.awsOutside, plan.customerOutside, '1000', String(FLOOD_SECONDS), spoofedInit(half), spoofedInit(random)], path.join(state.stateDir, 'flood-sender.log'));
    recordLabPid(state.stateDir, 'flood-sender', sender);
    const cpuBefore = cpuSeconds(p.pid);
    const wallBefore = Date.now();
    try {
      const pings = Promise.all([
        ping(NS.cgw, t1.awsInside, FLOOD_SECONDS * 20, 0.05),
        ping(NS.cgw, t2.awsInside, FLOOD_SECONDS * 20, 0.05),
      ]);
      await sleep(3_000);
      const statusStarted = Date.now();
      const during = await status();
      const statusMs = Date.now() - statusStarted;
      const floodRekeyMs = await awsRekeyMs();
      const [a, b] = await pings;
      const cpu = cpuSeconds(p.pid) - cpuBefore;
      const wall = (Date.now() - wallBefore) / 1000;
      const after = await status();
      await sleep(10_500); // the last summary period
      const refused = refusalsLogged(p);
      const refusalLines = p.events.filter((e) => typeof e.msg === 'string' && e.msg.startsWith('IKE_SA_INIT refus')).length;
      console.log(
        `IKE_SA_INIT flood (1,000/s, ${FLOOD_SECONDS} s): cgwd CPU ${((cpu / wall) * 100).toFixed(1)} % of one core over ${wall.toFixed(1)} s; ` +
          `status answered in ${statusMs} ms; AWS-initiated IKE rekey ${floodRekeyMs} ms (without the flood ${baselineMs} ms); ` +
          `pings tunnel 1 ${a.received}/${a.sent}, tunnel 2 ${b.received}/${b.sent}; refusals logged ${refused} in ${refusalLines} lines; ` +
          `drops ${JSON.stringify(after.tunnels[0]?.ike?.counters.drops)}`,
      );
      expect(refused).toBeGreaterThan(FLOOD_SECONDS * 1000 * 0.5); // the flood did reach cgwd
      expect(refusalLines).toBeLessThanOrEqual(FLOOD_SECONDS / 10 + 3);
      expect(during.tunnels.every((t) => t.bgp?.state === 'Established')).toBe(true);
      expect(after.tunnels.every((t) => t.bgp?.state === 'Established')).toBe(true);
      expect(a.received).toBe(a.sent);
      expect(b.received).toBe(b.sent);
      expect(floodRekeyMs).toBeLessThan(baselineMs + 1_500);
    } finally {
      await stopPid(sender);
    }
  });

  it('junk on UDP 4500 from random sources: an AWS-initiated rekey still succeeds', async () => {
    await established();
    const junk = spawnDaemonIn(NS.inet, ['python3', '-c', JUNK, plan.customerOutside, '2000', String(FLOOD_SECONDS)], path.join(state.stateDir, 'flood-junk.log'));
    recordLabPid(state.stateDir, 'flood-junk', junk);
    try {
      await sleep(3_000);
      const ms = await awsRekeyMs();
      const s = await status();
      const filtered = metric(await metrics(), 'cgwd_dataplane_drops_total', 'reason="ike_filtered"');
      console.log(`junk flood (2,000/s from random sources): AWS-initiated IKE rekey ${ms} ms; dropped in C (ike_filtered) ${filtered}`);
      expect(filtered).toBeGreaterThan(1_000);
      expect(s.tunnels.every((t) => t.bgp?.state === 'Established')).toBe(true);
      expect(ms).toBeLessThan(5_000);
    } finally {
      await stopPid(junk);
    }
  });
});
