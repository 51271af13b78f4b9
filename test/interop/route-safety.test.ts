/**
 * Route safety in the lab (root): BIRD as AWS advertises 0.0.0.0/0, a /32 of each AWS outside
 * address, 127.0.0.0/8 and 1,000 prefixes besides the VPC, and the customer namespace has its own
 * default route (proto dhcp, metric 100). Both tunnels must stay up, the host's default must
 * survive `up` and stop, and 0.0.0.0/0 goes in only when asked for (then with the AWS endpoints
 * pinned to the underlay).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { LAB_CONFIG_BGP } from '../../src/lab/command.js';
import { labDown, labUp, type LabState } from '../../src/lab/lab.js';
import { NS } from '../../src/lab/plan.js';
import { ping } from '../../src/lab/reference.js';
import { execIn, run, sleep, waitFor } from '../../src/system/exec.js';
import { CLI, CgwdProcess } from './helpers/cgwd-process.js';

const config = loadConfig(LAB_CONFIG_BGP);
const AWS = config.tunnels.map((t) => t.aws.outsideAddress);
const MANY = Array.from({ length: 1000 }, (_, i) => `100.${64 + (i >> 8)}.${i & 255}.0/24`);
const HOSTILE = ['0.0.0.0/0', ...AWS.map((a) => `${a}/32`)];
/** BIRD itself never exports 127/8 (so the kernel-level check of it is the unit test's); 169.254/16 outside the /30s it does. */
const MARTIANS = ['127.0.0.0/8', '169.254.99.0/24'];
const work = mkdtempSync(path.join(tmpdir(), 'cgwd-rsafety-'));
const controlSocket = path.join(work, 'cgwd.sock');
let state: LabState;
let hostDefault = '';
const running: CgwdProcess[] = [];

const routes = async (...selector: string[]): Promise<string> => (await run('ip', ['-n', NS.cgw, 'route', 'show', ...selector])).trim();
const status = async (): Promise<DaemonStatus> => JSON.parse(await execIn(NS.cgw, process.execPath, [CLI, 'status', '--json', '--control-socket', controlSocket])) as DaemonStatus;
const underlayDev = async (address: string): Promise<string | undefined> => /dev (\S+)/.exec(await run('ip', ['-n', NS.cgw, 'route', 'get', address]))?.[1];

function up(extra: string[] = []): CgwdProcess {
  const p = new CgwdProcess(NS.cgw, ['up', '--config', LAB_CONFIG_BGP, '--advertise', '192.0.2.0/24', '--control-socket', controlSocket, ...extra], state.stateDir);
  running.push(p);
  return p;
}

async function allLearned(p: CgwdProcess): Promise<DaemonStatus> {
  return waitFor(
    'both sessions Established, the VPC and the 1,000 prefixes installed',
    async () => {
      if (p.exitCode !== null) throw new Error(`cgwd exited: ${p.stderr.slice(-1000)}`);
      const s = await status();
      const installed = s.tunnels.reduce((n, t) => n + t.routes.length, 0);
      return s.tunnels.every((t) => t.bgp?.state === 'Established' && t.bgp.prefixesReceived >= 1 + MANY.length + HOSTILE.length + 1) && installed >= 1 + MANY.length ? s : undefined;
    },
    90_000,
    500,
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}; cgwd exit ${p.exitCode}; last events ${JSON.stringify(p.events.slice(-5))}; stderr ${p.stderr.slice(-1500)}`);
  });
}

/** Both tunnels up and answering keepalives for `seconds`, sampled every second. */
async function bothTunnelsStayUp(seconds: number): Promise<void> {
  for (let i = 0; i < seconds; i++) {
    const s = await status();
    expect(s.tunnels.map((t) => [t.tunnel, t.keepalive.healthy, t.bgp?.state])).toEqual([
      [1, true, 'Established'],
      [2, true, 'Established'],
    ]);
    await sleep(1_000);
  }
}

beforeAll(async () => {
  state = await labUp({ config, configPath: LAB_CONFIG_BGP, options: { nat: false, awsExtraPrefixes: [...HOSTILE, ...MARTIANS, ...MANY] } });
  // The customer box's own default route, as DHCP would install it.
  const via = /via (\S+)/.exec(await routes('default'))?.[1] ?? '';
  await run('ip', ['-n', NS.cgw, 'route', 'del', 'default']);
  await run('ip', ['-n', NS.cgw, 'route', 'add', 'default', 'via', via, 'proto', 'dhcp', 'metric', '100']);
  hostDefault = await routes('default');
}, 180_000);

afterEach(async () => {
  for (const p of running.splice(0)) await p.stop();
});

afterAll(async () => {
  await labDown();
  rmSync(work, { recursive: true, force: true });
});

describe('route safety against a hostile AWS router', () => {
  it('refuses 0/0, the endpoint /32s and martians (shown with reasons), installs the 1,000 prefixes, both tunnels stay up, the host default survives', async () => {
    const p = up();
    const s = await allLearned(p);
    expect(s.routeSafety.refused.map((r) => [r.prefix, r.reason])).toEqual(
      expect.arrayContaining([
        ['0.0.0.0/0', 'default-route'],
        [`${AWS[0]}/32`, 'aws-endpoint'],
        [`${AWS[1]}/32`, 'aws-endpoint'],
        ['169.254.99.0/24', 'martian'],
      ]),
    );
    expect(s.routeSafety.counts).toMatchObject({ 'default-route': 1, 'aws-endpoint': 2, martian: 1 });
    for (const m of MARTIANS) expect(await routes('exact', m)).toBe('');
    expect(await routes('default')).toBe(hostDefault);
    for (const a of AWS) expect(await underlayDev(a)).toBe('cgw-inet');
    expect((await routes('proto', '199')).split('\n').length).toBe(1 + MANY.length);
    await bothTunnelsStayUp(10);
    const there = await ping(NS.onprem, '198.19.0.10', 10, 0.05);
    expect(there.received).toBe(10);
    const metrics = await execIn(NS.cgw, process.execPath, ['-e', "fetch('http://127.0.0.1:9580/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))"]);
    expect(metrics).toMatch(/cgwd_routes_refused\{vpn_id="[^"]+",reason="aws-endpoint"\} 2/);
    expect(metrics).toMatch(/cgwd_routes_refused\{vpn_id="[^"]+",reason="default-route"\} 1/);
    expect(await p.stop()).toBe(0);
    expect(await routes('default')).toBe(hostDefault);
    expect(await routes('proto', '199')).toBe('');
  }, 240_000);

  it('with --accept-default-route: 0/0 into the tunnel at its own metric, the endpoints pinned to the underlay, the host default untouched, all removed at stop', async () => {
    const p = up(['--accept-default-route']);
    await allLearned(p);
    const defaults = await routes('default');
    expect(defaults).toContain(hostDefault);
    expect(defaults).toMatch(/default via \S+ dev cgw-t1 proto 199 metric 50/);
    for (const a of AWS) {
      expect(await routes('exact', `${a}/32`)).toMatch(/dev cgw-inet proto 199 metric 1/);
      expect(await underlayDev(a)).toBe('cgw-inet');
    }
    await bothTunnelsStayUp(10);
    expect(await p.stop()).toBe(0);
    expect(await routes('default')).toBe(hostDefault);
    expect(await routes('proto', '199')).toBe('');
  }, 240_000);
});
